"""Pages anyone can see: the awards, their nominees, the results and their printable sheet."""

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from judging import caching, i18n
from judging.auth.access import safe_next
from judging.lookups import award_or_404, nominee_or_404, public_award_or_404
from judging.models import Award, Nominee
from judging.public import blueprint
from judging.services import publication, voting
from judging.services import results as results_service
from judging.services.awards import list_awards_with_counts


def visible_results_or_404(award: Award) -> tuple[dict, bool]:
    """The results document the viewer may see and whether it is provisional; 404 if none.
    The results page, its printable sheet and the admin's ceremony pages all show this one."""
    found = publication.visible_results(award, viewer=current_user)
    if found is None:
        abort(404, _("The results of this award are not published yet."))
    return found


def score_text(score: float | None) -> str:
    return "—" if score is None else i18n.decimal(score)


@blueprint.get("/")
def home():
    """The awards, newest first."""
    current = [
        (a, n) for a, n in list_awards_with_counts(public_only=True) if a.archived_at is None
    ]
    return render_template("public/home.html", awards=current)


@blueprint.get("/language/<code>")
def language(code: str):
    """The language menu: keep the visitor's choice in a cookie, then back to their page."""
    if code not in i18n.PUBLIC_LANGUAGES:
        abort(404, _("This language is not offered."))
    response = redirect(safe_next(request.args.get("next"), url_for("public.home")))
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=i18n.COOKIE_MAX_AGE,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@blueprint.get("/awards/<slug>")
def award(slug: str):
    """An award and its nominees, as cards."""
    if caching.anonymous_visitor() and (found := caching.award_page(slug)):
        tag, loaded = found
        return caching.public_answer(tag, lambda: _award_page(loaded or public_award_or_404(slug)))
    return _award_page(public_award_or_404(slug))


def _award_page(award: Award) -> str:
    nominees = [n for n in award.nominees if n.withdrawn_at is None]
    # While voting is open: the ballot's own shortlist (the jury's top N may be fewer).
    ballot = voting.shortlist(award) if voting.voting_is_open(award) else None
    return render_template("public/award.html", award=award, nominees=nominees, ballot=ballot)


@blueprint.get("/awards/<slug>/nominees/<nominee_slug>")
def nominee(slug: str, nominee_slug: str):
    """One nominee in full."""
    if caching.anonymous_visitor() and (found := caching.nominee_page(slug, nominee_slug)):
        tag, loaded = found
        return caching.public_answer(
            tag,
            lambda: _nominee_page(
                loaded or nominee_or_404(public_award_or_404(slug), nominee_slug)
            ),
        )
    award = public_award_or_404(slug)
    return _nominee_page(nominee_or_404(award, nominee_slug))


def _nominee_page(nominee: Nominee) -> str:
    award = nominee.award
    return render_template("public/nominee.html", award=award, nominee=nominee)


@blueprint.get("/awards/<slug>/results")
def results(slug: str):
    """The published results; before publication, a provisional view for admins only."""
    if caching.anonymous_visitor() and (found := caching.published_results(slug, "page")):
        tag, loaded = found

        def render():  # only on a miss: a 304 or a page from the cache needs no document
            award, snapshot = loaded or caching.published_rows(slug) or abort(404)
            return _results_page(award, publication.published_document(snapshot), False)

        return caching.public_answer(tag, render)
    award = public_award_or_404(slug)
    return _results_page(award, *visible_results_or_404(award))


def _results_page(award: Award, document: dict, provisional: bool) -> str:
    return render_template(
        "public/results.html",
        award=award,
        document=document,
        provisional=provisional,
        methods=results_service.method_names(),
        published=publication.long_date(document["published_at"]),
        vote=results_service.has_vote(document),
        casting=results_service.casting_text(document),
    )


@blueprint.get("/awards/<slug>/results/sheet")
def results_sheet(slug: str):
    """The results on one A4 sheet to print: ranking, scores, method, criteria, digest."""
    award = award_or_404(slug)
    document, provisional = visible_results_or_404(award)
    total_weight = sum(c["weight"] for c in document["criteria"]) or 1
    return render_template(
        "public/results_sheet.html",
        award=award,
        document=document,
        provisional=provisional,
        method=results_service.method_names().get(document["method"], document["method"]),
        date=publication.long_date(document["published_at"]),
        total_weight=total_weight,
        score_text=score_text,
        vote=results_service.has_vote(document),
        weighted=bool((document.get("vote") or {}).get("vote_weight")),
        casting=results_service.casting_text(document),
    )
