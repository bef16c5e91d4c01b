"""The voter's pages: a ballot opened from a printed card, a confirmation, a receipt, a check.

No JavaScript: a code and a choice are posted, confirmed on a second page, then cast. A refusal
keeps the code and the choice, says why, and changes nothing.
"""

from flask import current_app, render_template, request
from sqlalchemy import select

from judging.extensions import db, limiter, refused
from judging.lookups import public_award_or_404
from judging.models import Award, Ballot, VotingCredential
from judging.public.views import blueprint
from judging.services import voting

USED_CARD = (
    "This card has already been used to vote. Each card votes once; if you did not vote with "
    "it, please tell the organisers."
)
UNKNOWN_CODE = "This code is not valid for this award. Check it against your card and try again."
NOT_OPEN = "Voting is not open for this award at the moment. Nothing was recorded."
NO_CHOICE = "Choose one of the nominees, then press Vote."
NO_CODE = "Enter the code printed on your card."


def _vote_limit() -> str:
    return current_app.config["VOTE_FAILURES_PER_IP"]


def _no_store(response):
    # A ballot page may carry a card's code (in the link and the form): never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


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
    )
    return _no_store(current_app.make_response((page, status)))


@blueprint.route("/vote/<slug>", methods=["GET", "POST"])
@limiter.limit(_vote_limit, methods=["POST"], deduct_when=refused)
def vote(slug: str):
    """The ballot (GET), its confirmation (POST action=review) and the vote (action=confirm)."""
    award = public_award_or_404(slug)
    nominees = voting.shortlist(award) if voting.voting_is_open(award) else []
    if request.method == "GET":
        code = voting.normalise_code(request.args.get("code", ""))
        return _ballot(award, nominees, code=voting.format_code(code))

    code = request.form.get("code", "").strip()[:64]
    chosen = request.form.get("nominee", "").strip()[:200]
    action = request.form.get("action", "review")
    if action == "change":
        return _ballot(award, nominees, code=code, chosen=chosen)
    if refusal := _refusal(award, code, chosen, nominees):
        message, status = refusal
        return _ballot(award, nominees, code=code, chosen=chosen, error=message, status=status)
    nominee = next(n for n in nominees if n.slug == chosen)
    if action != "confirm":
        page = render_template(
            "public/vote.html", award=award, nominee=nominee, code=code, step="confirm"
        )
        return _no_store(current_app.make_response(page))
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
    db.session.commit()
    page = render_template(
        "public/vote_receipt.html", award=award, nominee=nominee, receipt=ballot.receipt
    )
    return _no_store(current_app.make_response(page))


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
