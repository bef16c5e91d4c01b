"""An award's nominees as an administrator keeps them: add, edit, reorder, withdraw, reinstate,
and delete (never once evaluated). Importing many at once is nominee_import.py.

Entries are validated by seeding's NomineeEntry, so a nominee typed in a form, imported from a
file or seeded from the shortlist obeys the same rules.
"""

import re
import unicodedata
from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from judging.extensions import db
from judging.models import Award, Evaluation, Nominee, User, utcnow
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError
from judging.services.seeding import NomineeEntry, flatten_errors

FIELDS = ("slug", "title", "organisation", "city", "country", "summary")
SLUG_MAX = 80
REASON_MAX = 2000


class NomineeError(ServiceError):
    """Refused, nothing written; `errors` names the offending fields of a form."""


def _sentence(message: str) -> str:
    """marshmallow's "must not be empty" as a message shown on its own: "Must not be empty."."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."


def field_errors(exc: ValidationError, raw: dict) -> dict[str, list[str]]:
    """NomineeEntry's errors by field, through seeding's flattening (`city: must not be ...`)."""
    errors: dict[str, list[str]] = {}
    for line in flatten_errors(exc.messages, raw):
        name, _, message = line.partition(": ")
        errors.setdefault(name, []).append(_sentence(message))
    return errors


def entry_schema(raw: dict) -> NomineeEntry:
    """NomineeEntry, not asking for a slug when none could be made: without a title, the
    title's own message says what to do."""
    return NomineeEntry() if raw.get("slug") else NomineeEntry(partial=("slug",))


def slug_from(title: str) -> str:
    """A slug made from a title: "Jus'App: Lyon!" → "jus-app-lyon"; "" if nothing is left."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def snapshot(nominee: Nominee) -> dict:
    return {name: getattr(nominee, name) for name in FIELDS}


# --- The list ---------------------------------------------------------------------------------


@dataclass
class ListedNominee:
    nominee: Nominee
    evaluations: int = 0
    submitted: int = 0

    @property
    def deletable(self) -> bool:
        """Evaluated work is never deleted: such a nominee can only be withdrawn."""
        return self.evaluations == 0


def evaluation_counts(award: Award) -> dict[int, tuple[int, int]]:
    """Per nominee id: (evaluations, drafts included; submitted ones)."""
    rows = db.session.execute(
        select(Evaluation.nominee_id, func.count(), func.count(Evaluation.submitted_at))
        .where(Evaluation.award_id == award.id)
        .group_by(Evaluation.nominee_id)
    )
    return {nominee_id: (total, submitted) for nominee_id, total, submitted in rows}


def _in_order(award: Award) -> list[Nominee]:
    return list(
        db.session.scalars(
            select(Nominee)
            .where(Nominee.award_id == award.id)
            .order_by(Nominee.position, Nominee.id)
        )
    )


def list_nominees(award: Award) -> list[ListedNominee]:
    """Every nominee of the award in award order, withdrawn ones included, with its counts."""
    counts = evaluation_counts(award)
    return [ListedNominee(n, *counts.get(n.id, (0, 0))) for n in _in_order(award)]


def evaluation_count(nominee: Nominee) -> int:
    """Its evaluations, drafts included: any one of them keeps the nominee from deletion."""
    return db.session.execute(
        select(func.count()).select_from(Evaluation).where(Evaluation.nominee_id == nominee.id)
    ).scalar_one()


# --- One nominee ------------------------------------------------------------------------------


def _validated(award: Award, data: dict, nominee: Nominee | None = None) -> dict:
    """The entry, cleaned and checked as the shortlist's are; NomineeError names each field."""
    raw = {name: (data.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, list[str]] = {}
    if nominee is not None and evaluation_count(nominee) > 0:  # evaluated: the slug is locked
        if raw["slug"] not in ("", nominee.slug):
            errors["slug"] = [
                "Jurors have evaluated this nominee, so its slug can no longer change: exports "
                "and casting decisions refer to it."
            ]
        raw["slug"] = nominee.slug
    elif not raw["slug"]:
        raw["slug"] = slug_from(raw["title"])
        if raw["title"] and not raw["slug"]:
            errors["slug"] = ["No slug can be made from this title; type one."]
    entry = {name: value for name, value in raw.items() if value or name != "slug"}
    try:
        clean = entry_schema(entry).load(entry)
    except ValidationError as exc:
        for name, messages in field_errors(exc, raw).items():
            errors.setdefault(name, []).extend(messages)
    if "slug" not in errors and raw["slug"]:
        clash = db.session.scalar(queries.nominee_by_slug(award, raw["slug"]))
        if clash is not None and clash is not nominee:
            errors["slug"] = [
                f"“{clash.title}” already has the slug “{raw['slug']}” in this award;"
                " choose another."
            ]
    if errors:
        raise NomineeError("Some fields need attention; nothing was saved.", errors=errors)
    return clean


def next_position(award: Award) -> int:
    """The position after the award's last nominee."""
    last = db.session.scalar(select(func.max(Nominee.position)).where(Nominee.award_id == award.id))
    return 0 if last is None else last + 1


def flush_or_refuse(message: str) -> None:
    """Flush; a constraint that another request's write broke meanwhile is a refusal, not a
    500 (the caller rolls back)."""
    try:
        db.session.flush()
    except IntegrityError:
        raise NomineeError(message) from None


def create_nominee(award: Award, data: dict, *, actor: User) -> Nominee:
    """Add a nominee at the end of the award's list."""
    values = _validated(award, data)
    nominee = Nominee(award_id=award.id, position=next_position(award), **values)
    db.session.add(nominee)
    flush_or_refuse("Another nominee with this slug was added meanwhile; nothing was saved.")
    record_event(
        "nominee.created",
        f"nominee:{nominee.id}",
        {"award": award.slug, "before": None, "after": snapshot(nominee)},
        actor=actor,
    )
    return nominee


def update_nominee(nominee: Nominee, data: dict, *, actor: User) -> bool:
    """Change a nominee's details; say whether anything changed."""
    values = _validated(nominee.award, data, nominee)
    before = snapshot(nominee)
    for name, value in values.items():
        setattr(nominee, name, value)
    after = snapshot(nominee)
    if after == before:
        return False
    flush_or_refuse("Another nominee took this slug meanwhile; nothing was saved.")
    record_event(
        "nominee.updated",
        f"nominee:{nominee.id}",
        {"award": nominee.award.slug, "before": before, "after": after},
        actor=actor,
    )
    return True


def move_nominee(nominee: Nominee, direction: str, *, actor: User) -> None:
    """Swap the nominee with its neighbour above ("up") or below ("down")."""
    order = _in_order(nominee.award)
    index = order.index(nominee)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(order):
        raise NomineeError(
            f"“{nominee.title}” is already {'first' if direction == 'up' else 'last'}."
        )
    order[index], order[other] = order[other], order[index]
    # Renumbered from 0, so that positions stay distinct whatever they were before.
    for position, each in enumerate(order):
        each.position = position
    record_event(
        "nominee.moved",
        f"nominee:{nominee.id}",
        {
            "award": nominee.award.slug,
            "nominee": nominee.slug,
            "before": index + 1,
            "after": other + 1,
        },
        actor=actor,
    )


def _withdrawal(nominee: Nominee) -> dict:
    at = nominee.withdrawn_at
    return {"withdrawn_at": at and at.isoformat(), "withdrawn_reason": nominee.withdrawn_reason}


def withdraw_nominee(nominee: Nominee, *, reason: str, actor: User) -> None:
    """The nominee leaves every juror's list and every aggregate; its evaluations are kept."""
    reason = (reason or "").strip()
    if not reason:
        raise NomineeError(
            "Give the reason for the withdrawal; it was not withdrawn.",
            errors={"reason": ["Required."]},
        )
    if len(reason) > REASON_MAX:
        raise NomineeError(
            f"Keep the reason under {REASON_MAX:,} characters.",
            errors={"reason": [f"At most {REASON_MAX} characters."]},
        )
    if nominee.withdrawn_at is not None:
        raise NomineeError(f"“{nominee.title}” is already withdrawn.")
    before = _withdrawal(nominee)
    nominee.withdrawn_at, nominee.withdrawn_reason = utcnow(), reason
    record_event(
        "nominee.withdrawn",
        f"nominee:{nominee.id}",
        {
            "award": nominee.award.slug,
            "nominee": nominee.slug,
            "before": before,
            "after": _withdrawal(nominee),
        },
        actor=actor,
    )


def reinstate_nominee(nominee: Nominee, *, actor: User) -> None:
    """A withdrawn nominee is back in the running, with the evaluations it had."""
    if nominee.withdrawn_at is None:
        raise NomineeError(f"“{nominee.title}” is not withdrawn.")
    before = _withdrawal(nominee)
    nominee.withdrawn_at, nominee.withdrawn_reason = None, ""
    record_event(
        "nominee.reinstated",
        f"nominee:{nominee.id}",
        {
            "award": nominee.award.slug,
            "nominee": nominee.slug,
            "before": before,
            "after": _withdrawal(nominee),
        },
        actor=actor,
    )


def delete_nominee(nominee: Nominee, *, actor: User) -> None:
    """Delete a nominee nobody has evaluated, not even as a draft."""
    refusal = f"“{nominee.title}” has evaluations, so it can never be deleted; withdraw it instead."
    if evaluation_count(nominee) > 0:
        raise NomineeError(refusal)
    award_slug, before = nominee.award.slug, snapshot(nominee)
    subject = f"nominee:{nominee.id}"
    db.session.delete(nominee)
    # The database refuses too (ON DELETE RESTRICT), should a juror start one meanwhile.
    flush_or_refuse(refusal)
    record_event("nominee.deleted", subject, {"award": award_slug, "before": before}, actor=actor)
