"""The juror's pages: their awards with progress, and the evaluation of each nominee."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from judging.jury import blueprint
from judging.jury.forms import EvaluationForm, RecusalForm, read_scores
from judging.lookups import award_with_nominee_or_404
from judging.models import Award, Nominee, utcnow
from judging.outcome import commit_or_explain
from judging.services import evaluations, juror_view, recusals
from judging.services.errors import ServiceError
from judging.services.evaluations import EvaluationError, EvaluationState, StaleVersion


@blueprint.get("/")
def dashboard():
    """The awards this juror judges, each with progress and the nominees in the juror's order."""
    awards = [
        (award, juror_view.progress(award, juror=current_user))
        for award in juror_view.jurors_awards(current_user)
    ]
    open_awards = [(a, p) for a, p in awards if evaluations.scoring_is_open(a)]
    return render_template(
        "jury/dashboard.html",
        awards=awards,
        all_done=bool(open_awards)
        and all(p.scoreable and p.submitted == p.scoreable for _, p in open_awards),
        scoring_is_open=evaluations.scoring_is_open,
        now=utcnow(),
    )


def _award_and_nominee(slug: str, nominee_slug: str) -> tuple[Award, Nominee]:
    """The award and its nominee (one query), once the juror is known to be on its jury (one
    more): 403 for anyone else, whatever the nominee."""
    award, nominee = award_with_nominee_or_404(slug, nominee_slug)
    try:
        evaluations.require_juror(award, current_user)
    except EvaluationError:
        abort(403, "You are not on the jury of this award.")
    if nominee is None:
        abort(404)
    assert nominee is not None  # abort raised
    return award, nominee


def _page(
    award,
    nominee,
    state: EvaluationState,
    *,
    form=None,
    errors=None,
    conflict=None,
    status=200,
    recusal_form=None,
    recusal_open=False,
    work: juror_view.Work | None = None,
):
    # The juror's whole work in the award, read once: progress, neighbours, the conflict of
    # interest and their own evaluation all come from it.
    work = work or juror_view.work(award, juror=current_user)
    progress = work.progress()
    order = [row.nominee.slug for row in progress.rows]
    # A withdrawn nominee is not in the juror's list: its page says so, with no neighbours.
    here = order.index(nominee.slug) if nominee.slug in order else None
    total_weight = sum(c.weight for c in award.criteria) or 1
    return render_template(
        "jury/evaluate.html",
        award=award,
        nominee=nominee,
        criteria=award.criteria,
        weight_percent={c.slug: round(100 * c.weight / total_weight) for c in award.criteria},
        state=state,
        form=form or EvaluationForm(version=state.version, comment=state.comment),
        recusal_form=recusal_form or RecusalForm(formdata=None),
        recusal_open=recusal_open,
        recusal=work.of(nominee).recusal,
        fellow_totals=juror_view.fellow_totals(award, nominee, juror=current_user, work=work),
        errors=errors or {},
        conflict=conflict,
        open=evaluations.scoring_is_open(award),
        now=utcnow(),
        progress=progress,
        position=None if here is None else here + 1,
        previous=order[here - 1] if here else None,
        next=order[here + 1] if here is not None and here + 1 < len(order) else None,
    ), status


@blueprint.get("/awards/<slug>/nominees/<nominee_slug>")
def evaluate(slug: str, nominee_slug: str):
    """The nominee beside the form: a score per criterion, comments, submit."""
    award, nominee = _award_and_nominee(slug, nominee_slug)
    work = juror_view.work(award, juror=current_user)
    mine = work.of(nominee)
    if not mine.assigned:
        abort(403, "This nominee is not assigned to you.")
    return _page(award, nominee, evaluations.state_of(mine.evaluation, award.criteria), work=work)


@blueprint.post("/awards/<slug>/nominees/<nominee_slug>")
def save(slug: str, nominee_slug: str):
    """The same form without JavaScript: save the draft, or submit."""
    award, nominee = _award_and_nominee(slug, nominee_slug)
    form = EvaluationForm()
    scores, comments, errors = read_scores(request.form, award.criteria)
    posted = EvaluationState(
        scores=scores,
        criterion_comments=comments,
        comment=form.comment.data or "",
        submitted=form.action.data == "submit",
        version=form.version.data or 0,
    )
    if not form.validate_on_submit() or errors:
        flash("Some fields need attention; nothing was saved.", "error")
        return _page(award, nominee, posted, form=form, errors=errors, status=422)
    with commit_or_explain(explain=False) as attempt:
        state = evaluations.save_evaluation(
            award,
            nominee,
            juror=current_user,
            scores=scores,
            comment=posted.comment,
            criterion_comments=comments,
            submitted=posted.submitted,
            version=posted.version,
        )
    exc = attempt.error
    if isinstance(exc, StaleVersion):
        # Keep what the juror typed; saving again now deliberately replaces the newer version.
        form.version.data = exc.current.version
        return _page(award, nominee, posted, form=form, conflict=exc.current, status=409)
    if exc is not None:
        if exc.status == 422 and posted.submitted:
            return _keep_as_draft(award, nominee, posted, form, exc)
        flash(exc.message, "error")
        return _page(award, nominee, posted, form=form, errors=exc.errors, status=exc.status)
    if state.submitted:
        flash(
            f"Your evaluation of “{nominee.title}” is submitted. You can change it until "
            "scoring closes.",
            "success",
        )
        following = _next_to_do(award, nominee)
        if following:
            return redirect(url_for("jury.evaluate", slug=slug, nominee_slug=following))
        return redirect(url_for("jury.dashboard"))
    flash("Draft saved.", "success")
    return redirect(url_for("jury.evaluate", slug=slug, nominee_slug=nominee_slug))


def _keep_as_draft(award, nominee, posted: EvaluationState, form, refusal: ServiceError):
    """A submission refused for missing scores: keep what was typed as a draft, say what's
    missing. Nothing the juror entered is lost."""
    with commit_or_explain(explain=False) as attempt:
        state = evaluations.save_evaluation(
            award,
            nominee,
            juror=current_user,
            scores=posted.scores,
            comment=posted.comment,
            criterion_comments=posted.criterion_comments,
            submitted=False,
            version=posted.version,
        )
    if attempt.failed:
        flash(refusal.message, "error")
        return _page(award, nominee, posted, form=form, errors=refusal.errors, status=422)
    flash("Not submitted yet: score every criterion first. Your draft is saved.", "error")
    form.version.data = state.version
    return _page(award, nominee, state, form=form, errors=refusal.errors, status=422)


def _next_to_do(award: Award, after: Nominee) -> str | None:
    """The next nominee in the juror's order that is not yet submitted (wrapping round)."""
    rows = juror_view.progress(award, juror=current_user).rows
    here = next(i for i, row in enumerate(rows) if row.nominee.id == after.id)
    for row in rows[here + 1 :] + rows[:here]:
        if row.status in ("not started", "draft"):
            return row.nominee.slug
    return None


@blueprint.post("/awards/<slug>/nominees/<nominee_slug>/recusal")
def recuse(slug: str, nominee_slug: str):
    """Declare a conflict of interest with this nominee, after a confirmation page (a plain
    form, so it works without JavaScript): only the administrator can lift it again."""
    award, nominee = _award_and_nominee(slug, nominee_slug)
    form = RecusalForm()
    if not form.validate_on_submit() or not form.reason.data.strip():
        flash(" ".join(form.reason.errors) or "Say briefly why, for the record.", "error")
        return redirect(url_for("jury.evaluate", slug=slug, nominee_slug=nominee_slug))
    step = request.form.get("step")
    if step == "back":
        # The juror changed their mind: the evaluation page again, the reason they typed kept.
        work = juror_view.work(award, juror=current_user)
        state = evaluations.state_of(work.of(nominee).evaluation, award.criteria)
        page, status = _page(award, nominee, state, work=work, recusal_form=form, recusal_open=True)
        return page, status
    if step != "confirmed":
        return render_template("jury/confirm_recusal.html", award=award, nominee=nominee, form=form)
    with commit_or_explain(
        f"Conflict of interest declared: you will not score “{nominee.title}”. If this was a "
        "mistake, ask the award's administrator: only they can lift it."
    ) as attempt:
        recusals.declare_recusal(award, nominee, juror=current_user, reason=form.reason.data)
    if attempt.failed:
        return redirect(url_for("jury.evaluate", slug=slug, nominee_slug=nominee_slug))
    return redirect(url_for("jury.dashboard"))


@blueprint.get("/awards/<slug>/nominees/<nominee_slug>/history")
def history(slug: str, nominee_slug: str):
    """Every saved version of the juror's own evaluation of this nominee, from the audit log."""
    award, nominee = _award_and_nominee(slug, nominee_slug)
    return render_template(
        "jury/history.html",
        award=award,
        nominee=nominee,
        criteria=award.criteria,
        versions=juror_view.history(award, nominee, juror=current_user),
    )
