"""Reading awards for the public pages and the API."""

from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Award, Nominee, User
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError


def list_awards_with_counts(*, public_only: bool = False) -> list[tuple[Award, int]]:
    """Every award (or only the public ones), newest first, with its number of nominees (one
    query)."""
    counts = select(Nominee.award_id, func.count().label("n")).group_by(Nominee.award_id).subquery()
    query = (
        select(Award, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.award_id == Award.id)
        .order_by(Award.created_at.desc(), Award.id.desc())
    )
    if public_only:
        query = query.where(Award.public)
    rows = db.session.execute(query)
    return [(award, count) for award, count in rows]


class TransitionError(ServiceError):
    """The award is not in a state that allows this step."""


# Which status each step leaves from, and where it goes.
TRANSITIONS = {
    "open_scoring": ({"draft", "closed"}, "scoring"),
    "close_scoring": ({"scoring"}, "closed"),
    "open_voting": ({"closed"}, "voting"),
    "close_voting": ({"voting"}, "voting_closed"),
}


def transition(award: Award, step: str, *, actor: User | None) -> None:
    """Move the award through its lifecycle; every move is audited."""
    sources, target = TRANSITIONS[step]
    if award.status not in sources:
        status = award.status.replace("_", " ")
        raise TransitionError(f"{award.title} is {status}; it cannot go to {target} from there.")
    before, award.status = award.status, target
    payload: dict[str, str | bool] = {"before": before, "after": target}
    if step == "open_scoring" and not award.public:
        # Jurors are told about it: from now on the award is public.
        award.public = True
        payload["made_public"] = True
    db.session.flush()
    if step == "close_scoring":
        # The state of every score at closing, so that a later change is detectable.
        from judging.services.publication import scores_digest

        payload["scores_digest"] = scores_digest(award)
    record_event(f"award.{step}", f"award:{award.slug}", payload, actor=actor)


def make_public(award: Award, *, actor: User | None) -> bool:
    """List the award on / and in the API, its pages open to all; False if it already was."""
    if award.public:
        return False
    award.public = True
    db.session.flush()
    record_event("award.made_public", f"award:{award.slug}", {}, actor=actor)
    return True


def award_by_slug(slug: str) -> Award | None:
    return db.session.scalar(queries.award_by_slug(slug))
