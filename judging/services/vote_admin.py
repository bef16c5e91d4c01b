"""The vote, administrator's side, beyond its rules, codes and voiding (services/voting.py): the
live tally on the ceremony screen, and which of a batch's codes may be printed as cards."""

from __future__ import annotations

from sqlalchemy import select

from judging.extensions import db
from judging.models import Award, User, VotingCredential
from judging.services.audit import record_event
from judging.services.voting import MAX_CODES, format_code, keyed_hash, normalise_code


def toggle_live_tally(award: Award, *, actor: User) -> bool:
    """Turn the live tally (shown while voting is open) on or off; returns whether it is on."""
    award.live_tally = not award.live_tally
    record_event(
        "award.live_tally_changed",
        f"award:{award.slug}",
        {"live_tally": award.live_tally},
        actor=actor,
    )
    return award.live_tally


def issued_codes(award: Award, wanted: list[str]) -> list[str]:
    """Those of the given codes (at most MAX_CODES) issued for this award, formatted, in their
    order: only they are printed on cards."""
    raw = [normalise_code(c) for c in wanted[:MAX_CODES]]
    known = set(
        db.session.scalars(
            select(VotingCredential.secret_hash).where(
                VotingCredential.award_id == award.id,
                VotingCredential.secret_hash.in_([keyed_hash(c) for c in raw]),
            )
        )
    )
    return [format_code(c) for c in raw if keyed_hash(c) in known]
