"""The online public vote: an address is verified by a link, then casts one ballot."""

from flask import abort, current_app, render_template, request
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from judging.extensions import db, limiter
from judging.links import external_url
from judging.lookups import public_award_or_404
from judging.mail import MailError, send_mail
from judging.models import Award
from judging.public.views import blueprint
from judging.services import voting

SIGNATURE = "\n-- \nThis message was sent by the awards' voting application."


class AddressForm(FlaskForm):
    email = EmailField("Your email address", validators=[DataRequired(), Email(), Length(max=254)])
    # A field people never see: a bot that fills in every field gives itself away.
    website = StringField("Leave this empty")


def _award(slug: str) -> Award:
    award = public_award_or_404(slug)
    if not award.online_vote:
        abort(404, "This award has no online vote.")
    return award


def _address_key() -> str:
    try:
        # A keyed hash: the limiter's counters (in Redis) never hold the address.
        address = voting.normalise_email(request.form.get("email", ""))
        return "vote-address:" + voting.keyed_hash(f"email:{address}")
    except voting.VoteError:
        return "vote-address:invalid"


@blueprint.route("/vote/<slug>/online", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@limiter.limit("3 per hour", key_func=_address_key, methods=["POST"])
def online_vote(slug: str):
    """Give an address; a link to the ballot arrives by email (nothing about it is kept)."""
    award = _award(slug)
    form = AddressForm()
    open_ = voting.voting_is_open(award)
    if open_ and form.validate_on_submit():
        if not form.website.data:  # a person: send the link; a bot gets the same page
            token = voting.verification_token(award, form.email.data)
            link = external_url("public.online_ballot", slug=slug, token=token)
            try:
                send_mail(
                    form.email.data,
                    f"Your vote: {award.title}",
                    (
                        f"Here is your link to vote in “{award.title}”. It works for one ballot, "
                        f"within 24 hours:\n\n  {link}\n\nIf you did not ask for it, ignore this "
                        f"message.\n{SIGNATURE}"
                    ),
                )
            except MailError:
                current_app.logger.warning("the voting link could not be sent")
                return render_template(
                    "public/online_vote.html", award=award, form=form, open=open_, failed=True
                ), 503
        return render_template(
            "public/online_vote.html", award=award, form=None, open=open_, sent=True
        )
    return render_template("public/online_vote.html", award=award, form=form, open=open_), (
        422 if form.errors else 200
    )


class BallotForm(FlaskForm):
    nominee = StringField("Your choice")


@blueprint.route("/vote/<slug>/online/<token>", methods=["GET", "POST"])
def online_ballot(slug: str, token: str):
    """The ballot a verified address opens; one ballot per address."""
    award = _award(slug)
    form = BallotForm()
    nominees = voting.shortlist(award)
    error, status = None, 200
    if form.validate_on_submit():
        try:
            ballot = voting.cast_verified(
                award,
                token=token,
                nominee_slug=form.nominee.data or "",
                ip=request.remote_addr or "",
                user_agent=request.user_agent.string,
            )
        except voting.VoteError as exc:
            db.session.rollback()
            error, status = exc.message, exc.status
        else:
            # Found before the commit expires the nominees: after it, each one looked at
            # would be read again (a query per nominee).
            nominee = next(n for n in nominees if n.id == ballot.nominee_id)
            db.session.commit()
            page = render_template(
                "public/online_receipt.html", award=award, ballot=ballot, nominee=nominee
            )
            return page, 201, {"Cache-Control": "no-store"}
    return render_template(
        "public/online_ballot.html",
        award=award,
        form=form,
        nominees=nominees,
        error=error,
        chosen=form.nominee.data,
        open=voting.voting_is_open(award),
    ), status
