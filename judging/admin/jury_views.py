"""An award's jury page: its jurors, how they share the nominees (all, or an assignment), each
juror's and each nominee's progress, and reminders to the jurors who have not finished."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from judging.admin import blueprint
from judging.admin.forms import AddJurorForm, GenerateForm, ModeForm, PairForm
from judging.extensions import db
from judging.forms import EmptyForm
from judging.lookups import award_or_404
from judging.models import Award, Nominee, User
from judging.outcome import commit_or_explain, show_on_form
from judging.services import assignment
from judging.services import jury as jury_service
from judging.services.jury import AlreadyDone, NeedsConfirmation
from judging.services.progress import award_progress, remind_jurors


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
        SelectChoice(u.id, f"{u.name} ({u.email})") for u in jury_service.jurors_not_on(award)
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
        editable=award.status in jury_service.EDITABLE_STATUSES,
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
    if user is None:
        form.juror.errors = ["That account does not exist."]
        return _page(award, add_form=form, status=422)
    with commit_or_explain(explain=False) as attempt:
        jury_service.add_juror(award, user, actor=current_user)
        attempt.done = f"{user.name} is on the jury." + (
            " Generate the assignment again, or assign nominees by hand, to give them some."
            if award.assignment_mode == "assigned"
            else ""
        )
    error = attempt.error
    if isinstance(error, AlreadyDone):  # added by someone else in the meantime
        flash(error.message, "info")
    elif error is not None and show_on_form(form, error):  # about the juror chosen
        return _page(award, add_form=form, status=422)
    elif error is not None:  # the award's state refuses it
        flash(error.message, "error")
    return _back(award)


@blueprint.post("/awards/<slug>/jury/<int:user_id>/remove")
def jury_remove(slug: str, user_id: int):
    """Take a juror off this award's jury (their evaluations are kept), after a confirmation
    when they have begun."""
    award = award_or_404(slug)
    user = db.get_or_404(User, user_id)
    if not EmptyForm().validate_on_submit():
        return _back(award)
    with commit_or_explain(explain=False) as attempt:
        removed = jury_service.remove_juror(award, user, actor=current_user, confirmed=_confirmed())
        attempt.done = f"{user.name} is no longer on the jury" + (
            f"; their {_nominees(removed)} went with them." if removed else "."
        )
    if isinstance(attempt.error, NeedsConfirmation):
        action = url_for("admin.jury_remove", slug=award.slug, user_id=user.id)
        return _page(
            award,
            confirm=_confirmation(attempt.error.message, action, f"Take {user.name} off the jury"),
        )
    if attempt.error is not None:
        flash(attempt.error.message, "error")
    return _back(award)


@blueprint.post("/awards/<slug>/jury/mode")
def jury_mode(slug: str):
    """Every juror scores every nominee, or each only the nominees assigned to them."""
    award = award_or_404(slug)
    form = ModeForm()
    if not form.validate_on_submit():
        flash("Choose how the jurors share the nominees.", "error")
        return _back(award)
    with commit_or_explain(explain=False) as attempt:
        if assignment.set_assignment_mode(
            award, form.mode.data, actor=current_user, confirmed=_confirmed()
        ):
            attempt.done = (
                "Every juror now scores every nominee. The assignment is kept, should you return "
                "to it."
                if award.assignment_mode == "all"
                else "Each juror now scores only the nominees assigned to them."
            )
    if isinstance(attempt.error, NeedsConfirmation):
        action = url_for("admin.jury_mode", slug=award.slug)
        return _page(
            award,
            confirm=_confirmation(
                attempt.error.message, action, "Use the assignment", mode=form.mode.data
            ),
        )
    if attempt.error is not None:
        flash(attempt.error.message, "error")
    return _back(award)


@blueprint.post("/awards/<slug>/jury/generate")
def jury_generate(slug: str):
    """Assign each nominee to k jurors, evenly, never a recused pair; jurors then see only
    their assigned nominees."""
    award = award_or_404(slug)
    form = GenerateForm()
    if not form.validate_on_submit():
        return _page(award, generate_form=form, status=422)
    with commit_or_explain(form=form) as attempt:
        generated = assignment.generate_assignment(award, form.k.data, actor=current_user)
        low, high = min(generated.loads.values()), max(generated.loads.values())
        spread = (
            f"{low}" if low == high else f"{low} or {high}" if high == low + 1 else f"{low}–{high}"
        )
        attempt.done = (
            f"Assignment generated: {form.k.data} or more jurors per nominee, {spread} nominees "
            f"per juror ({generated.added} added, {generated.removed} removed). Jurors now see "
            "only their assigned nominees."
        )
    if attempt.error is not None:
        if attempt.error.field_messages():  # shown beside the field
            return _page(award, generate_form=form, status=422)
        return _back(award)
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
    if nominee is None or juror is None or nominee.award_id != award.id:
        flash("That nominee or juror is not part of this award.", "error")
        return _back(award)
    with commit_or_explain(explain=False) as attempt:
        if form.op.data == "add":
            assignment.assign_juror(award, nominee, juror, actor=current_user)
            attempt.done = f"{juror.name} is assigned to “{nominee.title}”."
        else:
            assignment.unassign_juror(
                award, nominee, juror, actor=current_user, confirmed=_confirmed()
            )
            attempt.done = f"“{nominee.title}” is no longer assigned to {juror.name}."
    error = attempt.error
    if isinstance(error, NeedsConfirmation):
        action = url_for("admin.jury_assignment", slug=award.slug)
        confirm = _confirmation(
            error.message,
            action,
            f"Take “{nominee.title}” from {juror.name}",
            nominee=nominee.id,
            juror=juror.id,
            op="remove",
        )
        return _page(award, confirm=confirm)
    if isinstance(error, AlreadyDone):  # the same pair added by someone else in the meantime
        flash(error.message, "info")
        return _back(award)
    if error is not None:
        flash(error.message, "error")
        return _back(award)  # to the top, where the message is
    return _back(award, f"nominee-{form.nominee.data}")


def _remind(award: Award, juror: User | None):
    if not EmptyForm().validate_on_submit():
        return _back(award)
    # Queued and audited in one transaction: the sender delivers them after the commit.
    with commit_or_explain() as attempt:
        report = remind_jurors(award, actor=current_user, juror=juror)
    if attempt.failed:
        return _back(award)
    if report.sent:
        names = ", ".join(row.juror.name for row in report.sent)
        flash(f"Reminder queued for {names}.", "success")
    if report.cannot_log_in:
        names = ", ".join(row.juror.name for row in report.cannot_log_in)
        flash(
            f"No reminder to {names}: they cannot log in yet (invitation not accepted, or "
            "account deactivated). See the People page.",
            "info",
        )
    if juror is not None and report.finished:
        flash(f"{juror.name} has submitted every evaluation: no reminder needed.", "info")
    elif juror is None and not (report.sent or report.cannot_log_in):
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
