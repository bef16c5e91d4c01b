"""A juror's evaluations: drafts, submissions, conflicts of interest, progress.

Every rule is checked here, whatever the client sent: only the award's jurors, only while it is
in scoring and inside its window, never on a recused nominee, integers inside each criterion's
scale, and never a silent overwrite of a newer version.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from judging.extensions import db
from judging.models import (
    Assignment,
    AuditEvent,
    Award,
    Criterion,
    Evaluation,
    JuryMember,
    Nominee,
    Recusal,
    Score,
    User,
    utcnow,
)
from judging.scoring import ranking
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError

COMMENT_MAX = 10_000
_INSERT: dict[str, Callable[..., postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


class EvaluationError(ServiceError):
    """Refused; `status` is the HTTP status that says why, `errors` names offending fields."""


class NotOnJury(EvaluationError):
    status = 403


class Recused(EvaluationError):
    status = 403


class ScoringClosed(EvaluationError):
    status = 409


class StaleVersion(EvaluationError):
    """Someone (another tab, another device) saved a newer version first."""

    status = 409

    def __init__(self, current: "EvaluationState"):
        super().__init__(
            "This evaluation was changed elsewhere (another tab or device) after you loaded it."
        )
        self.current = current


@dataclass
class EvaluationState:
    """What a juror sees of their own evaluation of one nominee."""

    scores: dict[str, int] = field(default_factory=dict)
    criterion_comments: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    submitted: bool = False
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0

    def as_dict(self) -> dict:
        return {
            "scores": self.scores,
            "criterion_comments": self.criterion_comments,
            "comment": self.comment,
            "submitted": self.submitted,
            "submitted_at": self.submitted_at,
            "updated_at": self.updated_at,
            "version": self.version,
        }


def require_juror(award: Award, juror: User) -> None:
    is_member = db.session.scalar(queries.jury_membership(award, juror))
    if not is_member or juror.role != "juror":
        raise NotOnJury("You are not on the jury of this award.")


def scoring_is_open(award: Award, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if award.status != "scoring":
        return False
    if award.scoring_opens_at and now < award.scoring_opens_at:
        return False
    return not (award.scoring_closes_at and now >= award.scoring_closes_at)


def require_scoring_open(award: Award) -> None:
    if award.status != "scoring":
        raise ScoringClosed("Scoring is not open for this award; nothing was saved.")
    if not scoring_is_open(award):
        raise ScoringClosed("This award's scoring window is closed; nothing was saved.")


def is_assigned(award: Award, nominee: Nominee, juror: User) -> bool:
    """Every juror judges every nominee, unless the award assigns nominees to jurors."""
    if award.assignment_mode != "assigned":
        return True
    return (
        db.session.scalar(
            select(Assignment.id).where(
                Assignment.nominee_id == nominee.id, Assignment.juror_id == juror.id
            )
        )
        is not None
    )


def juror_nominees(award: Award, juror: User) -> list[Nominee]:
    """The nominees this juror is to judge: not withdrawn, and assigned if the award assigns."""
    query = select(Nominee).where(Nominee.award_id == award.id, Nominee.withdrawn_at.is_(None))
    if award.assignment_mode == "assigned":
        query = query.join(Assignment, Assignment.nominee_id == Nominee.id).where(
            Assignment.juror_id == juror.id
        )
    return list(db.session.scalars(query.order_by(Nominee.position)))


def active_recusal(nominee: Nominee, juror: User) -> Recusal | None:
    return db.session.scalar(queries.active_recusal(nominee, juror))


def _evaluation(award: Award, nominee: Nominee, juror: User) -> Evaluation | None:
    return db.session.scalar(
        select(Evaluation).where(
            Evaluation.award_id == award.id,
            Evaluation.nominee_id == nominee.id,
            Evaluation.juror_id == juror.id,
        )
    )


def _state(evaluation: Evaluation | None) -> EvaluationState:
    if evaluation is None:
        return EvaluationState()
    by_id = {s.criterion_id: s for s in evaluation.scores}
    slugs = dict(
        db.session.execute(
            select(Criterion.id, Criterion.slug).where(Criterion.id.in_(list(by_id)))
        ).all()
    )
    return EvaluationState(
        scores={slugs[cid]: s.value for cid, s in by_id.items() if s.value is not None},
        criterion_comments={slugs[cid]: s.comment for cid, s in by_id.items() if s.comment},
        comment=evaluation.comment,
        submitted=evaluation.submitted_at is not None,
        submitted_at=evaluation.submitted_at,
        updated_at=evaluation.updated_at,
        version=evaluation.version,
    )


def my_evaluation(award: Award, nominee: Nominee, *, juror: User) -> EvaluationState:
    """The juror's own evaluation of the nominee (empty, version 0, if never saved)."""
    require_juror(award, juror)
    return _state(_evaluation(award, nominee, juror))


def _check_input(
    award: Award,
    criteria: list[Criterion],
    scores: dict,
    criterion_comments: dict,
    comment: str,
    submitted: bool,
) -> None:
    """422 naming every offending field, before anything is written."""
    by_slug = {c.slug: c for c in criteria}
    errors: dict[str, list[str]] = {}
    for slug, value in scores.items():
        criterion = by_slug.get(slug)
        if criterion is None:
            errors[f"scores.{slug}"] = ["No such criterion in this award."]
        elif isinstance(value, bool) or not isinstance(value, int):
            errors[f"scores.{slug}"] = ["Must be a whole number."]
        elif not criterion.scale_min <= value <= criterion.scale_max:
            errors[f"scores.{slug}"] = [
                f"Must be between {criterion.scale_min} and {criterion.scale_max}."
            ]
    for slug, text in criterion_comments.items():
        if slug not in by_slug:
            errors[f"criterion_comments.{slug}"] = ["No such criterion in this award."]
        elif not isinstance(text, str) or len(text) > COMMENT_MAX:
            errors[f"criterion_comments.{slug}"] = [f"At most {COMMENT_MAX} characters."]
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [f"At most {COMMENT_MAX} characters."]
    if submitted and not errors:
        for criterion in criteria:
            if criterion.slug not in scores:
                errors[f"scores.{criterion.slug}"] = ["Score this criterion before submitting."]
            elif criterion.comment_required and not criterion_comments.get(criterion.slug):
                errors[f"criterion_comments.{criterion.slug}"] = [
                    "This award asks for a comment on this criterion before submitting."
                ]
        if award.require_comment and not comment.strip():
            errors["comment"] = ["This award asks for an overall comment before submitting."]
    if errors:
        raise EvaluationError("Some fields need attention; nothing was saved.", errors=errors)


def save_evaluation(
    award: Award,
    nominee: Nominee,
    *,
    juror: User,
    scores: dict[str, int],
    comment: str = "",
    criterion_comments: dict[str, str] | None = None,
    submitted: bool,
    version: int,
) -> EvaluationState:
    """Save the juror's whole evaluation (a draft or a submission) over `version`.

    `version` is the version the juror's page last loaded (0 for a new one). If the stored
    evaluation has moved on since, StaleVersion is raised and nothing is written.
    """
    criterion_comments = {k: v for k, v in (criterion_comments or {}).items() if v}
    require_juror(award, juror)
    require_scoring_open(award)
    if nominee.award_id != award.id:
        raise EvaluationError("This nominee is not in this award.")
    if active_recusal(nominee, juror):
        raise Recused("You declared a conflict of interest with this nominee; you cannot score it.")
    if nominee.withdrawn_at is not None:
        raise ScoringClosed("This nominee has been withdrawn from the award; nothing was saved.")
    if not is_assigned(award, nominee, juror):
        raise NotOnJury("This nominee is not assigned to you.")
    criteria = list(award.criteria)
    _check_input(award, criteria, scores, criterion_comments, comment, submitted)

    evaluation = _claim(award, nominee, juror, version)
    before = _state(evaluation) if evaluation.version > 1 or evaluation.scores else None
    now = utcnow()
    if submitted and evaluation.submitted_at is None:
        evaluation.submitted_at = now
    elif not submitted:
        evaluation.submitted_at = None
    evaluation.comment = comment
    evaluation.updated_at = now
    _replace_scores(evaluation, criteria, scores, criterion_comments)
    db.session.flush()
    db.session.expire(evaluation, ["scores"])
    after = _state(evaluation)
    if before is None or _content(before) != _content(after):
        record_event(
            "evaluation.submitted"
            if after.submitted and not (before and before.submitted)
            else "evaluation.saved",
            f"evaluation:{evaluation.id}",
            {
                "award": award.slug,
                "nominee": nominee.slug,
                "version": after.version,
                "before": _content(before) if before else None,
                "after": _content(after),
            },
            actor=juror,
        )
    return after


def _content(state: EvaluationState) -> dict:
    return {
        "scores": state.scores,
        "criterion_comments": state.criterion_comments,
        "comment": state.comment,
        "submitted": state.submitted,
    }


def _claim(award: Award, nominee: Nominee, juror: User, version: int) -> Evaluation:
    """The evaluation row, moved to version+1 if and only if it is still at `version`.

    A compare-and-set in one UPDATE: two writers holding the same version cannot both win,
    on PostgreSQL (the second waits for the row lock, then finds the version moved) or SQLite.
    """
    if version == 0:
        # ON CONFLICT rather than a SAVEPOINT: on SQLite, releasing a savepoint that opened the
        # transaction commits it, which would keep an empty evaluation if the save then failed.
        insert = _INSERT[db.session.get_bind().dialect.name]
        created = db.session.scalar(
            insert(Evaluation)
            .values(award_id=award.id, nominee_id=nominee.id, juror_id=juror.id, version=1)
            .on_conflict_do_nothing(index_elements=["award_id", "nominee_id", "juror_id"])
            .returning(Evaluation.id)
        )
        evaluation = _evaluation(award, nominee, juror)
        if created is None:
            raise StaleVersion(_state(evaluation))
        assert evaluation is not None  # just inserted
        return evaluation
    claimed = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Evaluation)
            .where(
                Evaluation.award_id == award.id,
                Evaluation.nominee_id == nominee.id,
                Evaluation.juror_id == juror.id,
                Evaluation.version == version,
            )
            .values(version=Evaluation.version + 1)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    evaluation = _evaluation(award, nominee, juror)
    if evaluation is not None:
        db.session.refresh(evaluation)
    if claimed != 1:
        raise StaleVersion(_state(evaluation))
    assert evaluation is not None  # the UPDATE just claimed its row
    return evaluation


def _replace_scores(
    evaluation: Evaluation,
    criteria: list[Criterion],
    scores: dict[str, int],
    criterion_comments: dict[str, str],
) -> None:
    by_slug = {c.slug: c for c in criteria}
    existing = {
        s.criterion_id: s
        for s in db.session.scalars(select(Score).where(Score.evaluation_id == evaluation.id))
    }
    # A row per criterion scored or commented on: a comment may come before its score.
    wanted = {by_slug[slug].id: slug for slug in {*scores, *criterion_comments}}
    if gone := set(existing) - set(wanted):
        db.session.execute(
            delete(Score).where(Score.evaluation_id == evaluation.id, Score.criterion_id.in_(gone))
        )
    for criterion_id, slug in wanted.items():
        score = existing.get(criterion_id)
        if score is None:
            db.session.add(
                Score(
                    evaluation_id=evaluation.id,
                    criterion_id=criterion_id,
                    value=scores.get(slug),
                    comment=criterion_comments.get(slug, ""),
                )
            )
        else:
            score.value = scores.get(slug)
            score.comment = criterion_comments.get(slug, "")


def declare_recusal(award: Award, nominee: Nominee, *, juror: User, reason: str) -> Recusal:
    """The juror will not judge this nominee; their scores for it leave every aggregate."""
    require_juror(award, juror)
    reason = reason.strip()
    if not reason:
        raise EvaluationError("Say briefly why, for the record.", errors={"reason": ["Required."]})
    if len(reason) > 2000:
        raise EvaluationError(
            "Keep the reason under 2,000 characters.",
            errors={"reason": ["At most 2000 characters."]},
        )
    if award.status not in ("draft", "scoring"):
        raise ScoringClosed("Scoring has closed; ask the administrator to record the conflict.")
    recusal = db.session.scalar(
        select(Recusal).where(Recusal.nominee_id == nominee.id, Recusal.juror_id == juror.id)
    )
    if recusal is None:
        recusal = Recusal(nominee_id=nominee.id, juror_id=juror.id, reason=reason)
        db.session.add(recusal)
    elif recusal.lifted_at is None:
        raise EvaluationError("You have already declared a conflict with this nominee.")
    else:
        recusal.reason, recusal.declared_at = reason, utcnow()
        recusal.lifted_at = recusal.lifted_by_id = None
        recusal.lifted_reason = ""
    db.session.flush()
    record_event(
        "recusal.declared",
        f"recusal:{recusal.id}",
        {"award": award.slug, "nominee": nominee.slug, "juror": juror.id, "reason": reason},
        actor=juror,
    )
    return recusal


def lift_recusal(recusal: Recusal, *, reason: str, actor: User) -> None:
    """An administrator decides the conflict does not stand; the juror may score again."""
    reason = reason.strip()
    if not reason:
        raise EvaluationError("Give the reason for lifting it.", errors={"reason": ["Required."]})
    if recusal.lifted_at is not None:
        raise EvaluationError("This conflict of interest was already lifted.")
    if recusal.nominee.award.status == "published":
        raise ScoringClosed("The results are published; the conflicts of interest stand.")
    recusal.lifted_at, recusal.lifted_by_id, recusal.lifted_reason = utcnow(), actor.id, reason
    record_event(
        "recusal.lifted",
        f"recusal:{recusal.id}",
        {"nominee": recusal.nominee.slug, "juror": recusal.juror_id, "reason": reason},
        actor=actor,
    )


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
    own = _evaluation(award, nominee, juror)
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
    evaluation = _evaluation(award, nominee, juror)
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
