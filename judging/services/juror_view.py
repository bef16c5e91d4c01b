"""What a juror reads of their own work: their awards, their nominees in their own order with
each one's status, their evaluation of a nominee, its history, and (where the award allows) the
other jurors' totals.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select

from judging.extensions import db
from judging.models import (
    Assignment,
    AuditEvent,
    Award,
    Evaluation,
    JuryMember,
    Nominee,
    Recusal,
    Score,
    User,
)
from judging.scoring import ranking
from judging.services import queries
from judging.services.evaluations import EvaluationState, evaluation_of, require_juror, state_of


def my_evaluation(award: Award, nominee: Nominee, *, juror: User) -> EvaluationState:
    """The juror's own evaluation of the nominee (empty, version 0, if never saved)."""
    require_juror(award, juror)
    return state_of(evaluation_of(award, nominee, juror))


@dataclass
class NomineeRow:
    nominee: Nominee
    status: str  # "not started", "draft", "submitted", "conflict"
    updated_at: datetime | None = None


@dataclass
class Progress:
    submitted: int
    scoreable: int
    rows: list[NomineeRow]

    @property
    def percent(self) -> int:
        return round(100 * self.submitted / self.scoreable) if self.scoreable else 100


def shuffled_for(juror: User, nominees: list[Nominee]) -> list[Nominee]:
    """The nominees in an order of this juror's own: stable for them, different for others,
    so that no nominee is always read first (or last, by a tired jury)."""

    def key(nominee: Nominee) -> str:
        return hashlib.sha256(f"{juror.id}:{nominee.award_id}:{nominee.id}".encode()).hexdigest()

    return sorted(nominees, key=key)


@dataclass
class NomineeWork:
    """One nominee of the award as this juror stands with it."""

    nominee: Nominee
    evaluation: Evaluation | None  # theirs, if they ever saved one
    recusal: Recusal | None  # their conflict of interest in force, if any
    assigned: bool  # theirs to judge: every nominee, unless the award assigns them


@dataclass
class Work:
    """A juror's work in one award: every nominee (withdrawn ones too), each with the juror's
    evaluation, conflict of interest and assignment."""

    juror: User
    nominees: list[NomineeWork]

    def of(self, nominee: Nominee) -> NomineeWork:
        return next(w for w in self.nominees if w.nominee.id == nominee.id)

    def progress(self) -> Progress:
        """The juror's nominees (in the running, theirs to judge) in their own order, each with
        its status."""
        mine = {
            w.nominee.id: w for w in self.nominees if w.assigned and w.nominee.withdrawn_at is None
        }
        rows = []
        for nominee in shuffled_for(self.juror, [w.nominee for w in mine.values()]):
            work = mine[nominee.id]
            evaluation = work.evaluation
            if work.recusal is not None:
                status = "conflict"
            elif evaluation is None:
                status = "not started"
            else:
                status = "submitted" if evaluation.submitted_at else "draft"
            rows.append(NomineeRow(nominee, status, evaluation.updated_at if evaluation else None))
        scoreable = [r for r in rows if r.status != "conflict"]
        return Progress(
            submitted=sum(r.status == "submitted" for r in scoreable),
            scoreable=len(scoreable),
            rows=rows,
        )


def work(award: Award, *, juror: User) -> Work:
    """The juror's work in the award, in one query (the nominees, with the juror's evaluations,
    conflicts of interest and assignments joined to them)."""
    columns: list = [Nominee, Evaluation, Recusal]
    query = (
        select(*columns)
        .outerjoin(
            Evaluation,
            and_(
                Evaluation.award_id == award.id,
                Evaluation.nominee_id == Nominee.id,
                Evaluation.juror_id == juror.id,
            ),
        )
        .outerjoin(
            Recusal,
            and_(
                Recusal.nominee_id == Nominee.id,
                Recusal.juror_id == juror.id,
                queries.recusal_is_active(),
            ),
        )
        .where(Nominee.award_id == award.id)
        .order_by(Nominee.position)
    )
    assigned_mode = award.assignment_mode == "assigned"
    if assigned_mode:
        query = query.add_columns(Assignment.id).outerjoin(
            Assignment,
            and_(Assignment.nominee_id == Nominee.id, Assignment.juror_id == juror.id),
        )
    return Work(
        juror,
        [
            NomineeWork(row[0], row[1], row[2], row[3] is not None if assigned_mode else True)
            for row in db.session.execute(query)
        ],
    )


def progress(award: Award, *, juror: User) -> Progress:
    """The juror's nominees in their own order, each with its status (one query)."""
    return work(award, juror=juror).progress()


def jurors_awards(juror: User) -> list[Award]:
    return list(
        db.session.scalars(
            select(Award)
            .join(JuryMember, JuryMember.award_id == Award.id)
            .where(JuryMember.user_id == juror.id, Award.archived_at.is_(None))
            .order_by(Award.title)
        )
    )


def fellow_totals(
    award: Award, nominee: Nominee, *, juror: User, work: Work | None = None
) -> list[float] | None:
    """Other jurors' submitted totals for the nominee (0-100, without names), for an award that
    is not blind, once this juror has submitted their own; None when they may not see them.
    `work`: the juror's work in the award, if already read (their evaluation is not read again)."""
    if award.blind:
        return None
    own = work.of(nominee).evaluation if work else evaluation_of(award, nominee, juror)
    if own is None or own.submitted_at is None:
        return None
    criteria = [
        ranking.Criterion(c.slug, c.weight, c.scale_min, c.scale_max) for c in award.criteria
    ]
    slugs = {c.id: c.slug for c in award.criteria}
    scores: dict[int, dict[str, int]] = {}
    for juror_id, criterion_id, value in db.session.execute(
        select(Evaluation.juror_id, Score.criterion_id, Score.value)
        .join(Score, Score.evaluation_id == Evaluation.id)
        .where(
            Evaluation.award_id == award.id,
            Evaluation.nominee_id == nominee.id,
            Evaluation.juror_id != juror.id,
            Evaluation.submitted_at.is_not(None),
            Score.value.is_not(None),
        )
    ):
        assert value is not None  # the query keeps given scores only
        scores.setdefault(juror_id, {})[slugs[criterion_id]] = value
    totals = (ranking.juror_total(criteria, s) for s in scores.values())
    return sorted((t for t in totals if t is not None), reverse=True)


def history(award: Award, nominee: Nominee, *, juror: User) -> list[dict]:
    """The juror's own saves of this evaluation, newest first: when, version, and content."""
    evaluation = evaluation_of(award, nominee, juror)
    if evaluation is None:
        return []
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject == f"evaluation:{evaluation.id}", AuditEvent.actor_id == juror.id)
        .order_by(AuditEvent.id.desc())
    )
    out = []
    for event in events:
        payload = json.loads(event.payload)
        out.append(
            {
                "at": event.at,
                "action": event.action,
                "version": payload.get("version"),
                "after": payload.get("after") or {},
                "before": payload.get("before"),
            }
        )
    return out
