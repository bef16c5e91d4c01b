"""The online public vote: an address is verified by a link, then casts one ballot.

The same steps as the card ballot: choose, check your vote, confirm, then the receipt at its own
address (each successful POST redirects to a GET page). A link that has already voted says so as
soon as it is opened, and offers the receipt check.

Asking for a link again after having voted sends no new usable link: the mail says that this
address has already voted and how to check the ballot. The page answers exactly the same
("check your inbox") whether the address has voted or not, and whether it exists or not, so
someone typing another person's address learns nothing; only the mailbox's owner learns, by
mail, that it has voted.
"""

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from judging.extensions import db, limiter
from judging.links import external_url
from judging.lookups import public_award_or_404
from judging.models import Award
from judging.outcome import commit_or_explain
from judging.public import blueprint
from judging.public.forms import AddressForm, BallotForm
from judging.public.vote_views import PENDING, to_receipt
from judging.security import no_store
from judging.services import voting
from judging.services.outbox import queue_mail


def _award(slug: str) -> Award:
    award = public_award_or_404(slug)
    if not award.online_vote:
        abort(404, _("This award has no online vote."))
    return award


def _address_key() -> str:
    try:
        # A keyed hash: the limiter's counters (in Redis) never hold the address.
        address = voting.normalise_email(request.form.get("email", ""))
        return "vote-address:" + voting.keyed_hash(f"email:{address}")
    except voting.VoteError:
        return "vote-address:invalid"


@blueprint.route("/vote/<slug>/online", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ONLINE_VOTE_LINKS_PER_IP"], methods=["POST"])
@limiter.limit("3 per hour", key_func=_address_key, methods=["POST"])
def online_vote(slug: str):
    """Give an address; a link to the ballot arrives by email (nothing about it is kept)."""
    award = _award(slug)
    form = AddressForm()
    open_ = voting.voting_is_open(award)
    if open_ and form.validate_on_submit():
        if not form.website.data:  # a person: queue the link; a bot gets the same page
            queue_mail(
                form.email.data,
                _("Your vote: %(award)s", award=award.title),
                _mail(award, form.email.data),
                kind="vote_link",
            )
            db.session.commit()
        return render_template(
            "public/online_vote.html", award=award, form=None, open=open_, sent=True
        )
    return render_template("public/online_vote.html", award=award, form=form, open=open_), (
        422 if form.errors else 200
    )


def _signature() -> str:
    return "\n-- \n" + _("This message was sent by the awards' voting application.")


def _mail(award: Award, address: str) -> str:
    """A link to the ballot; for an address that has already voted, no link but how to check.

    In the language of the page the link was asked from (whole paragraphs, for translators)."""
    if voting.ballot_of_credential(award, voting.address_hash(address)) is not None:
        check = external_url("public.vote_check", slug=award.slug)
        paragraphs = [
            _(
                "This address has already voted in “%(award)s”: each address votes once, so no "
                "new link is sent.",
                award=award.title,
            ),
            _(
                "To check that your ballot is counted, enter the receipt you were shown after "
                "voting here:"
            ),
            f"  {check}",
            _("If you did not vote, or did not ask for a link, please tell the organisers."),
        ]
    else:
        token = voting.verification_token(award, address)
        link = external_url("public.online_ballot", slug=award.slug, token=token)
        paragraphs = [
            _(
                "Here is your link to vote in “%(award)s”. It works for one ballot, within 24 "
                "hours:",
                award=award.title,
            ),
            f"  {link}",
            _("If you did not ask for it, ignore this message."),
        ]
    return "\n\n".join(paragraphs) + "\n" + _signature()


ONLINE_PENDING = PENDING + "_online"


def _online_page(award, token, *, step, status=200, **context):
    page = render_template(
        "public/online_ballot.html",
        award=award,
        token=token,
        step=step,
        open=voting.voting_is_open(award),
        **context,
    )
    return page, status


def _link_state(award: Award, token: str):
    """The page for a link that cannot vote (bad, expired, used), or None when it can."""
    try:
        credential = voting.verified_hash(award, token)
    except voting.VoteError as exc:
        return _online_page(award, token, step="invalid", error=exc.message, status=exc.status)
    if voting.ballot_of_credential(award, credential) is not None:
        return _online_page(award, token, step="used", status=409)
    return None


@blueprint.route("/vote/<slug>/online/<token>", methods=["GET", "POST"])
@no_store
def online_ballot(slug: str, token: str):
    """The ballot a verified address opens (GET), its check (POST action=review, then GET
    /confirm) and the vote (action=confirm, then GET the receipt); one ballot per address."""
    award = _award(slug)
    form = BallotForm()
    nominees = voting.shortlist(award) if voting.voting_is_open(award) else []
    if request.method == "GET" or not form.validate_on_submit():
        if request.method == "POST":
            abort(400, _("The form has expired. Reload the page and try again."))
        if refusal := _link_state(award, token):
            return refusal
        held = session.get(ONLINE_PENDING) or {}
        chosen = held.get("nominee") if held.get("token") == token else None
        return _online_page(
            award, token, step="choose", form=form, nominees=nominees, chosen=chosen
        )
    chosen = (form.nominee.data or "").strip()[:200]
    action = request.form.get("action", "review")
    if action == "change":
        session[ONLINE_PENDING] = {"token": token, "nominee": chosen}
        return redirect(url_for("public.online_ballot", slug=slug, token=token), 303)
    if refusal := _link_state(award, token):
        return refusal

    def refuse(message: str, status: int):
        """The ballot again, the choice kept, with why nothing was recorded."""
        return _online_page(
            award,
            token,
            step="choose",
            form=form,
            nominees=nominees,
            chosen=chosen,
            error=message,
            status=status,
        )

    if not any(n.slug == chosen for n in nominees):
        if voting.voting_is_open(award):
            return refuse(_(voting.NO_CHOICE), 422)
        return refuse(_("The online vote is not open for this award."), 409)
    if action != "confirm":
        session[ONLINE_PENDING] = {"token": token, "nominee": chosen}
        return redirect(url_for("public.online_confirm", slug=slug, token=token), 303)
    with commit_or_explain(explain=False) as attempt:
        receipt = voting.cast_verified(
            award,
            token=token,
            nominee_slug=chosen,
            ip=request.remote_addr or "",
            user_agent=request.user_agent.string,
            nominees=nominees,
        ).receipt  # read before the commit expires it
    if attempt.error is not None:
        return refuse(attempt.error.message, attempt.error.status)
    session.pop(ONLINE_PENDING, None)
    return to_receipt(slug, receipt)


@blueprint.get("/vote/<slug>/online/<token>/confirm")
@no_store
def online_confirm(slug: str, token: str):
    """Check your vote: the choice waiting in this session, to confirm or change."""
    award = _award(slug)
    if refusal := _link_state(award, token):
        return refusal
    held = session.get(ONLINE_PENDING) or {}
    nominees = voting.shortlist(award) if voting.voting_is_open(award) else []
    nominee = next((n for n in nominees if n.slug == held.get("nominee")), None)
    if held.get("token") != token or nominee is None:
        return redirect(url_for("public.online_ballot", slug=slug, token=token), 303)
    return _online_page(award, token, step="confirm", form=BallotForm(), nominee=nominee)
