"""Administration: the awards overview, people (invitations, roles, jury), settings."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from judging.admin import blueprint
from judging.admin.forms import (
    InviteForm,
    JuryAwardsForm,
    LiftRecusalForm,
    RoleForm,
    TwoFactorPolicyForm,
)
from judging.auth.access import (
    REQUIRE_ADMIN_2FA,
    confirm_identity,
    fresh_login_required,
    login_is_fresh,
)
from judging.extensions import db
from judging.forms import EmptyForm, render_form
from judging.lookups import award_or_404
from judging.mail import MailError
from judging.models import AccountToken, Award, JuryMember, Nominee, Recusal, Setting, User
from judging.services import accounts, backup, evaluations, queries
from judging.services.audit import record_event
from judging.services.awards import TransitionError, list_awards_with_counts, transition
from judging.services.notifications import notify_jury, send_invitation
from judging.services.progress import jury_progress, recusals_of


def _award_choices() -> list[tuple[str, str]]:
    """(slug, title) of every award, by title."""
    return [(a.slug, a.title) for a in db.session.scalars(select(Award).order_by(Award.title))]


def _as_options(choices: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in choices]


@blueprint.get("/")
def index():
    """The awards and where each one stands."""
    return render_template("admin/index.html", awards=list_awards_with_counts())


@blueprint.get("/awards/<slug>")
def award(slug: str):
    """One award: its status and the next step, jurors' progress, conflicts of interest."""
    return award_page(slug)


def award_page(slug: str):
    """One award: its status and the next step, jurors' progress, conflicts of interest."""
    award = award_or_404(slug)
    return render_template(
        "admin/award.html",
        award=award,
        jurors=jury_progress(award),
        recusals=recusals_of(award),
        action_form=EmptyForm(),
        lift_form=LiftRecusalForm(),
    )


# What each step does, said on the confirmation page before it is taken.
STEP_EXPLANATIONS = {
    "open_scoring": (
        "Open scoring",
        [
            "Every juror of this award can then score its nominees, until you close scoring "
            "(or the scoring window set in the award's settings ends).",
            "Weights and scales lock as soon as the first score is saved.",
            "The award becomes public if it is not yet: listed on the home page and in the API, "
            "its nominees' pages open to everyone.",
        ],
        False,
    ),
    "close_scoring": (
        "Close scoring",
        [
            "From then on no juror can save or change a score, and drafts not submitted by then "
            "do not count.",
            "You can reopen scoring later if needed; both steps are recorded in the audit log.",
        ],
        True,
    ),
    "open_voting": (
        "Open voting",
        [
            "Voters can then cast one ballot each, until you close voting (or the voting "
            "window ends). Scoring stays closed.",
            "The shortlist and the weights of jury and vote are fixed from then on: check them "
            "on the Vote page first.",
        ],
        False,
    ),
    "close_voting": (
        "Close voting",
        [
            "From then on no ballot is accepted; the tally can be seen and the results "
            "reviewed and published.",
            "Voting cannot be reopened; both steps are recorded in the audit log.",
        ],
        True,
    ),
}

VOTING_STEPS = ("open_voting", "close_voting")
# Steps before which the confirmation page reminds the administrator to make a backup.
CLOSING_STEPS = ("close_scoring", "close_voting")


@blueprint.post("/awards/<slug>/<any(open_scoring, close_scoring, open_voting, close_voting):step>")
def award_transition(slug: str, step: str):
    """Open or close scoring or voting, after a confirmation page that says what will happen."""
    award = award_or_404(slug)
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.award", slug=slug))
    title, explanation, danger = STEP_EXPLANATIONS[step]
    jury = _jury_readiness(award) if step == "open_scoring" else None
    if request.form.get("confirmed") != "yes":
        return render_template(
            "admin/confirm.html",
            award=award,
            title=title,
            explanation=explanation,
            danger=danger,
            form=form,
            jury=jury,
            remind_backup=step in CLOSING_STEPS,
            last_backup=backup.last_backup(db.session) if step in CLOSING_STEPS else None,
        )
    try:
        transition(award, step, actor=current_user)
    except TransitionError as exc:
        # Refused: the page the step was taken from, with the reason and a status saying so.
        db.session.rollback()
        flash(str(exc), "error")
        if step in VOTING_STEPS:
            from judging.admin.voting_views import voting_page

            page, _ = voting_page(slug)
        else:
            page = award_page(slug)
        return page, 409
    else:
        db.session.commit()
        if step == "open_scoring":
            assert jury is not None  # read above for this step
            sent, failed = notify_jury(award, "scoring_opened")
            flash(f"Scoring is open: jurors can score. {_told(sent, jury)}", "success")
            if failed:
                flash(f"No mail could be sent to {', '.join(failed)}: tell them yourself.", "error")
        elif step == "close_scoring":
            flash("Scoring is closed: no more scores are accepted.", "success")
        elif step == "open_voting":
            flash("Voting is open: ballots are accepted.", "success")
        else:
            flash("Voting is closed: no more ballots are accepted.", "success")
    if step in VOTING_STEPS:
        return redirect(url_for("admin.voting_page", slug=slug))
    return redirect(url_for("admin.award", slug=slug))


def _jury_readiness(award: Award) -> dict[str, int]:
    """How many of the award's jurors can log in, are still invited, or are deactivated."""
    counts = {"ready": 0, "invited": 0, "inactive": 0}
    for user in db.session.scalars(queries.jurors_of(award)):
        counts["inactive" if not user.active else "ready" if user.password_hash else "invited"] += 1
    return counts


def _jurors(count: int) -> str:
    return f"{count} juror{'' if count == 1 else 's'}"


def _told(sent: int, jury: dict[str, int]) -> str:
    """Who heard that scoring opened, and why the others did not."""
    if not jury["ready"] and not jury["invited"]:
        return "The jury is empty, so nobody was told: add jurors on the Jury page."
    said = f"{_jurors(sent)} {'was' if sent == 1 else 'were'} told by email."
    if jury["invited"]:
        waiting = jury["invited"]
        said += (
            f" {_jurors(waiting)} {'has' if waiting == 1 else 'have'} not accepted the "
            "invitation yet, so no email went to them now: they will find scoring open once "
            "they do."
        )
    return said


@blueprint.post("/awards/<slug>/recusals/<int:recusal_id>/lift")
def lift_recusal(slug: str, recusal_id: int):
    """Decide that a declared conflict does not stand: the juror may score the nominee."""
    award = award_or_404(slug)
    recusal = db.one_or_404(
        select(Recusal).join(Nominee).where(Recusal.id == recusal_id, Nominee.award_id == award.id)
    )
    form = LiftRecusalForm()
    if not form.validate_on_submit():
        flash("Give the reason for lifting the conflict of interest.", "error")
    else:
        try:
            evaluations.lift_recusal(recusal, reason=form.reason.data, actor=current_user)
        except evaluations.EvaluationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash("The conflict of interest is lifted; the juror can score the nominee.", "success")
    return redirect(url_for("admin.award", slug=slug))


def _current_awards() -> list[Award]:
    return list(
        db.session.scalars(select(Award).where(Award.archived_at.is_(None)).order_by(Award.title))
    )


def _people_page(invite_form: InviteForm | None = None, status: int = 200):
    query = (request.args.get("q") or "").strip()
    everyone = select(User).order_by(User.role, User.name)
    users = list(db.session.scalars(everyone))
    total = len(users)
    if query:
        needle = query.casefold()
        users = [u for u in users if needle in u.name.casefold() or needle in u.email.casefold()]
    memberships: dict[int, list[str]] = {}
    for user_id, slug in db.session.execute(
        select(JuryMember.user_id, Award.slug).join(Award, Award.id == JuryMember.award_id)
    ):
        memberships.setdefault(user_id, []).append(slug)
    choices = _award_choices()
    if invite_form is None:
        invite_form = InviteForm()
        invite_form.awards.choices = _as_options(choices)
        # A juror invited to no jury would find "You are not on any jury yet": tick the award
        # the invitation comes from (?award=), or the only current award there is.
        slugs = {slug for slug, _ in choices}
        current = _current_awards()
        if request.args.get("award") in slugs:
            invite_form.awards.data = [request.args["award"]]
        elif len(current) == 1:
            invite_form.awards.data = [current[0].slug]
    return render_template(
        "admin/people.html",
        users=users,
        total=total,
        query=query,
        memberships=memberships,
        award_titles=dict(choices),
        award_choices=choices,
        invite_form=invite_form,
        action_form=EmptyForm(),
    ), status


@blueprint.get("/people")
def people():
    """Jurors and administrators with their status, a search, and a form to invite someone."""
    return _people_page()


@blueprint.post("/people/invite")
def invite():
    """Create an account and email its invitation link."""
    form = InviteForm()
    form.awards.choices = _as_options(_award_choices())
    if not form.validate_on_submit():
        return _people_page(form, 422)
    if form.role.data == "admin" and not login_is_fresh():
        refusal = confirm_identity(form.confirm_password.data, form.confirm_code.data)
        if refusal is not None:
            form.confirm_password.errors.append(
                refusal.message
                if refusal.status == 429
                else "Type your own password and two-factor code to invite an administrator."
                if current_user.has_two_factor
                else "Type your own password to invite an administrator."
            )
            return _people_page(form, refusal.status)
    try:
        user = accounts.create_user(
            form.email.data,
            form.name.data,
            form.role.data,
            actor=current_user,
            award_slugs=tuple(form.awards.data) if form.role.data == "juror" else (),
        )
    except accounts.AccountError as exc:
        db.session.rollback()
        getattr(form, exc.field or "email").errors.append(str(exc))
        return _people_page(form, 422)
    db.session.commit()  # the account stands even if the mail server is down
    _send_invitation(user, form.awards.data)
    return redirect(url_for("admin.people"))


def _send_invitation(user: User, award_slugs, *, replaced: bool = False) -> None:
    titles = dict(_award_choices())
    try:
        send_invitation(user, awards=[titles[s] for s in award_slugs if s in titles])
    except MailError:
        db.session.rollback()
        flash(
            f"The invitation email to {user.email} could not be sent. Check the mail "
            "settings, then use “Resend invitation”.",
            "error",
        )
        return
    db.session.commit()
    earlier = " The link sent before no longer works." if replaced else ""
    flash(f"Invitation sent to {user.email}. The link works for 72 hours.{earlier}", "success")


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@blueprint.post("/people/<int:user_id>/resend")
def resend_invitation(user_id: int):
    """A new invitation link, after a confirmation page: the previous link stops working."""
    user = _user_or_404(user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        if user.status != "invited":
            flash(f"{user.name} has already accepted the invitation.", "info")
        elif request.form.get("confirmed") != "yes":
            return render_template(
                "admin/confirm_resend.html",
                user=user,
                form=form,
                last_sent=db.session.scalar(
                    select(AccountToken.created_at)
                    .where(AccountToken.user_id == user.id, AccountToken.purpose == "invitation")
                    .order_by(AccountToken.created_at.desc())
                    .limit(1)
                ),
            )
        else:
            slugs = db.session.scalars(
                select(Award.slug).join(JuryMember).where(JuryMember.user_id == user.id)
            ).all()
            _send_invitation(user, slugs, replaced=True)
    return redirect(url_for("admin.people", _anchor=f"user-{user.id}"))


def _change_account(change, done: str) -> None:
    """Make an account change: committed and confirmed, or rolled back with the reason."""
    try:
        change()
    except accounts.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(done, "success")


@blueprint.post("/people/<int:user_id>/deactivate")
@fresh_login_required
def deactivate(user_id: int):
    """Stop an account: its sessions end at once, its links stop working."""
    user = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        _change_account(
            lambda: accounts.deactivate(user, actor=current_user),
            f"{user.name} is deactivated and logged out everywhere.",
        )
    return redirect(url_for("admin.people"))


@blueprint.post("/people/<int:user_id>/reactivate")
@fresh_login_required
def reactivate(user_id: int):
    """Let a deactivated account log in again."""
    user = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        _change_account(
            lambda: accounts.reactivate(user, actor=current_user),
            f"{user.name} can log in again.",
        )
    return redirect(url_for("admin.people"))


@blueprint.post("/people/<int:user_id>/role")
@fresh_login_required
def change_role(user_id: int):
    """Make a juror an administrator or the other way round."""
    user = _user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        role = form.role.data
        _change_account(
            lambda: accounts.change_role(user, role, actor=current_user),
            f"{user.name} is now {'an administrator' if role == 'admin' else 'a juror'}.",
        )
    else:
        flash("Choose a role.", "error")
    return redirect(url_for("admin.people"))


@blueprint.post("/people/<int:user_id>/awards")
def jury_awards(user_id: int):
    """Set which awards' juries this juror sits on."""
    user = _user_or_404(user_id)
    form = JuryAwardsForm()
    form.awards.choices = _as_options(_award_choices())
    if not form.validate_on_submit():
        flash("That award does not exist.", "error")
    elif user.is_admin:
        flash("Administrators do not sit on juries; make the account a juror first.", "error")
    else:
        awards = list(db.session.scalars(select(Award).where(Award.slug.in_(form.awards.data))))
        accounts.set_jury_awards(user, awards, actor=current_user)
        db.session.commit()
        flash(f"{user.name}'s juries are saved.", "success")
    return redirect(url_for("admin.people"))


@blueprint.route("/settings", methods=["GET", "POST"])
@fresh_login_required
def settings():
    """Application settings: require two-factor authentication for administrators."""
    setting = db.session.get(Setting, REQUIRE_ADMIN_2FA)
    form = TwoFactorPolicyForm(require_admin_2fa=setting.value if setting else "off")
    if form.validate_on_submit():
        value = form.require_admin_2fa.data
        if setting is None:
            setting = Setting(key=REQUIRE_ADMIN_2FA, value=value)
            db.session.add(setting)
        before, setting.value = setting.value, value
        if before != value:
            record_event(
                "settings.changed",
                f"setting:{REQUIRE_ADMIN_2FA}",
                {"before": before, "after": value},
                actor=current_user,
            )
        db.session.commit()
        flash("Settings saved.", "success")
        return redirect(url_for("admin.settings"))
    return render_form("admin/settings.html", form)
