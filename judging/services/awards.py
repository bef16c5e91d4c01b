"""Reading awards for the public pages and the API."""

from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Award, Nominee


def list_awards_with_counts() -> list[tuple[Award, int]]:
    """Every award, newest first, with its number of nominees (one query)."""
    counts = select(Nominee.award_id, func.count().label("n")).group_by(Nominee.award_id).subquery()
    rows = db.session.execute(
        select(Award, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.award_id == Award.id)
        .order_by(Award.created_at.desc(), Award.id.desc())
    )
    return [(award, count) for award, count in rows]
