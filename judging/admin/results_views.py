"""The leaderboard: the provisional or final ranking, every method side by side, exports."""

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from judging import ranking
from judging.admin import charts
from judging.admin.forms import CastingForm
from judging.admin.views import blueprint
from judging.extensions import db
from judging.lookups import award_or_404
from judging.models import CastingDecision
from judging.services import results
from judging.services.audit import record_event
from judging.services.progress import jury_progress


def _method() -> str | None:
    method = request.args.get("method")
    return method if method in ranking.METHODS else None


@blueprint.get("/awards/<slug>/leaderboard")
def leaderboard(slug: str):
    """Rank, score, criteria, coverage, flags, every method side by side, and two charts."""
    award = award_or_404(slug)
    method = _method() or award.aggregation_method
    result, lookups = results.compute(award, method)
    jurors = results.juror_labels(award)
    nominees = lookups["nominees"]
    ties = _tie_groups(result)
    return render_template(
        "admin/leaderboard.html",
        award=award,
        method=method,
        methods=ranking.METHOD_NAMES,
        result=result,
        nominees=nominees,
        criteria=lookups["criteria"],
        jurors=jurors,
        progress=jury_progress(award),
        ties=ties,
        casting_forms={key: CastingForm(prefix=f"tie-{i}") for i, key in enumerate(ties)},
        distribution=charts.distribution(
            [(nominees[r.nominee].title, list(r.totals.values()), r.score) for r in result.results]
        ),
        severity=charts.severity(
            [
                (jurors.get(j.juror, str(j.juror)), j.severity or 0.0, j.outlier)
                for j in result.jurors
            ]
        ),
    )


def _tie_groups(result: ranking.Ranking) -> dict[tuple[str, ...], int]:
    groups: dict[int, list[str]] = {}
    for r in result.results:
        if r.tied and r.score is not None:
            groups.setdefault(r.rank, []).append(r.nominee)
    return {tuple(members): rank for rank, members in groups.items()}


@blueprint.post("/awards/<slug>/casting")
def casting(slug: str):
    """Record a casting decision: the order of nominees the rules left tied, and why."""
    award = award_or_404(slug)
    method = request.form.get("method", "")
    tied = tuple(request.form.getlist("tied"))
    form = CastingForm(prefix=request.form.get("prefix", ""))
    order = tuple(request.form.getlist(f"{form._prefix}order"))
    result, _ = results.compute(award, method if method in ranking.METHODS else None)
    current = {tuple(sorted(group)) for group in _tie_groups(result)}
    back = redirect(url_for("admin.leaderboard", slug=slug, method=result.method))
    if award.status == "published":
        flash("The results are published; no casting decision can be added.", "error")
        return back
    if not form.validate_on_submit():
        flash("Give the reason for the casting decision; nothing was recorded.", "error")
        return back
    if tuple(sorted(tied)) not in current:
        flash("Those nominees are no longer tied; nothing was recorded.", "error")
        return back
    if sorted(order) != sorted(tied) or len(set(order)) != len(order):
        flash("Put each tied nominee in exactly one place; nothing was recorded.", "error")
        return back
    db.session.add(
        CastingDecision(
            award_id=award.id,
            method=result.method,
            nominee_order=json.dumps(list(order)),
            reason=form.reason.data.strip(),
            decided_by_id=current_user.id,
        )
    )
    record_event(
        "ranking.casting_decision",
        f"award:{award.slug}",
        {"method": result.method, "order": list(order), "reason": form.reason.data},
        actor=current_user,
    )
    db.session.commit()
    flash("Casting decision recorded.", "success")
    return back


def _download(body: str, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blueprint.get("/awards/<slug>/results.<any(json, csv):fmt>")
def export_results(slug: str, fmt: str):
    """The ranking with statistics and flags, as JSON or CSV."""
    award = award_or_404(slug)
    result, lookups = results.compute(award, _method())
    document = results.as_json(award, result, lookups, results.juror_labels(award))
    name = f"{award.slug}-results-{result.method}.{fmt}"
    if fmt == "json":
        return _download(
            json.dumps(document, indent=2, ensure_ascii=False), name, "application/json"
        )
    return _download(results.as_csv(document), name, "text/csv")


@blueprint.get("/awards/<slug>/scores.<any(json, csv):fmt>")
def export_scores(slug: str, fmt: str):
    """Every score with its juror, comments and recusals, as JSON or CSV."""
    award = award_or_404(slug)
    rows = results.raw_scores(award)
    name = f"{award.slug}-scores.{fmt}"
    if fmt == "json":
        return _download(json.dumps(rows, indent=2, ensure_ascii=False), name, "application/json")
    return _download(results.raw_scores_csv(rows), name, "text/csv")
