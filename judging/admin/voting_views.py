"""The vote, administrator's side: its settings (shortlist, weights, live tally), the ceremony's
access codes and their printable cards, the ballots and voiding them.

Plain access codes are never stored, never logged, never put in a URL. A batch is derived from
a random seed with the app's secret key (voting.batch_codes); the seed lives only in the
administrator's session, so the codes page (a GET after the POST that generates them) shows the
same batch on a reload, and a reload issues nothing.
"""

import math
import secrets

import segno
from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from judging.admin import blueprint
from judging.admin.forms import CodesForm, VoidForm, VoteSettingsForm
from judging.extensions import db
from judging.forms import EmptyForm
from judging.links import external_url
from judging.lookups import award_or_404
from judging.models import Award, Ballot, VotingCredential
from judging.outcome import commit_or_explain
from judging.security import no_store
from judging.services import vote_admin, voting

SETTINGS_EDITABLE = voting.RULES_EDITABLE
BALLOTS_PER_PAGE = 50
CARDS_PER_PAGE = 8
# The weight the form suggests while the vote still counts for nothing (the award's default is
# 100 % jury, 0 % vote): a vote the ceremony takes part in should count, but how much is the
# administrator's decision, so it is only pre-filled and counts once saved.
SUGGESTED_VOTE_WEIGHT = 30


def _tally_visible(award: Award) -> bool:
    return award.status in ("voting_closed", "published") or (
        award.status == "voting" and award.live_tally
    )


def _settings_form(award: Award) -> VoteSettingsForm:
    suggest = award.vote_weight == 0 and award.status in SETTINGS_EDITABLE
    vote_weight = SUGGESTED_VOTE_WEIGHT if suggest else award.vote_weight
    return VoteSettingsForm(
        shortlist="top" if award.vote_top_n else "all",
        top_n=award.vote_top_n,
        online_vote=award.online_vote,
        jury_weight=100 - vote_weight,
        vote_weight=vote_weight,
    )


def _addresses(award: Award) -> dict:
    """The addresses voters are given: the ballot page and, with an online vote, its page."""
    ballot = external_url("public.vote", slug=award.slug)
    found = {"ballot": ballot, "ballot_qr": _qr_svg(ballot, "vote-room-qr")}
    if award.online_vote:
        online = external_url("public.online_vote", slug=award.slug)
        found.update(online=online, online_qr=_qr_svg(online, "vote-room-qr"))
    return found


def _ballot_rows(award: Award) -> dict:
    """One page of the ballots, newest first, or those whose receipt contains the search."""
    search = voting.normalise_code(request.args.get("receipt", ""))[:16]
    query = select(Ballot).where(Ballot.award_id == award.id)
    if search:
        query = query.where(Ballot.receipt.contains(search, autoescape=True))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, math.ceil(total / BALLOTS_PER_PAGE))
    asked = request.args.get("page", "1")
    page = min(max(int(asked), 1), pages) if asked.isdigit() else 1
    rows = db.session.scalars(
        query.order_by(Ballot.id.desc())
        .limit(BALLOTS_PER_PAGE)
        .offset((page - 1) * BALLOTS_PER_PAGE)
    ).all()
    return {"rows": rows, "total": total, "page": page, "pages": pages, "search": search}


def _page(award: Award, *, settings_form=None, codes_form=None, status: int = 200):
    count = voting.tally(award)
    visible = _tally_visible(award)
    nominees = {n.id: n for n in award.nominees}
    ballots = _ballot_rows(award)
    shortlisted = voting.shortlist(award)
    ranked = sorted(
        ((n, count["votes"].get(n.slug, 0)) for n in shortlisted),
        key=lambda pair: (-pair[1], pair[0].position),
    )
    return render_template(
        "admin/voting.html",
        award=award,
        editable=award.status in SETTINGS_EDITABLE,
        settings_form=settings_form or _settings_form(award),
        codes_form=codes_form or CodesForm(),
        action_form=EmptyForm(),
        void_form=VoidForm(),
        count=count,
        codes_issued=db.session.scalar(
            select(func.count())
            .select_from(VotingCredential)
            .where(VotingCredential.award_id == award.id, VotingCredential.kind == "code")
        ),
        tally_visible=visible,
        ranked=ranked if visible else None,
        shortlist_size=len(shortlisted),
        ballots=ballots["rows"],
        ballot_list=ballots,
        nominees=nominees,
        shortlisted=shortlisted,
        running=sum(1 for n in award.nominees if n.withdrawn_at is None),
        addresses=_addresses(award),
    ), status


@blueprint.get("/awards/<slug>/voting")
def voting_page(slug: str):
    """The vote: its rules, its codes, the ballots cast and, when it may be seen, the tally."""
    return _page(award_or_404(slug))


@blueprint.post("/awards/<slug>/voting/settings")
def voting_settings(slug: str):
    """The shortlist and the weights, fixed once voting opens."""
    award = award_or_404(slug)
    form = VoteSettingsForm()
    # Once voting has opened the service refuses whatever was posted (409); before, the form
    # must be right first.
    if award.status in SETTINGS_EDITABLE and not form.validate_on_submit():
        return _page(award, settings_form=form, status=422)
    changed = False
    with commit_or_explain("The vote's settings are saved.", form=form) as attempt:
        changed = voting.set_rules(
            award,
            vote_top_n=form.top_n.data if form.shortlist.data == "top" else None,
            vote_weight=form.vote_weight.data,
            online_vote=bool(form.online_vote.data),
            actor=current_user,
        )
        if not changed:
            attempt.done = None
    if attempt.error is not None:
        return _page(award, settings_form=form, status=attempt.error.status)
    if not changed:
        flash("Nothing changed.", "info")
    return redirect(url_for("admin.voting_page", slug=slug))


@blueprint.post("/awards/<slug>/voting/live-tally")
def voting_live_tally(slug: str):
    """Turn the live tally (the ceremony screen) on or off."""
    award = award_or_404(slug)
    if EmptyForm().validate_on_submit():
        with commit_or_explain() as attempt:
            on = vote_admin.toggle_live_tally(award, actor=current_user)
            attempt.done = (
                "The live tally is on: it is shown while voting is open."
                if on
                else "The live tally is off: it stays hidden until voting closes."
            )
    return redirect(url_for("admin.voting_page", slug=slug))


@blueprint.post("/awards/<slug>/voting/codes")
def voting_codes(slug: str):
    """Generate N one-time access codes, then show them on their own page (a reload of it
    shows the same batch and issues nothing)."""
    award = award_or_404(slug)
    form = CodesForm()
    if not form.validate_on_submit():
        return _page(award, codes_form=form, status=422)
    seed, batch = voting.new_batch_seed(), secrets.token_hex(4)
    with commit_or_explain(form=form) as attempt:
        voting.generate_codes(award, form.count.data, actor=current_user, seed=seed)
    if attempt.failed:
        return _page(award, codes_form=form, status=422)
    session["vote_codes"] = {
        "award": award.id,
        "batch": batch,
        "seed": seed,
        "count": form.count.data,
    }
    return redirect(url_for("admin.voting_batch", slug=slug, batch=batch), 303)


def _batch(award: Award, batch: str) -> list[str]:
    """The codes of a batch this session generated; 404 for any other."""
    held = session.get("vote_codes") or {}
    if held.get("award") != award.id or held.get("batch") != batch:
        abort(
            404,
            "This batch of codes is no longer shown: codes are shown only in the session that "
            "generated them, until it generates another batch. They stay valid.",
        )
    return [voting.format_code(c) for c in voting.batch_codes(award, held["seed"], held["count"])]


@blueprint.get("/awards/<slug>/voting/codes/<batch>")
@no_store
def voting_batch(slug: str, batch: str):
    """The batch of codes just generated, to print or download."""
    award = award_or_404(slug)
    codes = _batch(award, batch)
    return render_template(
        "admin/voting.html",
        award=award,
        codes=codes,
        batch=batch,
        form=EmptyForm(),
        addresses=_addresses(award),
    )


@blueprint.get("/awards/<slug>/voting/codes/<batch>/codes.txt")
@no_store
def voting_batch_download(slug: str, batch: str):
    """The same batch as a text file, one code a line."""
    award = award_or_404(slug)
    codes = _batch(award, batch)
    response = make_response("\n".join(codes) + "\n")
    response.mimetype = "text/plain"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{award.slug}-codes-{batch}.txt"'
    )
    return response


def ballot_url(award: Award, code: str) -> str:
    """The ballot page with the code filled in (what a card's QR code leads to)."""
    return external_url("public.vote", slug=award.slug, code=code)


def _qr_svg(url: str, svgclass: str = "vote-card-qr") -> str:
    return segno.make(url, error="m").svg_inline(
        omitsize=True, svgclass=svgclass, lineclass=None, border=2
    )


@blueprint.post("/awards/<slug>/voting/cards")
@no_store
def voting_cards(slug: str):
    """The codes just generated as printable cards (A4, 8 a page), each with a QR code.

    The codes come back from the codes page in the form's body (never in a URL); only codes
    valid for this award are printed.
    """
    award = award_or_404(slug)
    form = EmptyForm()
    wanted = [c for c in request.form.getlist("code") if c.strip()][: voting.MAX_CODES]
    if not form.validate_on_submit() or not wanted:
        return render_template("admin/vote_cards.html", award=award, pages=[], refused=0), 422
    codes = vote_admin.issued_codes(award, wanted)
    cards = [{"code": code, "qr": _qr_svg(ballot_url(award, code))} for code in codes]
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    return render_template(
        "admin/vote_cards.html",
        award=award,
        pages=pages,
        refused=len(wanted) - len(codes),
        address=external_url("public.vote", slug=award.slug),
    )


@blueprint.post("/awards/<slug>/voting/void")
def voting_void(slug: str):
    """Void one ballot, with a reason, after a confirmation page: it stays listed, marked,
    and is no longer counted."""
    award = award_or_404(slug)
    form = VoidForm()
    if not form.validate_on_submit():
        flash("Give the reason for voiding the ballot.", "error")
        return _page(award, status=422)
    ballot = db.session.scalar(
        select(Ballot).where(Ballot.id == form.ballot.data, Ballot.award_id == award.id)
    )
    if ballot is None:
        flash("There is no such ballot for this award.", "error")
        return _page(award, status=404)
    if ballot.voided_at is None and request.form.get("confirmed") != "yes":
        return render_template(
            "admin/confirm.html",
            award=award,
            title=f"Void ballot {ballot.receipt}",
            explanation=[
                f"Reason: {form.reason.data.strip()}",
                "The ballot stays listed, marked void with this reason, and is no longer "
                "counted. The voter's receipt check will say it was voided. This cannot be "
                "undone, and it is recorded in the audit log.",
            ],
            danger=True,
            form=form,
            confirm_label=f"Yes, void ballot {ballot.receipt}",
            hidden={"ballot": ballot.id, "reason": form.reason.data.strip()},
            back=url_for("admin.voting_page", slug=slug, receipt=ballot.receipt),
        )
    receipt = ballot.receipt
    with commit_or_explain(f"Ballot {receipt} is void; it is no longer counted.") as attempt:
        voting.void(ballot, reason=form.reason.data.strip(), actor=current_user)
    if attempt.error is not None:
        status = attempt.error.status
        return _page(award, status=status if status != 422 else 409)
    return redirect(url_for("admin.voting_page", slug=slug))
