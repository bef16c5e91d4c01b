"""Reviewing and publishing an award's results."""

from flask import redirect, render_template, url_for
from flask_login import current_user

from judging.admin import blueprint
from judging.admin.forms import PublishForm
from judging.auth.access import fresh_login_required
from judging.extensions import db
from judging.lookups import award_or_404
from judging.models import Award
from judging.outcome import commit_or_explain
from judging.services import backup, publication
from judging.services.notifications import notify_jury


def _review_page(award: Award, form: PublishForm, status: int = 200):
    return render_template(
        "admin/review.html",
        award=award,
        form=form,
        blockers=publication.review(award) if award.status != "published" else [],
        snapshot=publication.snapshot_of(award),
        last_backup=backup.last_backup(db.session),
    ), status


@blueprint.get("/awards/<slug>/review")
def review(slug: str):
    """What stands in the way of publishing, and the publish form."""
    return _review_page(award_or_404(slug), PublishForm())


@blueprint.post("/awards/<slug>/publish")
@fresh_login_required
def publish(slug: str):
    """Publish: freeze the results in a snapshot with its digest (a fresh login is needed)."""
    award = award_or_404(slug)
    form = PublishForm()
    if not form.validate_on_submit():
        return _review_page(award, form, 422)
    with commit_or_explain(explain=False) as attempt:
        snapshot = publication.publish(
            award, actor=current_user, override_reason=form.override_reason.data or ""
        )
        told = notify_jury(award, "published")  # queued with the publication
        attempt.done = (
            f"The results are published. Digest sha256:{snapshot.digest[:16]}… "
            f"An email to {told} juror{'' if told == 1 else 's'} is queued."
        )
    if attempt.error is not None:
        form.override_reason.errors = [attempt.error.message]
        return _review_page(award, form, 409)
    return redirect(url_for("public.results", slug=slug))
