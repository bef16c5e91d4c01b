"""Finding the rows a URL names, for views: the row, or a 404 page."""

from flask import abort
from flask_login import current_user
from sqlalchemy import and_, select

from judging.extensions import db
from judging.models import Award, Nominee
from judging.services import queries


def award_or_404(slug: str, description: str | None = None) -> Award:
    return db.one_or_404(queries.award_by_slug(slug), description=description)


def sees_award(award: Award) -> bool:
    """Whether the current visitor may see the award's public pages: anyone once it is public;
    before that, administrators only (to check it before making it public)."""
    return award.public or (current_user.is_authenticated and current_user.is_admin)


def public_award_or_404(slug: str, description: str | None = None) -> Award:
    """The award a public page or the public API names; 404 when it is not public, exactly as
    when there is no such award (its existence is not revealed)."""
    award = db.session.scalar(queries.award_by_slug(slug))
    if award is None or not sees_award(award):
        abort(404, description)
    return award


def nominee_or_404(award: Award, slug: str, description: str | None = None) -> Nominee:
    """The award's nominee with this slug; 404 when the award has none."""
    return db.one_or_404(queries.nominee_by_slug(award, slug), description=description)


def award_with_nominee_or_404(
    slug: str, nominee_slug: str, description: str | None = None
) -> tuple[Award, Nominee | None]:
    """The award (404 when there is none) and its nominee with `nominee_slug`, or None: both in
    one query. The caller answers 404 for a missing nominee once it has made the checks that
    come first (a juror of another award is told 403, whatever the nominee)."""
    found = db.session.execute(
        select(Award, Nominee)
        .outerjoin(Nominee, and_(Nominee.award_id == Award.id, Nominee.slug == nominee_slug))
        .where(Award.slug == slug)
    ).first()
    if found is None:
        abort(404, description)
    award, nominee = found
    return award, nominee
