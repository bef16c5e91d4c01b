"""The voter's pages: a ballot opened from a printed card, a confirmation, a receipt, a check.

No JavaScript: a code and a choice are posted, confirmed on a second page, then cast. A refusal
keeps the code and the choice, says why, and changes nothing.

Every POST that succeeds answers with a redirect to a GET page (Post/Redirect/Get), so that a
reload or the Back button never posts again: the choice to confirm is kept in the voter's
session (never in a URL: it holds the card's code), and the receipt has its own address
(/vote/<award>/receipt/<receipt>). The receipt page says whom the ballot was for only on the
device that cast it (its session remembers the receipt); anyone else with the address sees
what the public check says, counted or void.
"""

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from judging.extensions import limiter, refused
from judging.lookups import public_award_or_404
from judging.models import Award
from judging.outcome import commit_or_explain
from judging.public import blueprint
from judging.security import no_store
from judging.services import voting

PENDING = "vote_pending"  # the choice waiting for confirmation: {award, code, nominee}
RECEIPTS = "vote_receipts"  # the receipts of the ballots cast in this session (the last few)


def remember_receipt(receipt: str) -> None:
    session[RECEIPTS] = [*session.get(RECEIPTS, [])[-9:], receipt]


def to_receipt(slug: str, receipt: str):
    """After a ballot is cast: to its receipt page (303: a reload shows it, and posts nothing).
    Takes the award's slug, not the award: the commit has expired it, and reading `award.slug`
    would load it again (a SELECT per ballot)."""
    remember_receipt(receipt)
    return redirect(url_for("public.vote_receipt", slug=slug, receipt=receipt), 303)


def _vote_limit() -> str:
    return current_app.config["VOTE_FAILURES_PER_IP"]


def _last_receipt(award: Award) -> str | None:
    """The receipt of the latest ballot cast for this award from this session, if any."""
    held = session.get(RECEIPTS)
    if not held:
        return None
    ballot = voting.ballot_by_receipt(award, held[-1])
    return ballot.receipt if ballot else None


def _ballot(award, nominees, *, code="", chosen="", error=None, status=200):
    page = render_template(
        "public/vote.html",
        award=award,
        nominees=nominees,
        is_open=voting.voting_is_open(award),
        code=code,
        chosen=chosen,
        error=error,
        step="choose",
        last_receipt=_last_receipt(award),
    )
    return page, status


def _pending(award: Award) -> dict:
    pending = session.get(PENDING) or {}
    return pending if pending.get("award") == award.id else {}


@blueprint.route("/vote/<slug>", methods=["GET", "POST"])
@limiter.limit(_vote_limit, methods=["POST"], deduct_when=refused)
@no_store  # a ballot page may carry a card's code (in the link and the form): never cached
def vote(slug: str):
    """The ballot (GET), its confirmation (POST action=review, then GET /confirm) and the vote
    (action=confirm, then GET the receipt)."""
    award = public_award_or_404(slug)
    nominees = voting.shortlist(award) if voting.voting_is_open(award) else []
    if request.method == "GET":
        pending = _pending(award)
        code = voting.normalise_code(request.args.get("code", "") or pending.get("code", ""))
        return _ballot(
            award, nominees, code=voting.format_code(code), chosen=pending.get("nominee", "")
        )

    code = request.form.get("code", "").strip()[:64]
    chosen = request.form.get("nominee", "").strip()[:200]
    action = request.form.get("action", "review")
    if action == "change":
        session[PENDING] = {"award": award.id, "code": code, "nominee": chosen}
        return redirect(url_for("public.vote", slug=slug), 303)
    if action != "confirm":
        try:  # the same checks, in the same words, as the vote itself: nothing is written
            voting.check_ballot(award, code, chosen, nominees)
        except voting.VoteError as exc:
            return _ballot(
                award, nominees, code=code, chosen=chosen, error=exc.message, status=exc.status
            )
        session[PENDING] = {"award": award.id, "code": code, "nominee": chosen}
        return redirect(url_for("public.vote_confirm", slug=slug), 303)
    with commit_or_explain(explain=False) as attempt:
        receipt = voting.cast(
            award,
            code=code,
            nominee_slug=chosen,
            ip=request.remote_addr or "",
            user_agent=request.user_agent.string,
            nominees=nominees,
        ).receipt  # read before the commit expires it
    if attempt.error is not None:
        error = attempt.error
        return _ballot(
            award, nominees, code=code, chosen=chosen, error=error.message, status=error.status
        )
    session.pop(PENDING, None)
    return to_receipt(slug, receipt)


@blueprint.get("/vote/<slug>/confirm")
@no_store
def vote_confirm(slug: str):
    """Check your vote: the choice waiting in this session, to confirm or change."""
    award = public_award_or_404(slug)
    pending = _pending(award)
    nominees = voting.shortlist(award) if voting.voting_is_open(award) else []
    nominee = next((n for n in nominees if n.slug == pending.get("nominee")), None)
    if nominee is None:  # nothing waiting (already cast, or another device): the ballot
        return redirect(url_for("public.vote", slug=slug), 303)
    page = render_template(
        "public/vote.html", award=award, nominee=nominee, code=pending["code"], step="confirm"
    )
    return page


@blueprint.get("/vote/<slug>/receipt/<receipt>")
@no_store
def vote_receipt(slug: str, receipt: str):
    """A ballot's receipt: in full on the device that cast it, else only counted or void."""
    award = public_award_or_404(slug)
    ballot = voting.ballot_by_receipt(award, receipt[:32])
    if ballot is None:
        abort(404, _("No ballot of this award has this receipt."))
    mine = ballot.receipt in session.get(RECEIPTS, [])
    nominee = next((n for n in award.nominees if n.id == ballot.nominee_id), None) if mine else None
    page = render_template(
        "public/vote_receipt.html",
        award=award,
        nominee=nominee,
        receipt=ballot.receipt,
        voided=ballot.voided_at is not None,
    )
    return page


@blueprint.get("/vote/<slug>/check")
def vote_check(slug: str):
    """Whether the ballot with a receipt is counted or void; nothing else about it."""
    award = public_award_or_404(slug)
    receipt = request.args.get("receipt", "").strip()[:32]
    state, status = None, 200
    if receipt:
        ballot = voting.ballot_by_receipt(award, receipt)
        if ballot is None:
            state, status = "unknown", 404
        else:
            state = "counted" if ballot.voided_at is None else "voided"
    page = render_template("public/vote_check.html", award=award, receipt=receipt, state=state)
    return page, status
