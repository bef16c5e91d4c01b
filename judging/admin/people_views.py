"""People: the list of jurors and administrators, invitations, deactivation, roles, and which
juries a juror sits on."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from judging.admin import blueprint
from judging.admin.forms import InviteForm, JuryAwardsForm, RoleForm
from judging.auth.access import confirm_identity, fresh_login_required, login_is_fresh
from judging.extensions import db
from judging.forms import EmptyForm
from judging.models import AccountToken, Award, JuryMember, User
from judging.outcome import commit_or_explain
from judging.services import accounts
from judging.services.notifications import send_invitation


def _award_choices() -> list[tuple[str, str]]:
    """(slug, title) of every award, by title."""
    return [(a.slug, a.title) for a in db.session.scalars(select(Award).order_by(Award.title))]


def _as_options(choices: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in choices]


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
    # The account and its invitation's mail in one transaction: never one without the other.
    with commit_or_explain(explain=False) as attempt:
        user = accounts.create_user(
            form.email.data,
            form.name.data,
            form.role.data,
            actor=current_user,
            award_slugs=tuple(form.awards.data) if form.role.data == "juror" else (),
        )
        _queue_invitation(user, form.awards.data)
    if attempt.error is not None:
        getattr(form, attempt.error.field or "email").errors.append(attempt.error.message)
        return _people_page(form, 422)
    _say_queued(user)
    return redirect(url_for("admin.people"))


def _queue_invitation(user: User, award_slugs) -> None:
    titles = dict(_award_choices())
    send_invitation(user, awards=[titles[s] for s in award_slugs if s in titles])


def _say_queued(user: User, *, replaced: bool = False) -> None:
    earlier = " The link sent before no longer works." if replaced else ""
    flash(
        f"Invitation queued for {user.email}: the Mail page shows when it has gone. The link "
        f"works for 72 hours.{earlier}",
        "success",
    )


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
            _queue_invitation(user, slugs)
            db.session.commit()
            _say_queued(user, replaced=True)
    return redirect(url_for("admin.people", _anchor=f"user-{user.id}"))


@blueprint.post("/people/<int:user_id>/deactivate")
@fresh_login_required
def deactivate(user_id: int):
    """Stop an account: its sessions end at once, its links stop working."""
    user = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        with commit_or_explain(f"{user.name} is deactivated and logged out everywhere."):
            accounts.deactivate(user, actor=current_user)
    return redirect(url_for("admin.people"))


@blueprint.post("/people/<int:user_id>/reactivate")
@fresh_login_required
def reactivate(user_id: int):
    """Let a deactivated account log in again."""
    user = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        with commit_or_explain(f"{user.name} can log in again."):
            accounts.reactivate(user, actor=current_user)
    return redirect(url_for("admin.people"))


@blueprint.post("/people/<int:user_id>/role")
@fresh_login_required
def change_role(user_id: int):
    """Make a juror an administrator or the other way round."""
    user = _user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        role = form.role.data
        with commit_or_explain(
            f"{user.name} is now {'an administrator' if role == 'admin' else 'a juror'}."
        ):
            accounts.change_role(user, role, actor=current_user)
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
