"""Loading an award, its criteria and its nominees from a JSON file such as seed/shortlist.json."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import exists, func, select

from judging import inputs
from judging.extensions import db
from judging.models import (
    SCALE_CEILING,
    SCALE_FLOOR,
    Award,
    Criterion,
    Evaluation,
    Nominee,
    Score,
    User,
)
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError

SLUG = validate.Regexp(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="must be lower-case letters, digits and single hyphens"
)


def _text(max_length: int, required: bool = True) -> fields.String:
    """A one-line text (required), or a longer text that may break lines (optional)."""
    if not required:
        return fields.String(
            load_default="",
            validate=[
                validate.Length(max=max_length),
                inputs.marshmallow_plain_text(multiline=True),
            ],
        )
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error="must not be empty"),
            validate.Length(max=max_length),
            inputs.marshmallow_plain_text(),
        ],
    )


class AwardEntry(Schema):
    slug = fields.String(required=True, validate=[validate.Length(max=80), SLUG])
    title = _text(200)
    description = _text(10_000, required=False)
    # Whether the award is listed publicly. Absent: a new award is not public (an administrator
    # makes it so), an existing one keeps its visibility. JSON true or false only.
    public = fields.Boolean(truthy={True}, falsy={False}, load_default=None)


class CriterionEntry(Schema):
    slug = fields.String(required=True, validate=[validate.Length(max=80), SLUG])
    name = _text(200)
    guidance = _text(2_000, required=False)
    weight = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    scale_min = fields.Integer(
        required=True, strict=True, validate=validate.Range(SCALE_FLOOR, SCALE_CEILING)
    )
    scale_max = fields.Integer(
        required=True, strict=True, validate=validate.Range(SCALE_FLOOR, SCALE_CEILING)
    )

    @validates_schema
    def _scale_ordered(self, data, **_kwargs):
        if data.get("scale_min", 0) >= data.get("scale_max", SCALE_CEILING):
            raise ValidationError("must be greater than scale_min", "scale_max")


class NomineeEntry(Schema):
    slug = fields.String(required=True, validate=[validate.Length(max=80), SLUG])
    title = _text(300)
    organisation = _text(300)
    city = _text(120)
    country = _text(120)
    summary = _text(10_000, required=False)


def _unique_slugs(entries: list[dict], name: str) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry["slug"] in seen:
            raise ValidationError(
                {name: {index: {"slug": [f"repeats the slug of entry {seen[entry['slug']]}"]}}}
            )
        seen[entry["slug"]] = index


class ShortlistFile(Schema):
    award = fields.Nested(AwardEntry, required=True)
    criteria = fields.List(
        fields.Nested(CriterionEntry), required=True, validate=validate.Length(min=1)
    )
    nominees = fields.List(fields.Nested(NomineeEntry), required=True)

    @validates_schema
    def _slugs_unique(self, data, **_kwargs):
        _unique_slugs(data.get("criteria", []), "criteria")
        _unique_slugs(data.get("nominees", []), "nominees")


class SeedError(ServiceError):
    """The file cannot be seeded; each message (one per line) names the entry and the field."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


def flatten_errors(errors, raw, where: str = "") -> list[str]:
    """marshmallow's nested error dict as lines such as `nominees[3] (antenne-hub).city: ...`."""
    lines = []
    for key, value in errors.items():
        if isinstance(key, int):
            item = raw[key] if isinstance(raw, list) and key < len(raw) else None
            label = f"{where}[{key}]"
            if isinstance(item, dict) and isinstance(item.get("slug"), str):
                label += f" ({item['slug']})"
            sub_raw = item
        else:
            label = f"{where}.{key}" if where else str(key)
            sub_raw = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(value, dict):
            lines += flatten_errors(value, sub_raw, label)
        else:
            lines += [f"{label}: {message}" for message in value]
    return lines


def read_shortlist(path: str | Path) -> dict:
    """Read and validate a shortlist file; raise SeedError naming every problem found."""
    path = Path(path)
    try:
        raw = inputs.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeedError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise SeedError([f"{path}: not UTF-8 text ({exc.reason})"]) from None
    except json.JSONDecodeError as exc:
        raise SeedError([f"{path}: {inputs.json_problem(exc)}"]) from None
    if not isinstance(raw, dict):
        raise SeedError([f"{path}: expected an object with award, criteria and nominees"])
    try:
        return ShortlistFile().load(raw)
    except ValidationError as exc:
        raise SeedError(flatten_errors(exc.messages, raw)) from None


@dataclass
class SeedReport:
    award: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)


def _assign(obj, values: dict) -> bool:
    """Set the attributes that differ; say whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def seed_shortlist(data: dict, *, actor: User | None) -> SeedReport:
    """Create or update the award in `data` with its criteria and nominees.

    Idempotent. Entries gone from the file are removed unless jurors have worked on them;
    those are kept and reported, as are locked criteria (weights and scales once scored).
    """
    award = db.session.scalar(queries.award_by_slug(data["award"]["slug"]))
    report = SeedReport(award=data["award"]["slug"])
    values = {k: v for k, v in data["award"].items() if not (k == "public" and v is None)}
    if award is None:
        award = Award(**values)
        db.session.add(award)
        db.session.flush()
        report.created.append(f"award {award.slug}")
    elif _assign(award, values):
        report.updated.append(f"award {award.slug}")

    _seed_criteria(award, data["criteria"], report)
    _seed_nominees(award, data["nominees"], report)
    db.session.flush()
    if report.changed:
        record_event(
            "award.seeded",
            f"award:{award.slug}",
            {"created": report.created, "updated": report.updated, "removed": report.removed},
            actor=actor,
        )
    return report


def _seed_criteria(award: Award, entries: list[dict], report: SeedReport) -> None:
    existing = {c.slug: c for c in award.criteria}
    scored = set(
        db.session.scalars(
            select(Criterion.slug)
            .where(Criterion.award_id == award.id)
            .where(exists().where(Score.criterion_id == Criterion.id, Score.value.is_not(None)))
        )
    )
    locked_errors = []
    for position, entry in enumerate(entries):
        values = {**entry, "position": position}
        criterion = existing.pop(entry["slug"], None)
        if criterion is None:
            award.criteria.append(Criterion(**values))
            report.created.append(f"criterion {entry['slug']}")
            continue
        if criterion.slug in scored and any(
            getattr(criterion, name) != entry[name] for name in ("weight", "scale_min", "scale_max")
        ):
            locked_errors.append(
                f"criteria ({criterion.slug}): weight and scale are locked because jurors have"
                " scored this criterion; only its name and guidance can change"
            )
        elif _assign(criterion, values):
            report.updated.append(f"criterion {criterion.slug}")
    for slug, criterion in existing.items():
        if slug in scored:
            locked_errors.append(
                f"criteria ({slug}): missing from the file, but jurors have scored it;"
                " it cannot be removed"
            )
        else:
            db.session.delete(criterion)
            report.removed.append(f"criterion {slug}")
    if locked_errors:
        raise SeedError(locked_errors)


def _seed_nominees(award: Award, entries: list[dict], report: SeedReport) -> None:
    existing = {n.slug: n for n in award.nominees}
    for position, entry in enumerate(entries):
        values = {**entry, "position": position}
        nominee = existing.pop(entry["slug"], None)
        if nominee is None:
            award.nominees.append(Nominee(**values))
            report.created.append(f"nominee {entry['slug']}")
        elif _assign(nominee, values):
            report.updated.append(f"nominee {nominee.slug}")
    if not existing:
        return
    evaluated = dict(
        db.session.execute(
            select(Evaluation.nominee_id, func.count())
            .where(Evaluation.nominee_id.in_([n.id for n in existing.values()]))
            .group_by(Evaluation.nominee_id)
        ).all()
    )
    for slug, nominee in existing.items():
        if nominee.id in evaluated:
            report.kept.append(
                f"nominee {slug} is no longer in the file but has {evaluated[nominee.id]}"
                " evaluation(s); it was kept"
            )
        else:
            db.session.delete(nominee)
            report.removed.append(f"nominee {slug}")
