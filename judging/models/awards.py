"""An award, its nominees and its weighted criteria."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from judging.models.base import Base, one_of, utcnow

AWARD_STATUSES = ("draft", "scoring", "closed", "voting", "voting_closed", "published")
AGGREGATION_METHODS = ("mean", "median", "trimmed_mean", "zscore", "borda")

# Every criterion's scale lies within these bounds; a score's CHECK relies on it.
SCALE_FLOOR, SCALE_CEILING = 0, 100


class Award(Base):
    __tablename__ = "award"
    __table_args__ = (
        CheckConstraint(one_of("status", AWARD_STATUSES), name="status"),
        CheckConstraint(
            one_of("aggregation_method", AGGREGATION_METHODS), name="aggregation_method"
        ),
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
