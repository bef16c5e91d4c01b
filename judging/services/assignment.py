"""Who judges which nominee: the award's jury, its assignment mode, and the assignment itself.

`assign` is pure (plain values in, plain values out); the functions after it are the use cases
the jury page calls, which read and write the database and record every change in the audit log.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.exc import IntegrityError

from judging.extensions import db
from judging.models import Assignment, Award, Evaluation, JuryMember, Nominee, Recusal, User
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError

# --- The pure part ----------------------------------------------------------------------------


class AssignmentImpossible(ValueError):
    """Some nominee has fewer than k jurors free to judge it (the others declared a conflict)."""

    def __init__(self, k: int, short: dict[Any, int]):
        self.k = k
        self.short = short  # nominee -> how many jurors could judge it
        listed = ", ".join(f"{nominee!r} ({free})" for nominee, free in short.items())
        super().__init__(f"{k} jurors per nominee is impossible; jurors free to judge: {listed}")


N = TypeVar("N", bound=Hashable)
J = TypeVar("J", bound=Hashable)


def assign(
    nominees: Sequence[N],
    jurors: Sequence[J],
    k: int,
    recused_pairs: Iterable[tuple[J, N]],
    existing: Iterable[tuple[J, N]] = (),
    *,
    fixed: Iterable[tuple[J, N]] = (),
) -> dict[N, tuple[J, ...]]:
    """Give every nominee k distinct jurors, the load spread as evenly as the recusals allow.

    Pairs are (juror, nominee). A recused pair is never assigned. `existing` pairs are kept where
    the balance allows, so that re-running after a change moves as little as possible; `fixed`
    pairs (a juror's work already begun) are always kept, even beyond k. Ties are broken by the
    order of `nominees` and `jurors`, so the same input always gives the same assignment.
    Returns each nominee's jurors, in the order of `jurors`.
    """
    nominees, jurors = list(dict.fromkeys(nominees)), list(dict.fromkeys(jurors))
    if k < 1:
        raise ValueError("k must be at least 1")
    rank_of_nominee = {n: i for i, n in enumerate(nominees)}
    rank_of_juror = {j: i for i, j in enumerate(jurors)}
    recused = {(j, n) for j, n in recused_pairs}
    eligible = {n: [j for j in jurors if (j, n) not in recused] for n in nominees}
    short = {n: len(free) for n, free in eligible.items() if len(free) < k}
    if short:
        raise AssignmentImpossible(k, short)

    def valid(pair: tuple[J, N]) -> bool:
        j, n = pair
        return j in rank_of_juror and n in rank_of_nominee and pair not in recused

    pinned = {p for p in fixed if valid(p)}
    kept = {p for p in existing if valid(p)}
    on: dict[N, set[J]] = {n: set() for n in nominees}  # the nominee's jurors
    held: dict[J, set[N]] = {j: set() for j in jurors}  # the juror's nominees

    def add(j: J, n: N) -> None:
        on[n].add(j)
        held[j].add(n)

    def remove(j: J, n: N) -> None:
        on[n].discard(j)
        held[j].discard(n)

    for j, n in pinned | kept:
        add(j, n)
    # Beyond k, drop kept (never pinned) pairs from the busiest jurors.
    for n in nominees:
        while len(on[n]) > k:
            droppable = [j for j in on[n] if (j, n) not in pinned]
            if not droppable:
                break
            remove(max(droppable, key=lambda j: (len(held[j]), rank_of_juror[j])), n)
    # The most constrained nominees first, each slot to the least busy juror free to take it;
    # among equally busy ones, the one who has shared fewest nominees with those already on it,
    # so that jurors meet in varied groups rather than always the same ones (which makes their
    # scores comparable across the jury, not only within fixed blocks).
    shared: dict[tuple[J, J], int] = {}
    for n in nominees:
        for a in on[n]:
            for b in on[n] - {a}:
                shared[a, b] = shared.get((a, b), 0) + 1
    for n in sorted(nominees, key=lambda n: (len(eligible[n]), rank_of_nominee[n])):
        while len(on[n]) < k:
            free = [j for j in eligible[n] if j not in on[n]]
            chosen = min(
                free,
                key=lambda j: (
                    len(held[j]),
                    sum(shared.get((j, other), 0) for other in on[n]),
                    rank_of_juror[j],
                ),
            )
            for other in on[n]:
                shared[chosen, other] = shared.get((chosen, other), 0) + 1
                shared[other, chosen] = shared.get((other, chosen), 0) + 1
            add(chosen, n)

    def movable(j: J, n: N) -> bool:
        return (j, n) not in pinned

    def path_to(target: J) -> list[tuple[J, N, J]] | None:
        """Moves (giver, nominee, receiver) that take one nominee from a juror with at least two
        more than `target` and, through jurors whose load stays the same, give one to `target`:
        the shortest such chain, from the busiest juror it can start at."""
        came_from: dict[J, tuple[N, J]] = {}  # giver -> (the nominee it gives, its receiver)
        level, seen = [target], {target}
        while level:
            reached = []
            for receiver in level:
                for giver in jurors:
                    if giver in seen:
                        continue
                    options = [
                        n
                        for n in held[giver]
                        if movable(giver, n)
                        and receiver not in on[n]
                        and (receiver, n) not in recused
                    ]
                    if options:
                        # Moving a pair made here rather than a kept one changes less.
                        nominee = min(
                            options, key=lambda n: ((giver, n) in kept, rank_of_nominee[n])
                        )
                        came_from[giver] = (nominee, receiver)
                        seen.add(giver)
                        reached.append(giver)
            busy = [j for j in reached if len(held[j]) >= len(held[target]) + 2]
            if busy:
                j = max(busy, key=lambda j: (len(held[j]), -rank_of_juror[j]))
                moves = []
                while j != target:
                    n, to = came_from[j]
                    moves.append((j, n, to))
                    j = to
                return moves
            level = reached
        return None

    def improve() -> bool:
        busiest = max(len(held[j]) for j in jurors)
        for target in sorted(jurors, key=lambda j: (len(held[j]), rank_of_juror[j])):
            if len(held[target]) + 2 > busiest:
                return False
            if moves := path_to(target):
                for giver, n, receiver in moves:
                    remove(giver, n)
                    add(receiver, n)
                return True
        return False

    # Each move lowers the sum of squared loads, so this ends; it ends when no juror can give a
    # nominee, directly or along a chain, to one with two fewer: the most even spread there is.
    while jurors and improve():
        pass
    return {n: tuple(sorted(on[n], key=rank_of_juror.__getitem__)) for n in nominees}


# --- The use cases ----------------------------------------------------------------------------

# The jury's work is over once voting starts: its membership and assignment are part of the record.
EDITABLE_STATUSES = ("draft", "scoring", "closed")
ASSIGNMENT_MODES = ("all", "assigned")


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


def _require_editable(award: Award) -> None:
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


def _is_member(award: Award, user: User) -> bool:
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


def _award_nominee_ids(award: Award):
    return select(Nominee.id).where(Nominee.award_id == award.id)


def add_juror(award: Award, user: User, *, actor: User) -> None:
    """Put an existing juror account on the award's jury."""
    _require_editable(award)
    if user.role != "juror":
        raise JuryError(
            f"{user.name} is an administrator; only jurors sit on a jury.", field="juror"
        )
    if not user.active:
        raise JuryError(
            f"{user.name}'s account is deactivated; reactivate it first.", field="juror"
        )
    if _is_member(award, user):
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
    _require_editable(award)
    if not _is_member(award, user):
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
                Assignment.nominee_id.in_(_award_nominee_ids(award)),
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
    _require_editable(award)
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
    _require_editable(award)
    jurors = [j.id for j in jury_of(award) if j.active and j.role == "juror"]
    if not jurors:
        raise JuryError("The jury has no active juror yet: add jurors first.", field="k")
    if not 1 <= k <= len(jurors):
        raise JuryError(
            f"Choose between 1 and {len(jurors)} jurors per nominee: the jury has "
            f"{len(jurors)} active juror{'' if len(jurors) == 1 else 's'}.",
            field="k",
        )
    nominees = list(
        db.session.scalars(
            select(Nominee)
            .where(Nominee.award_id == award.id, Nominee.withdrawn_at.is_(None))
            .order_by(Nominee.position, Nominee.id)
        )
    )
    if not nominees:
        raise JuryError("This award has no nominees to assign yet.", field="k")
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
            [n.id for n in nominees],
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
    if not _is_member(award, juror):
        raise JuryError(f"{juror.name} is not on this jury.")


def assign_juror(award: Award, nominee: Nominee, juror: User, *, actor: User) -> None:
    """Add one juror to one nominee by hand."""
    _require_editable(award)
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
    _require_editable(award)
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
