"""People and signing in: users, their one-time links and recovery codes; the application's
settings."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.models.base import Base, one_of, utcnow

ROLES = ("admin", "juror")
TOKEN_PURPOSES = ("invitation", "reset")


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        # Emails are stored lower-cased, so this is a case-insensitive uniqueness.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    # None until the invitation is accepted: nobody can log in without setting a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of every session's identity: bumping it ends every session of this user at once
    # (logout, deactivation, password change), cookies copied elsewhere included.
    session_version: Mapped[int] = mapped_column(default=1)
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    # The 30-second step of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    # Set when an administrator anonymised the account: its identity is gone for good.
    anonymised_at: Mapped[datetime | None]

    # Flask-Login's user protocol, by duck typing: this module imports nothing from Flask.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """The session's user id: a new session_version makes every older session unknown."""
        return f"{self.id}:{self.session_version}"

    @property
    def status(self) -> str:
        """invited, active or deactivated, as the people page shows it."""
        if not self.active:
            return "deactivated"
        return "active" if self.password_hash else "invited"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None


class AccountToken(Base):
    """A single-use link sent by email: an invitation or a password reset.

    Only a SHA-256 hash of the random token is stored, so a copy of the database cannot be
    turned into working links.
    """

    __tablename__ = "account_token"
    __table_args__ = (
        CheckConstraint(one_of("purpose", TOKEN_PURPOSES), name="purpose"),
        CheckConstraint("created_at < expires_at", name="expiry_after_creation"),
        Index("ix_account_token_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    """A one-time code that stands in for a lost two-factor device; stored hashed."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class Setting(Base):
    """An application-wide setting an administrator can change, such as requiring 2FA."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
