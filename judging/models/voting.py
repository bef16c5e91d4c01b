"""The vote: voters' credentials and their ballots."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from judging.models.base import Base, utcnow


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
