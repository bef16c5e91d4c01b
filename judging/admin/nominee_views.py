"""An award's nominees: the list in award order, adding and editing, reordering, withdrawing,
reinstating, deleting (never once evaluated), and importing from CSV or JSON."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from judging.admin import blueprint
from judging.admin.forms import ConfirmImportForm, ImportForm, NomineeForm, WithdrawForm
from judging.forms import EmptyForm, render_form
from judging.lookups import award_or_404, nominee_or_404
from judging.models import Award, Nominee
from judging.outcome import commit_or_explain
from judging.services import nominee_import, nominees
from judging.services.errors import ServiceError
from judging.services.nominee_import import ImportProblem, ImportRefused, ImportSource


def _nominee(award: Award, nominee_slug: str) -> Nominee:
    return nominee_or_404(award, nominee_slug)


def _to_list(award: Award, nominee: Nominee | None = None):
    anchor = f"nominee-{nominee.slug}" if nominee is not None else None
    return redirect(url_for("admin.nominees", slug=award.slug, _anchor=anchor))


@blueprint.get("/awards/<slug>/nominees", endpoint="nominees")
def nominee_list(slug: str):
    """The award's nominees in order, with their status and evaluations, and what can be done."""
    award = award_or_404(slug)
    return render_template(
        "admin/nominees.html",
        award=award,
        rows=nominees.list_nominees(award),
        action_form=EmptyForm(),
        withdraw_form=WithdrawForm(),
    )


def _with_errors(form: NomineeForm, exc: ServiceError) -> None:
    """The service's messages beside the fields they are about."""
    for name, messages in exc.errors.items():
        (form[name].errors if name in form else form.form_errors).extend(messages)
    if not exc.errors:
        form.form_errors.append(exc.message)


def _form_page(award: Award, form: NomineeForm, nominee: Nominee | None = None):
    return render_form(
        "admin/nominee_form.html",
        form,
        award=award,
        nominee=nominee,
        slug_locked=nominee is not None and nominees.evaluation_count(nominee) > 0,
    )


@blueprint.route("/awards/<slug>/nominees/new", methods=["GET", "POST"])
def nominee_new(slug: str):
    """Add a nominee at the end of the list."""
    award = award_or_404(slug)
    form = NomineeForm()
    if form.validate_on_submit():
        with commit_or_explain(explain=False) as attempt:
            nominee = nominees.create_nominee(award, form.entry(), actor=current_user)
            attempt.done = f"“{nominee.title}” is added, last in the list."
        if attempt.error is None:
            return _to_list(award, nominee)
        _with_errors(form, attempt.error)
    return _form_page(award, form)


@blueprint.route("/awards/<slug>/nominees/<nominee_slug>/edit", methods=["GET", "POST"])
def nominee_edit(slug: str, nominee_slug: str):
    """Change a nominee's details (its slug only until it is evaluated)."""
    award = award_or_404(slug)
    nominee = _nominee(award, nominee_slug)
    form = NomineeForm(obj=nominee)
    if form.validate_on_submit():
        with commit_or_explain(explain=False) as attempt:
            changed = nominees.update_nominee(nominee, form.entry(), actor=current_user)
        if attempt.error is None:
            if changed:
                flash(f"“{nominee.title}” is saved.", "success")
            else:
                flash(f"Nothing changed in “{nominee.title}”.", "info")
            return _to_list(award, nominee)
        _with_errors(form, attempt.error)
    return _form_page(award, form, nominee)


@blueprint.post("/awards/<slug>/nominees/<nominee_slug>/<any(up, down):direction>")
def nominee_move(slug: str, nominee_slug: str, direction: str):
    """Move a nominee one place up or down the award's order."""
    award = award_or_404(slug)
    nominee = _nominee(award, nominee_slug)
    if EmptyForm().validate_on_submit():
        with commit_or_explain(refusal="info"):
            nominees.move_nominee(nominee, direction, actor=current_user)
    return _to_list(award, nominee)


@blueprint.post("/awards/<slug>/nominees/<nominee_slug>/withdraw")
def nominee_withdraw(slug: str, nominee_slug: str):
    """Withdraw a nominee: it leaves jurors' lists and the ranking; nothing is deleted."""
    award = award_or_404(slug)
    nominee = _nominee(award, nominee_slug)
    form = WithdrawForm()
    if form.validate_on_submit():
        with commit_or_explain(
            f"“{nominee.title}” is withdrawn: it has left the jurors' lists and the ranking."
            " Its evaluations are kept."
        ):
            nominees.withdraw_nominee(nominee, reason=form.reason.data, actor=current_user)
    return _to_list(award, nominee)


@blueprint.post("/awards/<slug>/nominees/<nominee_slug>/reinstate")
def nominee_reinstate(slug: str, nominee_slug: str):
    """Bring a withdrawn nominee back, with the evaluations it had."""
    award = award_or_404(slug)
    nominee = _nominee(award, nominee_slug)
    if EmptyForm().validate_on_submit():
        with commit_or_explain(f"“{nominee.title}” is back in the running.", refusal="info"):
            nominees.reinstate_nominee(nominee, actor=current_user)
    return _to_list(award, nominee)


@blueprint.post("/awards/<slug>/nominees/<nominee_slug>/delete")
def nominee_delete(slug: str, nominee_slug: str):
    """Delete a nominee nobody has evaluated; one with evaluations can only be withdrawn."""
    award = award_or_404(slug)
    nominee = _nominee(award, nominee_slug)
    title = nominee.title
    if EmptyForm().validate_on_submit():
        with commit_or_explain(f"“{title}” is deleted.") as attempt:
            nominees.delete_nominee(nominee, actor=current_user)
        if attempt.failed:
            return _to_list(award, nominee)
    return _to_list(award)


# --- Import -----------------------------------------------------------------------------------


def _import_page(award: Award, form: ImportForm, preview=None, status: int | None = None):
    confirm_form = None
    if preview is not None and preview.ok:
        confirm_form = ConfirmImportForm(
            formdata=None, text=preview.source.text, format=preview.source.format
        )
    page = render_template(
        "admin/nominee_import.html",
        award=award,
        form=form,
        preview=preview,
        confirm_form=confirm_form,
        existing=len(award.nominees),
    )
    if status is None:
        status = 422 if form.errors or (preview is not None and not preview.ok) else 200
    return page, status


def _form_with_text(text: str) -> ImportForm:
    """The import form holding the text, to be corrected in place and previewed again."""
    form = ImportForm(formdata=None, text=text)
    form.file.errors, form.text.errors = [], []
    return form


@blueprint.route("/awards/<slug>/nominees/import", methods=["GET", "POST"])
def nominee_import_preview(slug: str):
    """Import nominees from CSV or JSON: first a preview of every row and its errors."""
    award = award_or_404(slug)
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(award, form)
    upload, text = form.file.data, form.text.data or ""
    has_file = bool(upload and upload.filename)
    field = form.file if has_file else form.text
    try:
        if has_file and text.strip():
            raise ImportProblem("Choose a file or paste the rows, not both.")
        if has_file:
            source = nominee_import.read_upload(
                upload.read(nominee_import.MAX_BYTES + 1), upload.filename
            )
        elif text.strip():
            source = nominee_import.pasted(text)
        else:
            raise ImportProblem("Choose a file, or paste the rows.")
        preview = nominee_import.preview_import(award, source)
    except ImportProblem as exc:
        field.errors.append(exc.message)
        return _import_page(award, form)
    return _import_page(award, _form_with_text(preview.source.text), preview)


@blueprint.post("/awards/<slug>/nominees/import/confirm")
def nominee_import_confirm(slug: str):
    """Import every previewed nominee, checked again, or none."""
    award = award_or_404(slug)
    form = ConfirmImportForm()
    source = ImportSource(text=form.text.data or "", format=form.format.data or "")
    if not form.validate_on_submit():
        flash("The form had expired; nothing was imported. Preview the rows again.", "error")
        return _import_page(award, _form_with_text(source.text), status=400)
    with commit_or_explain(explain=False) as attempt:
        created = nominee_import.import_nominees(award, source, actor=current_user)
        attempt.done = (
            f"{len(created)} nominee{'s' * (len(created) != 1)} imported, after the ones "
            "already there."
        )
    exc = attempt.error
    if exc is None:
        return _to_list(award)
    if isinstance(exc, ImportProblem):
        retry = _form_with_text(source.text)
        retry.text.errors.append(f"Nothing was imported: {exc.message}")
        return _import_page(award, retry)
    flash(exc.message, "error")
    if isinstance(exc, ImportRefused):
        return _import_page(award, _form_with_text(exc.preview.source.text), exc.preview)
    return _import_page(award, _form_with_text(source.text), status=409)
