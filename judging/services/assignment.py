"""Who judges which nominee: the award's assignment mode and the assignment itself.

The use cases the jury page calls: they read and write the database and record every change in
the audit log. The jury's membership is services/jury.py; the assignment algorithm itself is
pure, in judging.scoring.assignment.
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from judging.extensions import db
from judging.models import Assignment, Award, Evaluation, Nominee, Recusal, User
from judging.scoring.assignment import AssignmentImpossible, assign
from judging.services import queries
from judging.services.audit import record_event
from judging.services.jury import (
    AlreadyDone,
    JuryError,
    NeedsConfirmation,
    is_member,
    jury_of,
    require_editable,
)

ASSIGNMENT_MODES = ("all", "assigned")


def _uncovered(award: Award) -> list[Nominee]:
    """Nominees in the running that no juror is assigned to."""
    assigned = select(Assignment.nominee_id)
    return list(
        db.session.scalars(
            select(Nominee)
            .where(
                Nominee.award_id == award.id,
                Nominee.withdrawn_at.is_(None),
                Nominee.id.not_in(assigned),
            )
            .order_by(Nominee.position)
        )
    )


def _unassigned_work(award: Award) -> int:
    """Evaluations of the jury on nominees not assigned to their juror."""
    assigned = (
        select(Assignment.id)
        .where(
            Assignment.nominee_id == Evaluation.nominee_id,
            Assignment.juror_id == Evaluation.juror_id,
        )
        .exists()
    )
    members = queries.jury_member_ids(award)
    return db.session.execute(
        select(func.count())
        .select_from(Evaluation)
        .where(Evaluation.award_id == award.id, Evaluation.juror_id.in_(members), ~assigned)
    ).scalar_one()


def set_assignment_mode(award: Award, mode: str, *, actor: User, confirmed: bool = False) -> bool:
    """Every juror scores every nominee ("all"), or each only the nominees assigned to them
    ("assigned"). Returns whether anything changed."""
    require_editable(award)
    if mode not in ASSIGNMENT_MODES:
        raise JuryError("Choose how the jurors share the nominees.", field="mode")
    if mode == award.assignment_mode:
        return False
    if mode == "assigned":
        if uncovered := _uncovered(award):
            raise JuryError(
                f"{len(uncovered)} nominee{' has' if len(uncovered) == 1 else 's have'} no juror "
                f"assigned (first: “{uncovered[0].title}”). Generate an assignment first.",
                field="mode",
            )
        if (work := _unassigned_work(award)) and not confirmed:
            raise NeedsConfirmation(
                f"{work} evaluation{' is' if work == 1 else 's are'} on nominees not assigned to "
                "their juror. Those jurors will no longer see those nominees or be able to change "
                "those evaluations; the evaluations are kept, not deleted."
            )
    before, award.assignment_mode = award.assignment_mode, mode
    record_event(
        "award.assignment_mode_changed",
        f"award:{award.slug}",
        {"before": before, "after": mode},
        actor=actor,
    )
    db.session.flush()
    return True


@dataclass
class Generated:
    added: int
    removed: int
    total: int
    loads: dict[int, int]  # juror id -> nominees assigned


def generate_assignment(award: Award, k: int, *, actor: User) -> Generated:
    """Assign each nominee to at least k jurors of the jury, evenly, never a recused pair, keeping
    the current assignment where it can and every nominee a juror has begun to evaluate; then
    jurors see only their assigned nominees."""
    require_editable(award)
    jurors = _jurors_for(award, k)
    nominees = _nominees_to_assign(award)
    # A withdrawn nominee's assignment is left as it is, should it return.
    in_running = [n.id for n in nominees]
    recused = db.session.execute(
        select(Recusal.juror_id, Recusal.nominee_id).where(
            Recusal.nominee_id.in_(in_running), queries.recusal_is_active()
        )
    ).all()
    existing = {
        (j, n): row_id
        for row_id, j, n in db.session.execute(
            select(Assignment.id, Assignment.juror_id, Assignment.nominee_id).where(
                Assignment.nominee_id.in_(in_running)
            )
        )
    }
    begun = db.session.execute(
        select(Evaluation.juror_id, Evaluation.nominee_id).where(Evaluation.award_id == award.id)
    ).all()
    try:
        result = assign(
            in_running,
            jurors,
            k,
            [(j, n) for j, n in recused],
            sorted(existing),
            fixed=[(j, n) for j, n in begun],
        )
    except AssignmentImpossible as exc:
        titles = {n.id: n.title for n in nominees}
        worst = ", ".join(f"“{titles[n]}” ({free})" for n, free in exc.short.items())
        raise JuryError(
            f"{k} jurors per nominee is not possible: too many jurors declared a conflict of "
            f"interest with {worst}. Choose a smaller number, or add jurors.",
            field="k",
        ) from exc
    wanted = {(j, n) for n, js in result.items() for j in js}
    return _apply_assignment(award, k, nominees, jurors, existing, wanted, actor=actor)


def _jurors_for(award: Award, k: int) -> list[int]:
    """The jury's active jurors' ids, once k is a number of them the jury can give."""
    jurors = [j.id for j in jury_of(award) if j.active and j.role == "juror"]
    if not jurors:
        raise JuryError("The jury has no active juror yet: add jurors first.", field="k")
    if not 1 <= k <= len(jurors):
        raise JuryError(
            f"Choose between 1 and {len(jurors)} jurors per nominee: the jury has "
            f"{len(jurors)} active juror{'' if len(jurors) == 1 else 's'}.",
            field="k",
        )
    return jurors


def _nominees_to_assign(award: Award) -> list[Nominee]:
    """The nominees in the running, in the award's order; refused if there are none."""
    nominees = list(
        db.session.scalars(
            select(Nominee)
            .where(Nominee.award_id == award.id, Nominee.withdrawn_at.is_(None))
            .order_by(Nominee.position, Nominee.id)
        )
    )
    if not nominees:
        raise JuryError("This award has no nominees to assign yet.", field="k")
    return nominees


def _apply_assignment(
    award: Award,
    k: int,
    nominees: list[Nominee],
    jurors: list[int],
    existing: dict[tuple[int, int], int],
    wanted: set[tuple[int, int]],
    *,
    actor: User,
) -> Generated:
    """Write the difference between the `existing` pairs (-> row id) and the `wanted` ones,
    switch the award to assigned nominees, and record it."""
    gone = set(existing) - wanted
    new = wanted - set(existing)
    if gone:
        db.session.execute(delete(Assignment).where(Assignment.id.in_([existing[p] for p in gone])))
    db.session.add_all(Assignment(juror_id=j, nominee_id=n) for j, n in sorted(new))
    before, award.assignment_mode = award.assignment_mode, "assigned"
    slugs = {n.id: n.slug for n in nominees}
    record_event(
        "assignment.generated",
        f"award:{award.slug}",
        {
            "k": k,
            "mode_before": before,
            "added": sorted([slugs[n], j] for j, n in new),
            "removed": sorted([slugs[n], j] for j, n in gone),
        },
        actor=actor,
    )
    db.session.flush()
    loads = dict.fromkeys(jurors, 0)
    for j, _ in wanted:
        loads[j] += 1
    return Generated(added=len(new), removed=len(gone), total=len(wanted), loads=loads)


def _check_pair(award: Award, nominee: Nominee, juror: User) -> None:
    if nominee.award_id != award.id:
        raise JuryError("That nominee is not one of this award's.")
    if not is_member(award, juror):
        raise JuryError(f"{juror.name} is not on this jury.")


def assign_juror(award: Award, nominee: Nominee, juror: User, *, actor: User) -> None:
    """Add one juror to one nominee by hand."""
    require_editable(award)
    _check_pair(award, nominee, juror)
    if nominee.withdrawn_at is not None:
        raise JuryError(f"“{nominee.title}” has been withdrawn; it cannot be assigned.")
    if not juror.active:
        raise JuryError(f"{juror.name}'s account is deactivated; reactivate it first.")
    recused = db.session.scalar(
        queries.active_recusal(nominee, juror).with_only_columns(Recusal.id)
    )
    if recused is not None:
        raise JuryError(
            f"{juror.name} declared a conflict of interest with “{nominee.title}”: they cannot "
            "judge it unless the conflict is lifted."
        )
    already = f"{juror.name} is already assigned to “{nominee.title}”."
    if _assignment(nominee, juror) is not None:
        raise JuryError(already)
    db.session.add(Assignment(nominee_id=nominee.id, juror_id=juror.id))
    try:
        db.session.flush()
    except IntegrityError:  # the same pair added by someone else since; the caller rolls back
        raise AlreadyDone(already) from None
    record_event(
        "assignment.added",
        f"nominee:{nominee.slug}",
        {"award": award.slug, "nominee": nominee.slug, "juror": juror.id},
        actor=actor,
    )


def _assignment(nominee: Nominee, juror: User) -> Assignment | None:
    return db.session.scalar(
        select(Assignment).where(
            Assignment.nominee_id == nominee.id, Assignment.juror_id == juror.id
        )
    )


def unassign_juror(
    award: Award, nominee: Nominee, juror: User, *, actor: User, confirmed: bool = False
) -> None:
    """Take one nominee away from one juror by hand; an evaluation they began is kept."""
    require_editable(award)
    _check_pair(award, nominee, juror)
    assignment = _assignment(nominee, juror)
    if assignment is None:
        raise JuryError(f"{juror.name} is not assigned to “{nominee.title}”.")
    evaluation = db.session.scalar(
        select(Evaluation).where(
            Evaluation.award_id == award.id,
            Evaluation.nominee_id == nominee.id,
            Evaluation.juror_id == juror.id,
        )
    )
    work = None if evaluation is None else "submitted" if evaluation.submitted_at else "draft"
    if work and not confirmed:
        raise NeedsConfirmation(
            f"{juror.name} has a {work} evaluation of “{nominee.title}”."
            + (
                " While the award assigns nominees, they will no longer see it or be able to "
                "change their evaluation."
                if award.assignment_mode == "assigned"
                else " Once the award assigns nominees, they will no longer see it."
            )
            + " The evaluation is kept, not deleted, and comes back if you assign them again."
        )
    db.session.delete(assignment)
    db.session.flush()
    record_event(
        "assignment.removed",
        f"nominee:{nominee.slug}",
        {"award": award.slug, "nominee": nominee.slug, "juror": juror.id, "evaluation": work},
        actor=actor,
    )
