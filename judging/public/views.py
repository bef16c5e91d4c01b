"""Pages anyone can see: the awards and their nominees."""

from flask import abort, render_template
from flask_login import current_user
from sqlalchemy import select

from judging.extensions import db
from judging.lookups import public_award_or_404
from judging.models import Nominee
from judging.public import blueprint
from judging.ranking import METHOD_NAMES
from judging.services import publication, voting
from judging.services import results as results_service
from judging.services.awards import list_awards_with_counts


@blueprint.get("/")
def home():
    """The awards, newest first."""
    current = [
        (a, n) for a, n in list_awards_with_counts(public_only=True) if a.archived_at is None
    ]
    return render_template("public/home.html", awards=current)


@blueprint.get("/awards/<slug>")
def award(slug: str):
    """An award and its nominees, as cards."""
    award = public_award_or_404(slug)
    nominees = [n for n in award.nominees if n.withdrawn_at is None]
    # While voting is open: the ballot's own shortlist (the jury's top N may be fewer).
    ballot = voting.shortlist(award) if voting.voting_is_open(award) else None
    return render_template("public/award.html", award=award, nominees=nominees, ballot=ballot)


@blueprint.get("/awards/<slug>/nominees/<nominee_slug>")
def nominee(slug: str, nominee_slug: str):
    """One nominee in full."""
    award = public_award_or_404(slug)
    nominee = db.one_or_404(
        select(Nominee).where(Nominee.award_id == award.id, Nominee.slug == nominee_slug)
    )
    return render_template("public/nominee.html", award=award, nominee=nominee)


@blueprint.get("/awards/<slug>/results")
def results(slug: str):
    """The published results; before publication, a provisional view for admins only."""
    award = public_award_or_404(slug)
    found = publication.visible_results(award, viewer=current_user)
    if found is None:
        abort(404, "The results of this award are not published yet.")
    document, provisional = found
    return render_template(
        "public/results.html",
        award=award,
        document=document,
        provisional=provisional,
        methods=METHOD_NAMES,
        published=publication.long_date(document["published_at"]),
        vote=results_service.has_vote(document),
        casting=results_service.casting_text(document),
    )
