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
from sqlalchemy import select

from judging.extensions import db, limiter, refused
from judging.lookups import public_award_or_404
from judging.models import Award, Ballot, VotingCredential
from judging.public import blueprint
from judging.security import no_store
from judging.services import voting

USED_CARD = (
    "This card has already been used to vote. Each card votes once; if you did not vote with "
    "it, please tell the organisers."
)
UNKNOWN_CODE = "This code is not valid for this award. Check it against your card and try again."
NOT_OPEN = "Voting is not open for this award at the moment. Nothing was recorded."
NO_CHOICE = "Choose one of the nominees, then press Vote."
NO_CODE = "Enter the code printed on your card."


PENDING = "vote_pending"  # the choice waiting for confirmation: {award, code, nominee}
RECEIPTS = "vote_receipts"  # the receipts of the ballots cast in this session (the last few)


def remember_receipt(receipt: str) -> None:
    session[RECEIPTS] = [*session.get(RECEIPTS, [])[-9:], receipt]


def to_receipt(award: Award, receipt: str):
    """After a ballot is cast: to its receipt page (303: a reload shows it, and posts nothing)."""
    remember_receipt(receipt)
    return redirect(url_for("public.vote_receipt", slug=award.slug, receipt=receipt), 303)


def _vote_limit() -> str:
    return current_app.config["VOTE_FAILURES_PER_IP"]


def _refusal(award: Award, code: str, nominee_slug: str, nominees) -> tuple[str, int] | None:
    """Why this code and choice cannot vote now (message, status), or None: read-only."""
    if not voting.voting_is_open(award):
        return NOT_OPEN, 409
    if not voting.normalise_code(code):
        return NO_CODE, 422
    credential_id = db.session.scalar(
        select(VotingCredential.id).where(
            VotingCredential.award_id == award.id,
            VotingCredential.secret_hash == voting.keyed_hash(voting.normalise_code(code)),
        )
    )
    if credential_id is None:
        return UNKNOWN_CODE, 403
    if db.session.scalar(select(Ballot.id).where(Ballot.credential_id == credential_id)):
        return USED_CARD, 409
    if not any(n.slug == nominee_slug for n in nominees):
        return NO_CHOICE, 422
    return None


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
    if refusal := _refusal(award, code, chosen, nominees):
        message, status = refusal
        return _ballot(award, nominees, code=code, chosen=chosen, error=message, status=status)
    if action != "confirm":
        session[PENDING] = {"award": award.id, "code": code, "nominee": chosen}
        return redirect(url_for("public.vote_confirm", slug=slug), 303)
    try:
        ballot = voting.cast(
            award,
            code=code,
            nominee_slug=chosen,
            ip=request.remote_addr or "",
            user_agent=request.user_agent.string,
        )
    except voting.VoteError as exc:  # lost a race with another phone holding the same card
        db.session.rollback()
        message = USED_CARD if exc.status == 409 and voting.voting_is_open(award) else exc.message
        return _ballot(award, nominees, code=code, chosen=chosen, error=message, status=exc.status)
    receipt = ballot.receipt
    db.session.commit()
    session.pop(PENDING, None)
    return to_receipt(award, receipt)


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
        abort(404, "No ballot of this award has this receipt.")
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
