"""The award's jury: who sits on it, adding and removing a juror, and the refusals every jury and
assignment change shares. Every change is recorded in the audit log.

Who judges which nominee (the assignment) is services/assignment.py.
"""

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError

from judging.extensions import db
from judging.models import Assignment, Award, Evaluation, JuryMember, Nominee, User
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError

# The jury's work is over once voting starts: its membership and assignment are part of the record.
EDITABLE_STATUSES = ("draft", "scoring", "closed")


class JuryError(ServiceError):
    """Refused, and nothing was written; `field` names the form field at fault, if one is."""


class AlreadyDone(JuryError):
    """Someone else made the same change in the meantime: nothing more to do (the unique
    constraint caught the second insert)."""

    status = 409


class NeedsConfirmation(ServiceError):
    """The change would take work away from a juror: say what will happen and ask first.

    A view that offers the confirmation catches it before any other `ServiceError`."""

    status = 409


def require_editable(award: Award) -> None:
    if award.status not in EDITABLE_STATUSES:
        raise JuryError(
            f"This award is {award.status.replace('_', ' ')}: the jury's work is over, so its "
            "jury and assignment can no longer change."
        )


def jury_of(award: Award) -> list[User]:
    """The award's jurors, by name."""
    return list(db.session.scalars(queries.jurors_of(award).order_by(User.name, User.id)))


def jurors_not_on(award: Award) -> list[User]:
    """Juror accounts that could join the award's jury: active, and not on it yet."""
    members = queries.jury_member_ids(award)
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == "juror", User.active.is_(True), User.id.not_in(members))
            .order_by(User.name, User.id)
        )
    )


def is_member(award: Award, user: User) -> bool:
    return db.session.scalar(queries.jury_membership(award, user)) is not None


def _evaluation_count(award: Award, user: User) -> tuple[int, int]:
    """(submitted, drafts) of the user's evaluations of the award."""
    states = db.session.scalars(
        select(Evaluation.submitted_at).where(
            Evaluation.award_id == award.id, Evaluation.juror_id == user.id
        )
    ).all()
    submitted = sum(s is not None for s in states)
    return submitted, len(states) - submitted


def award_nominee_ids(award: Award):
    return select(Nominee.id).where(Nominee.award_id == award.id)


def add_juror(award: Award, user: User, *, actor: User) -> None:
    """Put an existing juror account on the award's jury."""
    require_editable(award)
    if user.role != "juror":
        raise JuryError(
            f"{user.name} is an administrator; only jurors sit on a jury.", field="juror"
        )
    if not user.active:
        raise JuryError(
            f"{user.name}'s account is deactivated; reactivate it first.", field="juror"
        )
    if is_member(award, user):
        raise JuryError(f"{user.name} is already on this jury.", field="juror")
    already = f"{user.name} is already on this jury."  # read before a failed flush
    db.session.add(JuryMember(award_id=award.id, user_id=user.id))
    try:
        db.session.flush()
    except IntegrityError:  # added by someone else since _is_member looked; the caller rolls back
        raise AlreadyDone(already) from None
    record_event(
        "jury.membership_changed",
        f"user:{user.id}",
        {"added": [award.slug], "removed": []},
        actor=actor,
    )


def remove_juror(award: Award, user: User, *, actor: User, confirmed: bool = False) -> int:
    """Take a juror off the award's jury, with their assignments to its nominees; their
    evaluations are kept. Returns how many assignments went with them."""
    require_editable(award)
    if not is_member(award, user):
        raise JuryError(f"{user.name} is not on this jury.")
    submitted, drafts = _evaluation_count(award, user)
    if (submitted or drafts) and not confirmed:
        raise NeedsConfirmation(
            f"{user.name} has {_work(submitted, drafts)} for this award. Taken off the jury, "
            "they no longer see the award; their evaluations are kept, not deleted."
        )
    removed = cast(
        "CursorResult[Any]",
        db.session.execute(
            delete(Assignment).where(
                Assignment.juror_id == user.id,
                Assignment.nominee_id.in_(award_nominee_ids(award)),
            )
        ),
    ).rowcount
    db.session.execute(
        delete(JuryMember).where(JuryMember.award_id == award.id, JuryMember.user_id == user.id)
    )
    record_event(
        "jury.membership_changed",
        f"user:{user.id}",
        {
            "added": [],
            "removed": [award.slug],
            "assignments_removed": removed,
            "evaluations_kept": submitted + drafts,
        },
        actor=actor,
    )
    return removed


def _work(submitted: int, drafts: int) -> str:
    parts = []
    if submitted:
        parts.append(f"{submitted} submitted evaluation{'' if submitted == 1 else 's'}")
    if drafts:
        parts.append(f"{drafts} draft{'' if drafts == 1 else 's'}")
    return " and ".join(parts)
