"""Finding the rows a URL names, for views: the row, or a 404 page."""

from sqlalchemy import select

from judging.extensions import db
from judging.models import Award


def award_or_404(slug: str) -> Award:
    return db.one_or_404(select(Award).where(Award.slug == slug))
