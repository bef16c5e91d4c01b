"""What a juror reads of their own work: their awards, their nominees in their own order with
each one's status, their evaluation of a nominee, its history, and (where the award allows) the
other jurors' totals.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

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


def juror_nominees(award: Award, juror: User) -> list[Nominee]:
    """The nominees this juror is to judge: not withdrawn, and assigned if the award assigns."""
    query = select(Nominee).where(Nominee.award_id == award.id, Nominee.withdrawn_at.is_(None))
    if award.assignment_mode == "assigned":
        query = query.join(Assignment, Assignment.nominee_id == Nominee.id).where(
            Assignment.juror_id == juror.id
        )
    return list(db.session.scalars(query.order_by(Nominee.position)))


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


def progress(award: Award, *, juror: User) -> Progress:
    """The juror's nominees in their own order, each with its status (three queries)."""
    evaluations = {
        e.nominee_id: e
        for e in db.session.scalars(
            select(Evaluation).where(
                Evaluation.award_id == award.id, Evaluation.juror_id == juror.id
            )
        )
    }
    recused = set(
        db.session.scalars(
            queries.active_recusals(award)
            .with_only_columns(Recusal.nominee_id)
            .where(Recusal.juror_id == juror.id)
        )
    )
    rows = []
    for nominee in shuffled_for(juror, juror_nominees(award, juror)):
        evaluation = evaluations.get(nominee.id)
        if nominee.id in recused:
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


def jurors_awards(juror: User) -> list[Award]:
    return list(
        db.session.scalars(
            select(Award)
            .join(JuryMember, JuryMember.award_id == Award.id)
            .where(JuryMember.user_id == juror.id, Award.archived_at.is_(None))
            .order_by(Award.title)
        )
    )


def fellow_totals(award: Award, nominee: Nominee, *, juror: User) -> list[float] | None:
    """Other jurors' submitted totals for the nominee (0-100, without names), for an award that
    is not blind, once this juror has submitted their own; None when they may not see them."""
    if award.blind:
        return None
    own = evaluation_of(award, nominee, juror)
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
