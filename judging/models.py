"""Tables and their constraints. Plain SQLAlchemy: nothing here knows of Flask."""

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints, so that Alembic revisions can refer to them on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

AWARD_STATUSES = ("draft", "scoring", "closed", "voting", "voting_closed", "published")
AGGREGATION_METHODS = ("mean", "median", "trimmed_mean", "zscore", "borda")
ROLES = ("admin", "juror")
TOKEN_PURPOSES = ("invitation", "reset")

# Every criterion's scale lies within these bounds; a score's CHECK relies on it.
SCALE_FLOOR, SCALE_CEILING = 0, 100


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Award(Base):
    __tablename__ = "award"
    __table_args__ = (
        CheckConstraint(_in("status", AWARD_STATUSES), name="status"),
        CheckConstraint(_in("aggregation_method", AGGREGATION_METHODS), name="aggregation_method"),
        CheckConstraint(
            "jury_weight >= 0 AND vote_weight >= 0 AND jury_weight + vote_weight = 100",
            name="weights",
        ),
        CheckConstraint("quorum >= 1", name="quorum_positive"),
        CheckConstraint("assignment_mode IN ('all', 'assigned')", name="assignment_mode"),
        CheckConstraint(
            "scoring_closes_at IS NULL OR scoring_opens_at IS NULL"
            " OR scoring_opens_at < scoring_closes_at",
            name="scoring_window",
        ),
        CheckConstraint(
            "voting_closes_at IS NULL OR voting_opens_at IS NULL"
            " OR voting_opens_at < voting_closes_at",
            name="voting_window",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    scoring_opens_at: Mapped[datetime | None]
    scoring_closes_at: Mapped[datetime | None]
    voting_opens_at: Mapped[datetime | None]
    voting_closes_at: Mapped[datetime | None]
    aggregation_method: Mapped[str] = mapped_column(String(20), default="mean")
    # Evaluations a nominee needs before its result is trusted (below it: flagged).
    quorum: Mapped[int] = mapped_column(default=3)
    # Rules an administrator sets per award.
    require_comment: Mapped[bool] = mapped_column(default=False)  # an overall comment to submit
    blind: Mapped[bool] = mapped_column(default=True)  # jurors never see each other's work
    # "all": every juror scores every nominee; "assigned": only their Assignment rows.
    assignment_mode: Mapped[str] = mapped_column(String(10), default="all")
    archived_at: Mapped[datetime | None]
    # Listed on / and in the API, its pages reachable: only once an administrator makes it so
    # (or opens scoring), or its seed file says so. Until then only administrators see it.
    public: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The vote: among the top N of the jury's ranking (None: every nominee in the running).
    vote_top_n: Mapped[int | None]
    # A live tally on the ceremony screen while voting is open; hidden from everyone otherwise.
    live_tally: Mapped[bool] = mapped_column(default=False)
    # An online public vote (verified email addresses) beside or instead of printed codes.
    online_vote: Mapped[bool] = mapped_column(default=False)
    jury_weight: Mapped[int] = mapped_column(default=100)
    vote_weight: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    nominees: Mapped[list["Nominee"]] = relationship(
        back_populates="award", order_by="Nominee.position", passive_deletes=True
    )
    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="award", order_by="Criterion.position", passive_deletes=True
    )


class Nominee(Base):
    __tablename__ = "nominee"
    __table_args__ = (
        UniqueConstraint("award_id", "slug"),
        # The target of evaluation's composite key: an evaluation's nominee is of its award.
        UniqueConstraint("id", "award_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    organisation: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    # A withdrawn nominee leaves every aggregate and every juror's list, but is never deleted
    # once evaluated.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")

    award: Mapped[Award] = relationship(back_populates="nominees")


class Criterion(Base):
    __tablename__ = "criterion"
    __table_args__ = (
        UniqueConstraint("award_id", "slug"),
        CheckConstraint("weight > 0", name="weight_positive"),
        CheckConstraint(
            f"scale_min >= {SCALE_FLOOR} AND scale_max <= {SCALE_CEILING}"
            " AND scale_min < scale_max",
            name="scale",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    guidance: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int]
    scale_min: Mapped[int]
    scale_max: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    comment_required: Mapped[bool] = mapped_column(default=False)

    award: Mapped[Award] = relationship(back_populates="criteria")


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
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
        CheckConstraint(_in("purpose", TOKEN_PURPOSES), name="purpose"),
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


class JuryMember(Base):
    __tablename__ = "jury_member"
    __table_args__ = (UniqueConstraint("award_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    award: Mapped[Award] = relationship()
    user: Mapped[User] = relationship()


class Assignment(Base):
    """Which juror evaluates which nominee, when an award does not give every juror all."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("nominee_id", "juror_id"),
        Index("ix_assignment_juror_id", "juror_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nominee_id: Mapped[int] = mapped_column(ForeignKey("nominee.id", ondelete="CASCADE"))
    juror_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Evaluation(Base):
    """One juror's judgement of one nominee: a score per criterion and a comment."""

    __tablename__ = "evaluation"
    __table_args__ = (
        UniqueConstraint("award_id", "nominee_id", "juror_id"),
        # Evaluated work is never deleted behind the jury's back: RESTRICT, not CASCADE.
        ForeignKeyConstraint(
            ["nominee_id", "award_id"],
            ["nominee.id", "nominee.award_id"],
            ondelete="RESTRICT",
            name="fk_evaluation_nominee_id_award_id_nominee",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_evaluation_nominee_id", "nominee_id"),
        Index("ix_evaluation_juror_id", "juror_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="RESTRICT"))
    nominee_id: Mapped[int]
    juror_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    nominee: Mapped[Nominee] = relationship()
    juror: Mapped[User] = relationship()
    scores: Mapped[list["Score"]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", passive_deletes=True
    )


class Score(Base):
    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "criterion_id"),
        # The criterion's own scale is checked by the service; the database keeps the outer bound.
        CheckConstraint(f"value BETWEEN {SCALE_FLOOR} AND {SCALE_CEILING}", name="value_range"),
        Index("ix_score_criterion_id", "criterion_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id", ondelete="RESTRICT"))
    # None while a juror has commented on the criterion but not scored it yet (a draft only).
    value: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class Recusal(Base):
    """A juror's declared conflict of interest with a nominee: they do not judge it."""

    __tablename__ = "recusal"
    __table_args__ = (
        UniqueConstraint("nominee_id", "juror_id"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        CheckConstraint(
            "(lifted_at IS NULL AND lifted_by_id IS NULL)"
            " OR (lifted_at IS NOT NULL AND lifted_by_id IS NOT NULL)",
            name="lifted_together",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nominee_id: Mapped[int] = mapped_column(ForeignKey("nominee.id", ondelete="CASCADE"))
    juror_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_at: Mapped[datetime | None]
    lifted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    lifted_reason: Mapped[str] = mapped_column(Text, default="")

    nominee: Mapped[Nominee] = relationship()
    juror: Mapped[User] = relationship(foreign_keys=[juror_id])


class CastingDecision(Base):
    """An administrator's order for nominees the ranking rules left tied, with the reason."""

    __tablename__ = "casting_decision"
    __table_args__ = (
        CheckConstraint("length(reason) > 0", name="reason_given"),
        CheckConstraint(_in("method", AGGREGATION_METHODS), name="method"),
        Index("ix_casting_decision_award_id", "award_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"))
    # The method whose tie it breaks, and the nominees' slugs in the decided order (JSON list).
    method: Mapped[str] = mapped_column(String(20))
    nominee_order: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    decided_by: Mapped[User] = relationship()


class VotingCredential(Base):
    """What lets one voter cast one ballot: a printed access code, or a verified email address.

    Only a keyed hash (HMAC-SHA256 with the app's secret) is stored: a copy of the database
    cannot be turned into working codes, nor into the voters' addresses.
    """

    __tablename__ = "voting_credential"
    __table_args__ = (
        UniqueConstraint("award_id", "secret_hash"),
        CheckConstraint("kind IN ('code', 'email')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(10))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ballot(Base):
    """One vote for one nominee; voided ballots are kept, with the reason, never deleted."""

    __tablename__ = "ballot"
    __table_args__ = (
        # One ballot per credential: the database itself refuses a second.
        UniqueConstraint("credential_id"),
        UniqueConstraint("receipt"),
        ForeignKeyConstraint(
            ["nominee_id", "award_id"],
            ["nominee.id", "nominee.award_id"],
            ondelete="RESTRICT",
            name="fk_ballot_nominee_id_award_id_nominee",
        ),
        CheckConstraint(
            "(voided_at IS NULL AND voided_by_id IS NULL)"
            " OR (voided_at IS NOT NULL AND voided_by_id IS NOT NULL)",
            name="voided_together",
        ),
        Index("ix_ballot_award_id", "award_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="RESTRICT"))
    nominee_id: Mapped[int]
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("voting_credential.id", ondelete="RESTRICT")
    )
    receipt: Mapped[str] = mapped_column(String(16))
    cast_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Kept for review, and only as keyed hashes.
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    user_agent_hash: Mapped[str] = mapped_column(String(64), default="")
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    voided_reason: Mapped[str] = mapped_column(Text, default="")


class ResultSnapshot(Base):
    """Published results, frozen: canonical JSON and its SHA-256 digest.

    Recomputing the ranking from the stored scores must reproduce the digest exactly
    (`flask results SLUG --verify`).
    """

    __tablename__ = "result_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="RESTRICT"), unique=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    method: Mapped[str] = mapped_column(String(20))
    document: Mapped[str] = mapped_column(Text)  # canonical JSON
    digest: Mapped[str] = mapped_column(String(64))
    # Publishing despite blockers needs a written reason, kept here and in the audit log.
    override_reason: Mapped[str] = mapped_column(Text, default="")

    award: Mapped[Award] = relationship()


class AuditEvent(Base):
    """One entry of the append-only ledger; each holds the hash of the one before it."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The actor's id and a readable label: the label survives a later anonymisation intact.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    # Unique: two events chained to the same predecessor would be a fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "hmac-sha256": hash is an HMAC under the audit key. NULL: a plain SHA-256 link, written
    # before the chain was keyed (or by that release during the upgrade); see services/audit.py.
    scheme: Mapped[str | None] = mapped_column(String(16))
    # A keyed event's position in the chain (1, 2...), under its HMAC: the checkpoint's count.
    seq: Mapped[int | None] = mapped_column()
