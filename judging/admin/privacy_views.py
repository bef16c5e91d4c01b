"""Anonymising a juror, once the results their evaluations count in are published."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from judging.admin import blueprint
from judging.auth.access import fresh_login_required
from judging.extensions import db
from judging.forms import EmptyForm
from judging.models import User
from judging.services import privacy


@blueprint.post("/people/<int:user_id>/anonymise")
@fresh_login_required
def anonymise(user_id: int):
    """Ask for confirmation, then replace the juror's identity by a placeholder for good."""
    user = db.get_or_404(User, user_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.people"))
    blockers = privacy.anonymise_blockers(user)
    if user.id == current_user.id:
        blockers = ["You cannot anonymise your own account."]
    if blockers or request.form.get("confirmed") != "yes":
        page = render_template("admin/anonymise.html", user=user, blockers=blockers, form=form)
        return page, 409 if blockers and request.form.get("confirmed") == "yes" else 200
    name = user.name
    privacy.anonymise(user, actor=current_user)
    db.session.commit()
    flash(f"{name} is anonymised: now “{user.name}”. Their evaluations still count.", "success")
    return redirect(url_for("admin.people"))
