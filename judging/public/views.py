"""Pages anyone can see: the awards and their nominees."""

from flask import Blueprint, render_template
from sqlalchemy import select

from judging.extensions import db
from judging.models import Award, Nominee
from judging.services.awards import list_awards_with_counts

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def home():
    """The awards, newest first."""
    current = [(a, n) for a, n in list_awards_with_counts() if a.archived_at is None]
    return render_template("public/home.html", awards=current)


@blueprint.get("/awards/<slug>")
def award(slug: str):
    """An award and its nominees, as cards."""
    award = db.one_or_404(select(Award).where(Award.slug == slug))
    return render_template("public/award.html", award=award, nominees=award.nominees)


@blueprint.get("/awards/<slug>/nominees/<nominee_slug>")
def nominee(slug: str, nominee_slug: str):
    """One nominee in full."""
    nominee = db.one_or_404(
        select(Nominee).join(Nominee.award).where(Award.slug == slug, Nominee.slug == nominee_slug)
    )
    return render_template("public/nominee.html", award=nominee.award, nominee=nominee)
