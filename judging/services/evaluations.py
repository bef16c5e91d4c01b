"""Saving a juror's evaluation: drafts and submissions, and the rules every save is held to.

Every rule is checked here, whatever the client sent: only the award's jurors, only while it is
in scoring and inside its window, never on a recused nominee, integers inside each criterion's
scale, and never a silent overwrite of a newer version.

The refusals (EvaluationError and its kinds) and the guards shared by the juror's other use
cases live here too: declaring a conflict of interest is in `services/recusals.py`, what a
juror reads of their own work (their awards, progress, history) in `services/juror_view.py`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from judging.extensions import db
from judging.models import (
    Assignment,
    Award,
    Criterion,
    Evaluation,
    Nominee,
    Score,
    User,
    utcnow,
)
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError

COMMENT_MAX = 10_000
_INSERT: dict[str, Callable[..., postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


_EVALUATION = cast(Table, Evaluation.__table__)


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


def evaluation_of(award: Award, nominee: Nominee, juror: User) -> Evaluation | None:
    """The juror's stored evaluation of the nominee, if they ever saved one."""
    return db.session.scalar(
        select(Evaluation).where(
            Evaluation.award_id == award.id,
            Evaluation.nominee_id == nominee.id,
            Evaluation.juror_id == juror.id,
        )
    )


def state_of(
    evaluation: Evaluation | None, criteria: list[Criterion] | None = None
) -> EvaluationState:
    """What the juror sees of a stored evaluation (empty, version 0, for None). With the
    award's `criteria` already loaded, their slugs are not read again."""
    if evaluation is None:
        return EvaluationState()
    by_id = {s.criterion_id: s for s in evaluation.scores}
    if criteria is not None:
        slugs = {c.id: c.slug for c in criteria}
    else:
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

    The stored evaluation is read once; the compare-and-set on its version then guarantees
    that it is still what was read, so the new state is built from the input, and only the
    score rows that differ are written (one upsert, one delete).
    """
    criterion_comments = {k: v for k, v in (criterion_comments or {}).items() if v}
    member, recused, assigned = _standing(award, nominee, juror)
    if not member or juror.role != "juror":
        raise NotOnJury("You are not on the jury of this award.")
    require_scoring_open(award)
    if nominee.award_id != award.id:
        raise EvaluationError("This nominee is not in this award.")
    if recused:
        raise Recused("You declared a conflict of interest with this nominee; you cannot score it.")
    if nominee.withdrawn_at is not None:
        raise ScoringClosed("This nominee has been withdrawn from the award; nothing was saved.")
    if not assigned:
        raise NotOnJury("This nominee is not assigned to you.")
    criteria = list(award.criteria)
    _check_input(award, criteria, scores, criterion_comments, comment, submitted)

    stored = _stored(award, nominee, juror, criteria)
    if (stored.state.version if stored else 0) != version:
        raise StaleVersion(stored.state if stored else EvaluationState())
    before = stored.state if stored else None
    now = utcnow()
    if not submitted:
        submitted_at = None
    elif before is not None and before.submitted_at is not None:
        submitted_at = before.submitted_at
    else:
        submitted_at = now
    written = {"comment": comment, "submitted_at": submitted_at, "updated_at": now}
    evaluation_id = _claim(award, nominee, juror, version, written, criteria)
    if stored is not None:
        _forget_loaded(evaluation_id)
    _write_scores(
        evaluation_id,
        stored.rows if stored else {},
        {c.slug: c.id for c in criteria},
        scores,
        criterion_comments,
    )
    after = EvaluationState(
        scores=dict(scores),
        criterion_comments=criterion_comments,
        comment=comment,
        submitted=submitted,
        submitted_at=submitted_at,
        updated_at=now,
        version=version + 1,
    )
    if before is None or _content(before) != _content(after):
        record_event(
            "evaluation.submitted"
            if after.submitted and not (before and before.submitted)
            else "evaluation.saved",
            f"evaluation:{evaluation_id}",
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


def _standing(award: Award, nominee: Nominee, juror: User) -> tuple[bool, bool, bool]:
    """(on the award's jury, recused from the nominee, the nominee is theirs to judge): the
    three facts the saving rules ask, in one query."""
    assigned = (
        select(Assignment.id)
        .where(Assignment.nominee_id == nominee.id, Assignment.juror_id == juror.id)
        .exists()
        if award.assignment_mode == "assigned"
        else true()
    )
    member, recused, is_assigned = db.session.execute(
        select(
            queries.jury_membership(award, juror).exists(),
            queries.active_recusal(nominee, juror).exists(),
            assigned,
        )
    ).one()
    return bool(member), bool(recused), bool(is_assigned)


@dataclass
class _Stored:
    """The stored evaluation as read before a save: what the juror sees of it, and its score
    rows as they are ({criterion id: (value, comment)})."""

    state: EvaluationState
    rows: dict[int, tuple[int | None, str]]


def _stored(award: Award, nominee: Nominee, juror: User, criteria: list[Criterion]):
    """The juror's stored evaluation of the nominee with its scores, in one query; None if
    they never saved one."""
    found = db.session.execute(
        select(
            Evaluation.version,
            Evaluation.comment,
            Evaluation.submitted_at,
            Evaluation.updated_at,
            Score.criterion_id,
            Score.value,
            Score.comment,
        )
        .outerjoin(Score, Score.evaluation_id == Evaluation.id)
        .where(
            Evaluation.award_id == award.id,
            Evaluation.nominee_id == nominee.id,
            Evaluation.juror_id == juror.id,
        )
    ).all()
    if not found:
        return None
    version, comment, submitted_at, updated_at = found[0][:4]
    rows = {row[4]: (row[5], row[6]) for row in found if row[4] is not None}
    slugs = {c.id: c.slug for c in criteria}
    return _Stored(
        EvaluationState(
            scores={slugs[cid]: value for cid, (value, _) in rows.items() if value is not None},
            criterion_comments={slugs[cid]: text for cid, (_, text) in rows.items() if text},
            comment=comment,
            submitted=submitted_at is not None,
            submitted_at=submitted_at,
            updated_at=updated_at,
            version=version,
        ),
        rows,
    )


def _claim(
    award: Award,
    nominee: Nominee,
    juror: User,
    version: int,
    values: dict,
    criteria: list[Criterion],
) -> int:
    """The evaluation's id, written with `values` and moved to version+1 if and only if it is
    still at `version`; StaleVersion with what is stored now if it is not.

    A compare-and-set in one statement: two writers holding the same version cannot both win,
    on PostgreSQL (the second waits for the row lock, then finds the version moved) or SQLite.
    """
    if version == 0:
        # ON CONFLICT rather than a SAVEPOINT: on SQLite, releasing a savepoint that opened the
        # transaction commits it, which would keep an empty evaluation if the save then failed.
        insert = _INSERT[db.session.get_bind().dialect.name]
        created = db.session.scalar(
            insert(Evaluation)
            .values(
                award_id=award.id, nominee_id=nominee.id, juror_id=juror.id, version=1, **values
            )
            .on_conflict_do_nothing(index_elements=["award_id", "nominee_id", "juror_id"])
            .returning(Evaluation.id)
        )
    else:
        # On the table, not the class: the ORM's bulk-update machinery has nothing to do here
        # (no loaded object to keep in step: `_forget_loaded` expires one, if any).
        row = _EVALUATION.c
        created = db.session.scalar(
            update(_EVALUATION)
            .where(
                row.award_id == award.id,
                row.nominee_id == nominee.id,
                row.juror_id == juror.id,
                row.version == version,
            )
            .values(version=row.version + 1, **values)
            .returning(row.id)
        )
    if created is None:  # another tab or device saved first, since the read
        stored = _stored(award, nominee, juror, criteria)
        raise StaleVersion(stored.state if stored else EvaluationState())
    return created


def _forget_loaded(evaluation_id: int) -> None:
    """An Evaluation this session had loaded is now out of date: the next read reloads it."""
    loaded = db.session.identity_map.get(db.session.identity_key(Evaluation, evaluation_id))
    if loaded is not None:
        db.session.expire(loaded)


def _write_scores(
    evaluation_id: int,
    stored: dict[int, tuple[int | None, str]],
    criterion_ids: dict[str, int],
    scores: dict[str, int],
    criterion_comments: dict[str, str],
) -> None:
    """Make the evaluation's score rows those of the input, writing only what differs from
    `stored`: a row per criterion scored or commented on (a comment may come before its
    score), in one upsert; the rows of criteria no longer scored nor commented, in one DELETE."""
    wanted = {
        criterion_ids[slug]: (scores.get(slug), criterion_comments.get(slug, ""))
        for slug in {*scores, *criterion_comments}
    }
    changed = [
        {"evaluation_id": evaluation_id, "criterion_id": cid, "value": value, "comment": text}
        for cid, (value, text) in wanted.items()
        if stored.get(cid) != (value, text)
    ]
    if changed:
        insert = _INSERT[db.session.get_bind().dialect.name]
        upsert = insert(Score.__table__).values(changed)
        db.session.execute(
            upsert.on_conflict_do_update(
                index_elements=["evaluation_id", "criterion_id"],
                set_={"value": upsert.excluded.value, "comment": upsert.excluded.comment},
            )
        )
    if gone := set(stored) - set(wanted):
        db.session.execute(
            delete(Score).where(Score.evaluation_id == evaluation_id, Score.criterion_id.in_(gone))
        )
