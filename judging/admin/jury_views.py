"""An award's jury page: its jurors, how they share the nominees (all, or an assignment), each
juror's and each nominee's progress, and reminders to the jurors who have not finished."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from judging.admin import blueprint
from judging.admin.forms import AddJurorForm, GenerateForm, ModeForm, PairForm
from judging.extensions import db
from judging.forms import EmptyForm
from judging.lookups import award_or_404
from judging.models import Award, Nominee, User
from judging.services import assignment
from judging.services.assignment import JuryError, NeedsConfirmation
from judging.services.progress import ReminderError, award_progress, remind_jurors


def _back(award: Award, anchor: str | None = None):
    """To the page; to `anchor` only after a change the page itself shows there, since the
    flashed messages are at the top."""
    return redirect(url_for("admin.jury", slug=award.slug, _anchor=anchor))


def _confirmed() -> bool:
    return request.form.get("confirmed") == "yes"


def _page(award: Award, *, add_form=None, generate_form=None, confirm=None, status=200):
    progress = award_progress(award)
    active = [row for row in progress.jurors if row.juror.active]
    if add_form is None:
        add_form = AddJurorForm()
    add_form.juror.choices = [
        SelectChoice(u.id, f"{u.name} ({u.email})") for u in assignment.jurors_not_on(award)
    ]
    if generate_form is None:
        generate_form = GenerateForm(k=_jurors_per_nominee(award, progress, len(active)))
    loads = {row.juror.id: 0 for row in progress.jurors}
    for juror_id, _ in progress.assigned:
        if juror_id in loads:
            loads[juror_id] += 1
    return render_template(
        "admin/jury.html",
        award=award,
        progress=progress,
        add_form=add_form,
        generate_form=generate_form,
        action_form=EmptyForm(),
        confirm=confirm,
        loads=loads,
        editable=award.status in assignment.EDITABLE_STATUSES,
    ), status


def _jurors_per_nominee(award: Award, progress, active: int) -> int:
    """What the "jurors per nominee" field shows: once an assignment exists, the k it gives
    every nominee (the last one generated), else the quorum, as far as the jury allows."""
    if award.assignment_mode == "assigned" and progress.assigned and progress.nominees:
        return min(row.jurors for row in progress.nominees) or 1
    return min(award.quorum, active) or award.quorum


def _nominees(count: int) -> str:
    return f"{count} assigned nominee{'' if count == 1 else 's'}"


def _confirmation(message: str, action: str, button: str, **fields) -> dict:
    return {"message": message, "action": action, "button": button, "fields": fields}


@blueprint.get("/awards/<slug>/jury")
def jury(slug: str):
    """The jury with each juror's progress, the nominees with theirs, and the assignment."""
    return _page(award_or_404(slug))


@blueprint.post("/awards/<slug>/jury/add")
def jury_add(slug: str):
    """Put an existing juror account on this award's jury."""
    award = award_or_404(slug)
    form = AddJurorForm()
    form.juror.choices = []
    if not form.validate_on_submit():
        return _page(award, add_form=form, status=422)
    user = db.session.get(User, form.juror.data)
    try:
        if user is None:
            raise JuryError("That account does not exist.", field="juror")
        assignment.add_juror(award, user, actor=current_user)
    except JuryError as exc:
        db.session.rollback()
        if exc.field is None:  # not about the juror chosen: the award's state refuses it
            flash(exc.message, "error")
            return _back(award)
        form.juror.errors = [exc.message]
        return _page(award, add_form=form, status=422)
    except IntegrityError:  # added by someone else in the meantime
        db.session.rollback()
        assert user is not None  # add_juror ran
        flash(f"{user.name} is already on this jury.", "info")
        return _back(award)
    db.session.commit()
    message = f"{user.name} is on the jury."
    if award.assignment_mode == "assigned":
        message += " Generate the assignment again, or assign nominees by hand, to give them some."
    flash(message, "success")
    return _back(award)


@blueprint.post("/awards/<slug>/jury/<int:user_id>/remove")
def jury_remove(slug: str, user_id: int):
    """Take a juror off this award's jury (their evaluations are kept), after a confirmation
    when they have begun."""
    award = award_or_404(slug)
    user = db.get_or_404(User, user_id)
    if not EmptyForm().validate_on_submit():
        return _back(award)
    try:
        removed = assignment.remove_juror(award, user, actor=current_user, confirmed=_confirmed())
    except NeedsConfirmation as exc:
        db.session.rollback()
        action = url_for("admin.jury_remove", slug=award.slug, user_id=user.id)
        return _page(
            award,
            confirm=_confirmation(exc.message, action, f"Take {user.name} off the jury"),
        )
    except JuryError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(award)
    db.session.commit()
    flash(
        f"{user.name} is no longer on the jury"
        + (f"; their {_nominees(removed)} went with them." if removed else "."),
        "success",
    )
    return _back(award)


@blueprint.post("/awards/<slug>/jury/mode")
def jury_mode(slug: str):
    """Every juror scores every nominee, or each only the nominees assigned to them."""
    award = award_or_404(slug)
    form = ModeForm()
    if not form.validate_on_submit():
        flash("Choose how the jurors share the nominees.", "error")
        return _back(award)
    try:
        changed = assignment.set_assignment_mode(
            award, form.mode.data, actor=current_user, confirmed=_confirmed()
        )
    except NeedsConfirmation as exc:
        db.session.rollback()
        action = url_for("admin.jury_mode", slug=award.slug)
        return _page(
            award,
            confirm=_confirmation(exc.message, action, "Use the assignment", mode=form.mode.data),
        )
    except JuryError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(award)
    db.session.commit()
    if changed:
        flash(
            "Every juror now scores every nominee. The assignment is kept, should you return to it."
            if award.assignment_mode == "all"
            else "Each juror now scores only the nominees assigned to them.",
            "success",
        )
    return _back(award)


@blueprint.post("/awards/<slug>/jury/generate")
def jury_generate(slug: str):
    """Assign each nominee to k jurors, evenly, never a recused pair; jurors then see only
    their assigned nominees."""
    award = award_or_404(slug)
    form = GenerateForm()
    if not form.validate_on_submit():
        return _page(award, generate_form=form, status=422)
    try:
        generated = assignment.generate_assignment(award, form.k.data, actor=current_user)
    except JuryError as exc:
        db.session.rollback()
        if exc.field is None:
            flash(exc.message, "error")
            return _back(award)
        form.k.errors = [exc.message]
        return _page(award, generate_form=form, status=422)
    db.session.commit()
    low, high = min(generated.loads.values()), max(generated.loads.values())
    spread = f"{low}" if low == high else f"{low} or {high}" if high == low + 1 else f"{low}–{high}"
    flash(
        f"Assignment generated: {form.k.data} or more jurors per nominee, {spread} nominees per "
        "juror "
        f"({generated.added} added, {generated.removed} removed). Jurors now see only their "
        "assigned nominees.",
        "success",
    )
    if form.k.data < award.quorum:
        flash(
            f"That is fewer jurors than the award's quorum of {award.quorum}: every nominee's "
            "result will be flagged for low coverage.",
            "info",
        )
    return _back(award)


@blueprint.post("/awards/<slug>/jury/assignment")
def jury_assignment(slug: str):
    """Assign one juror to one nominee, or take the nominee away (after a confirmation when
    the juror has begun evaluating it)."""
    award = award_or_404(slug)
    form = PairForm()
    if not form.validate_on_submit():
        flash("Choose a nominee and a juror.", "error")
        return _back(award)
    nominee = db.session.get(Nominee, form.nominee.data)
    juror = db.session.get(User, form.juror.data)
    anchor = f"nominee-{form.nominee.data}"
    try:
        if nominee is None or juror is None or nominee.award_id != award.id:
            raise JuryError("That nominee or juror is not part of this award.")
        if form.op.data == "add":
            assignment.assign_juror(award, nominee, juror, actor=current_user)
        else:
            assignment.unassign_juror(
                award, nominee, juror, actor=current_user, confirmed=_confirmed()
            )
    except NeedsConfirmation as exc:
        db.session.rollback()
        assert nominee is not None and juror is not None  # unassign_juror ran
        action = url_for("admin.jury_assignment", slug=award.slug)
        confirm = _confirmation(
            exc.message,
            action,
            f"Take “{nominee.title}” from {juror.name}",
            nominee=nominee.id,
            juror=juror.id,
            op="remove",
        )
        return _page(award, confirm=confirm)
    except JuryError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(award)  # to the top, where the message is
    except IntegrityError:  # the same pair added by someone else in the meantime
        db.session.rollback()
        assert nominee is not None and juror is not None  # assign_juror ran
        flash(f"{juror.name} is already assigned to “{nominee.title}”.", "info")
        return _back(award)
    db.session.commit()
    flash(
        f"{juror.name} is assigned to “{nominee.title}”."
        if form.op.data == "add"
        else f"“{nominee.title}” is no longer assigned to {juror.name}.",
        "success",
    )
    return _back(award, anchor)


def _remind(award: Award, juror: User | None):
    if not EmptyForm().validate_on_submit():
        return _back(award)
    try:
        report = remind_jurors(award, actor=current_user, juror=juror)
    except ReminderError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(award)
    db.session.commit()  # the reminders that went out are recorded, whatever failed after
    if report.sent:
        names = ", ".join(row.juror.name for row in report.sent)
        flash(f"Reminder sent to {names}.", "success")
    if report.error:
        names = ", ".join(row.juror.name for row in report.unsent)
        flash(
            f"The mail server refused a reminder, so none was sent to {names}. Check the mail "
            f"settings, then try again. ({report.error})",
            "error",
        )
    if report.cannot_log_in:
        names = ", ".join(row.juror.name for row in report.cannot_log_in)
        flash(
            f"No reminder to {names}: they cannot log in yet (invitation not accepted, or "
            "account deactivated). See the People page.",
            "info",
        )
    if juror is not None and report.finished:
        flash(f"{juror.name} has submitted every evaluation: no reminder needed.", "info")
    elif juror is None and not (report.sent or report.unsent or report.cannot_log_in):
        flash("Every juror has submitted every evaluation: no reminder needed.", "info")
    return _back(award)


@blueprint.post("/awards/<slug>/jury/remind")
def jury_remind_all(slug: str):
    """Email every unfinished juror how many evaluations they have left."""
    return _remind(award_or_404(slug), None)


@blueprint.post("/awards/<slug>/jury/<int:user_id>/remind")
def jury_remind(slug: str, user_id: int):
    """Email one juror how many evaluations they have left, unless they have finished."""
    return _remind(award_or_404(slug), db.get_or_404(User, user_id))
