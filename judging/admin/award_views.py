"""Setting up awards: create, edit and archive them, and their criteria."""

from flask import flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select

from judging.admin import blueprint
from judging.admin.forms import AwardForm, CriterionForm
from judging.dates import as_local_input, from_local, zone
from judging.extensions import db
from judging.forms import EmptyForm, render_form
from judging.lookups import award_or_404
from judging.models import Award, Criterion
from judging.outcome import commit_or_explain
from judging.services import award_setup, awards
from judging.services.award_setup import CriterionInput

WINDOW_FIELDS = ("scoring_opens_at", "scoring_closes_at", "voting_opens_at", "voting_closes_at")


def _award_form(award: Award | None = None) -> AwardForm:
    """The award form, its times typed and shown in the display zone, which each label names."""
    if award is None:
        form = AwardForm()
    else:
        shown = {name: as_local_input(getattr(award, name)) for name in WINDOW_FIELDS}
        form = AwardForm(obj=award)
        if not form.is_submitted():
            for name, value in shown.items():
                getattr(form, name).data = value
    for name in WINDOW_FIELDS:
        label = getattr(form, name).label
        label.text = f"{label.text} ({zone()} time)"
    return form


def _award_values(form: AwardForm) -> dict:
    return {
        "title": form.title.data.strip(),
        "description": (form.description.data or "").strip(),
        **{name: from_local(getattr(form, name).data) for name in WINDOW_FIELDS},
        "aggregation_method": form.aggregation_method.data,
        "quorum": form.quorum.data,
        "require_comment": form.require_comment.data,
        "blind": form.blind.data,
    }


@blueprint.route("/awards/new", methods=["GET", "POST"])
def new_award():
    """A new award, in preparation: its criteria, nominees and jury come next."""
    form = _award_form()
    if form.validate_on_submit():
        with commit_or_explain(form=form) as attempt:
            award = award_setup.create_award(
                (form.slug.data or "").strip(), _award_values(form), actor=current_user
            )
            attempt.done = f"“{award.title}” is created. Add its criteria next."
        if not attempt.failed:
            return redirect(url_for("admin.criteria", slug=award.slug))
    return render_form("admin/award_form.html", form, award=None)


@blueprint.route("/awards/<slug>/settings", methods=["GET", "POST"])
def award_settings(slug: str):
    """The award's title, description, scoring window and rules."""
    award = award_or_404(slug)
    form = _award_form(award)
    if form.validate_on_submit():
        with commit_or_explain(form=form) as attempt:
            changed = award_setup.update_award(award, _award_values(form), actor=current_user)
            attempt.done = "Settings saved." if changed else "Nothing changed."
        if not attempt.failed:
            return redirect(url_for("admin.award", slug=slug))
    return render_form("admin/award_form.html", form, award=award, archive_form=EmptyForm())


@blueprint.post("/awards/<slug>/make-public")
def make_award_public(slug: str):
    """List the award on the public pages and in the API, its nominees open to everyone."""
    award = award_or_404(slug)
    if EmptyForm().validate_on_submit():
        if awards.make_public(award, actor=current_user):
            db.session.commit()
            flash(f"“{award.title}” is public: listed on the home page and in the API.", "success")
        else:
            flash(f"“{award.title}” was already public.", "success")
    return redirect(url_for("admin.award", slug=slug))


@blueprint.post("/awards/<slug>/archive")
def archive_award(slug: str):
    """Archive the award (or bring it back): it leaves the lists; nothing is deleted."""
    award = award_or_404(slug)
    if EmptyForm().validate_on_submit():
        with commit_or_explain() as attempt:
            award_setup.set_archived(award, award.archived_at is None, actor=current_user)
            attempt.done = "Archived." if award.archived_at else "Back among the current awards."
    return redirect(url_for("admin.award", slug=slug))


def _criteria_page(award: Award, form: CriterionForm, editing: Criterion | None = None):
    total = sum(c.weight for c in award.criteria) or 1
    return render_form(
        "admin/criteria.html",
        form,
        award=award,
        criteria=award.criteria,
        percent={c.id: round(100 * c.weight / total, 1) for c in award.criteria},
        locked=award_setup.scores_exist(award),
        editing=editing,
        action_form=EmptyForm(),
    )


def _criterion_input(form: CriterionForm, slug: str) -> CriterionInput:
    return CriterionInput(
        slug=slug,
        name=form.name.data.strip(),
        guidance=(form.guidance.data or "").strip(),
        weight=form.weight.data,
        scale_min=form.scale_min.data,
        scale_max=form.scale_max.data,
        comment_required=form.comment_required.data,
    )


@blueprint.route("/awards/<slug>/criteria", methods=["GET", "POST"])
def criteria(slug: str):
    """The criteria with their weights as shares of the total; a form to add one."""
    award = award_or_404(slug)
    form = CriterionForm()
    if form.validate_on_submit():
        new_slug = (form.slug.data or "").strip() or award_setup.slugify(form.name.data)
        with commit_or_explain(f"Criterion “{form.name.data}” added.", form=form) as attempt:
            award_setup.save_criterion(award, _criterion_input(form, new_slug), actor=current_user)
        if not attempt.failed:
            return redirect(url_for("admin.criteria", slug=slug))
    return _criteria_page(award, form)


def _criterion(award: Award, criterion_id: int) -> Criterion:
    return db.one_or_404(
        select(Criterion).where(Criterion.id == criterion_id, Criterion.award_id == award.id)
    )


@blueprint.route("/awards/<slug>/criteria/<int:criterion_id>", methods=["GET", "POST"])
def edit_criterion(slug: str, criterion_id: int):
    """Change a criterion: wording always; weight and scale only before any score."""
    award = award_or_404(slug)
    criterion = _criterion(award, criterion_id)
    form = CriterionForm(obj=criterion)
    if form.validate_on_submit():
        with commit_or_explain(form=form) as attempt:
            award_setup.save_criterion(
                award,
                _criterion_input(form, criterion.slug),
                actor=current_user,
                criterion=criterion,
            )
            attempt.done = f"Criterion “{criterion.name}” saved."
        if not attempt.failed:
            return redirect(url_for("admin.criteria", slug=slug))
    return _criteria_page(award, form, editing=criterion)


@blueprint.post("/awards/<slug>/criteria/<int:criterion_id>/delete")
def delete_criterion(slug: str, criterion_id: int):
    """Remove a criterion, before any juror has scored the award."""
    award = award_or_404(slug)
    criterion = _criterion(award, criterion_id)
    if EmptyForm().validate_on_submit():
        with commit_or_explain(f"Criterion “{criterion.name}” removed."):
            award_setup.delete_criterion(award, criterion, actor=current_user)
    return redirect(url_for("admin.criteria", slug=slug))


@blueprint.post("/awards/<slug>/criteria/<int:criterion_id>/<any(up, down):direction>")
def move_criterion(slug: str, criterion_id: int, direction: str):
    """Move a criterion up or down in the order jurors see."""
    award = award_or_404(slug)
    criterion = _criterion(award, criterion_id)
    if EmptyForm().validate_on_submit():
        with commit_or_explain():
            award_setup.move_criterion(
                award, criterion, -1 if direction == "up" else 1, actor=current_user
            )
    return redirect(url_for("admin.criteria", slug=slug) + f"#criterion-{criterion.id}")
