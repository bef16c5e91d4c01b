"""Casting decisions: the order an administrator sets, with a reason, among nominees the
ranking's rules left tied. The ranking applies them (`results.casting_decisions`); publication
refuses while a tie is left unresolved."""

from __future__ import annotations

import json

from judging.extensions import db
from judging.models import Award, CastingDecision, User
from judging.scoring import ranking
from judging.services import results
from judging.services.audit import record_event
from judging.services.errors import ServiceError


class CastingError(ServiceError):
    """A casting decision refused; nothing was recorded."""


def tie_groups(result: ranking.Ranking[int]) -> dict[tuple[str, ...], int]:
    """The nominees the rules left tied (scored ones only), each group with its rank."""
    groups: dict[int, list[str]] = {}
    for r in result.results:
        if r.tied and r.score is not None:
            groups.setdefault(r.rank, []).append(r.nominee)
    return {tuple(members): rank for rank, members in groups.items()}


def record_casting(
    award: Award,
    *,
    method: str | None,
    tied: tuple[str, ...],
    order: tuple[str, ...],
    reason: str,
    actor: User,
) -> None:
    """Record the order of nominees tied under `method` (default: the award's own), and why.

    Refused once the results are published, without a reason, for nominees no longer tied, and
    for an order that does not place each tied nominee exactly once."""
    if award.status == "published":
        raise CastingError("The results are published; no casting decision can be added.")
    if not reason.strip():
        raise CastingError("Give the reason for the casting decision; nothing was recorded.")
    result = results.compute(award, method).result
    if tuple(sorted(tied)) not in {tuple(sorted(group)) for group in tie_groups(result)}:
        raise CastingError("Those nominees are no longer tied; nothing was recorded.")
    if sorted(order) != sorted(tied) or len(set(order)) != len(order):
        raise CastingError("Put each tied nominee in exactly one place; nothing was recorded.")
    db.session.add(
        CastingDecision(
            award_id=award.id,
            method=result.method,
            nominee_order=json.dumps(list(order)),
            reason=reason.strip(),
            decided_by_id=actor.id,
        )
    )
    record_event(
        "ranking.casting_decision",
        f"award:{award.slug}",
        {"method": result.method, "order": list(order), "reason": reason},
        actor=actor,
    )
