"""The jury's work: who is on it, who judges which nominee, evaluations and their scores, and
conflicts of interest."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.models.accounts import User
from judging.models.awards import SCALE_CEILING, SCALE_FLOOR, Award, Criterion, Nominee
from judging.models.base import Base, utcnow


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
