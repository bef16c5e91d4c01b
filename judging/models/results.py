"""Results: an administrator's decision on a tie, and the published snapshot."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.models.accounts import User
from judging.models.awards import AGGREGATION_METHODS, Award
from judging.models.base import Base, one_of, utcnow


class CastingDecision(Base):
    """An administrator's order for nominees the ranking rules left tied, with the reason."""

    __tablename__ = "casting_decision"
    __table_args__ = (
        CheckConstraint("length(reason) > 0", name="reason_given"),
        CheckConstraint(one_of("method", AGGREGATION_METHODS), name="method"),
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
