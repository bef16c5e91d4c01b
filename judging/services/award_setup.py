"""Setting up an award: its settings and rules, its criteria, archiving.

Weights and scales are locked once a juror has scored the award: changing them afterwards
would change the meaning of scores already given. Names and guidance stay editable.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select

from judging import inputs
from judging.extensions import db
from judging.models import AGGREGATION_METHODS, Award, Criterion, Evaluation, Score, User, utcnow
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The settings an administrator edits on the award form, and what the audit log records.
AWARD_FIELDS = (
    "title",
    "description",
    "scoring_opens_at",
    "scoring_closes_at",
    "voting_opens_at",
    "voting_closes_at",
    "aggregation_method",
    "quorum",
    "require_comment",
    "blind",
)
CRITERION_FIELDS = ("name", "guidance", "weight", "scale_min", "scale_max", "comment_required")
LOCKED_FIELDS = ("weight", "scale_min", "scale_max")


class SetupError(ServiceError):
    """Refused; `errors` maps each offending field to its messages."""


def require_editable(award: Award) -> None:
    """Published results are frozen: nothing that shapes them may change any more."""
    if award.status == "published":
        raise SetupError("The results of this award are published; its set-up is frozen.")


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80].rstrip("-") or "award"


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _check_award(values: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for key, multiline in (("title", False), ("description", True)):
        if problem := inputs.text_problem(values.get(key), multiline=multiline):
            errors[key] = [f"This {problem}"]
    opens, closes = values.get("scoring_opens_at"), values.get("scoring_closes_at")
    if opens and closes and opens >= closes:
        errors["scoring_closes_at"] = ["Must be after the opening time."]
    opens, closes = values.get("voting_opens_at"), values.get("voting_closes_at")
    if opens and closes and opens >= closes:
        errors["voting_closes_at"] = ["Must be after the opening time."]
    if values.get("aggregation_method") not in AGGREGATION_METHODS:
        errors["aggregation_method"] = ["Choose one of the methods offered."]
    if not isinstance(values.get("quorum"), int) or values["quorum"] < 1:
        errors["quorum"] = ["At least 1."]
    return errors


def create_award(slug: str, values: dict, *, actor: User) -> Award:
    """A new award in draft, with no nominees or criteria yet."""
    slug = slug or slugify(values.get("title", ""))
    errors = _check_award(values)
    if not SLUG_RE.match(slug):
        errors["slug"] = ["Lower-case letters, digits and single hyphens only."]
    elif db.session.scalar(queries.award_by_slug(slug).with_only_columns(Award.id)):
        errors["slug"] = [f"Another award already uses “{slug}”."]
    if errors:
        raise SetupError("Some fields need attention; nothing was saved.", errors=errors)
    award = Award(slug=slug, **{k: values[k] for k in AWARD_FIELDS if k in values})
    db.session.add(award)
    db.session.flush()
    record_event(
        "award.created",
        f"award:{slug}",
        {k: _plain(getattr(award, k)) for k in AWARD_FIELDS},
        actor=actor,
    )
    return award


def update_award(award: Award, values: dict, *, actor: User) -> bool:
    """Change the award's settings; audit what changed. False if nothing did."""
    require_editable(award)
    if errors := _check_award(values):
        raise SetupError("Some fields need attention; nothing was saved.", errors=errors)
    before = {k: _plain(getattr(award, k)) for k in AWARD_FIELDS}
    for key in AWARD_FIELDS:
        if key in values:
            setattr(award, key, values[key])
    after = {k: _plain(getattr(award, k)) for k in AWARD_FIELDS}
    changed = {
        k: {"before": before[k], "after": after[k]} for k in AWARD_FIELDS if before[k] != after[k]
    }
    if changed:
        db.session.flush()
        record_event("award.updated", f"award:{award.slug}", changed, actor=actor)
    return bool(changed)


def set_archived(award: Award, archived: bool, *, actor: User) -> None:
    """Archive a finished award (it leaves the lists, nothing is deleted) or bring it back."""
    if archived and award.status in ("scoring", "voting"):
        raise SetupError("Close scoring (and voting) before archiving the award.")
    award.archived_at = utcnow() if archived else None
    record_event(
        "award.archived" if archived else "award.unarchived", f"award:{award.slug}", {}, actor=actor
    )


def scores_exist(award: Award) -> bool:
    """Whether any juror has scored any criterion of the award (then weights and scales lock)."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Score.evaluation_id == Evaluation.id,
                    Evaluation.award_id == award.id,
                    Score.value.is_not(None),
                )
            )
        )
    )


@dataclass
class CriterionInput:
    slug: str
    name: str
    guidance: str
    weight: int
    scale_min: int
    scale_max: int
    comment_required: bool


def _check_criterion(award: Award, data: CriterionInput, current: Criterion | None):
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors["name"] = ["Give the criterion a name."]
    elif problem := inputs.text_problem(data.name):
        errors["name"] = [f"This {problem}"]
    if problem := inputs.text_problem(data.guidance, multiline=True):
        errors["guidance"] = [f"This {problem}"]
    if not 1 <= data.weight <= 1000:
        errors["weight"] = ["A whole number from 1 to 1000."]
    if not (0 <= data.scale_min < data.scale_max <= 100):
        errors["scale_max"] = ["The scale runs from a lower to a higher whole number, 0 to 100."]
    if current is None:
        if not SLUG_RE.match(data.slug):
            errors["slug"] = ["Lower-case letters, digits and single hyphens only."]
        elif any(c.slug == data.slug for c in award.criteria):
            errors["slug"] = [f"This award already has a criterion “{data.slug}”."]
    return errors


def save_criterion(
    award: Award, data: CriterionInput, *, actor: User, criterion: Criterion | None = None
) -> Criterion:
    """Add a criterion, or change one; weights and scales cannot change once scored."""
    require_editable(award)
    errors = _check_criterion(award, data, criterion)
    locked = scores_exist(award)
    if locked and criterion is None:
        errors["name"] = ["Jurors have already scored this award: no criterion can be added."]
    if locked and criterion is not None:
        for key in LOCKED_FIELDS:
            if getattr(criterion, key) != getattr(data, key):
                errors[key] = ["Locked: jurors have already scored this award."]
    if errors:
        raise SetupError("Some fields need attention; nothing was saved.", errors=errors)
    values = {k: getattr(data, k) for k in CRITERION_FIELDS}
    if criterion is None:
        position = 1 + max((c.position for c in award.criteria), default=-1)
        criterion = Criterion(award_id=award.id, slug=data.slug, position=position, **values)
        db.session.add(criterion)
        db.session.flush()
        record_event(
            "criterion.created",
            f"award:{award.slug}",
            {"criterion": data.slug, **values},
            actor=actor,
        )
        return criterion
    changed = {
        k: {"before": getattr(criterion, k), "after": v}
        for k, v in values.items()
        if getattr(criterion, k) != v
    }
    for key, value in values.items():
        setattr(criterion, key, value)
    if changed:
        db.session.flush()
        record_event(
            "criterion.updated",
            f"award:{award.slug}",
            {"criterion": criterion.slug, **changed},
            actor=actor,
        )
    return criterion


def delete_criterion(award: Award, criterion: Criterion, *, actor: User) -> None:
    require_editable(award)
    if scores_exist(award):
        raise SetupError("Jurors have already scored this award: its criteria stay.")
    if db.session.scalar(
        select(func.count()).select_from(Score).where(Score.criterion_id == criterion.id)
    ):
        raise SetupError("This criterion has comments from jurors; it stays.")
    db.session.delete(criterion)
    db.session.flush()
    record_event(
        "criterion.deleted", f"award:{award.slug}", {"criterion": criterion.slug}, actor=actor
    )


def move_criterion(award: Award, criterion: Criterion, offset: int, *, actor: User) -> None:
    """Swap the criterion with its neighbour above (-1) or below (+1)."""
    require_editable(award)
    ordered = sorted(award.criteria, key=lambda c: (c.position, c.id))
    index = ordered.index(criterion)
    other = index + offset
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, item in enumerate(ordered):
        item.position = position
    db.session.flush()
    record_event(
        "criterion.moved", f"award:{award.slug}", {"order": [c.slug for c in ordered]}, actor=actor
    )
