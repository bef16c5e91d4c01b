"""The leaderboard: the provisional or final ranking, every method side by side, exports."""

import json

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user

from judging.admin import blueprint, charts
from judging.admin.forms import CastingForm
from judging.lookups import award_or_404
from judging.outcome import commit_or_explain
from judging.scoring import ranking
from judging.scoring.ties import same
from judging.services import casting as casting_service
from judging.services import results, voting
from judging.services.progress import jury_progress


def _method_of(method: str | None) -> str | None:
    return method if method in ranking.METHODS else None


def _method() -> str | None:
    return _method_of(request.args.get("method"))


# The leaderboard lists the top TOP nominees; "show the next" adds as many again, "show all"
# lists every one (the exports always hold them all).
TOP = 100


def _shown(total: int) -> int:
    """How many of the ranked nominees the page lists: ?show=N (at least TOP) or ?show=all."""
    asked = request.args.get("show", "")
    if asked == "all":
        return total
    return max(TOP, int(asked)) if asked.isdigit() else TOP


@blueprint.get("/awards/<slug>/leaderboard")
def leaderboard(slug: str):
    """Rank, score, criteria, coverage, flags, every method side by side, and two charts: the
    top TOP nominees, the rest a click away."""
    award = award_or_404(slug)
    method = _method() or award.aggregation_method
    computed = results.compute(award, method)
    result, nominees = computed.result, computed.nominees
    progress = jury_progress(award)
    jurors = {row.juror.id: row.juror.name for row in progress}  # every juror of the award
    ties = casting_service.tie_groups(result)
    total = len(result.results)
    shown = min(_shown(total), total)
    final = final_winners = None
    if award.vote_weight:  # ranked as publication ranks it: jury and vote combined
        count = voting.tally(award)
        final = results.final_document(award, computed, jurors, count)
        final_winners = results.combined_winners(award, result, count["votes"])
    return render_template(
        "admin/leaderboard.html",
        award=award,
        method=method,
        methods=ranking.METHOD_NAMES,
        result=result,
        scored=result.winner is not None,
        notes=_placement_notes(result),
        final=final,
        final_winners=final_winners,
        nominees=nominees,
        criteria=computed.criteria,
        jurors=jurors,
        progress=progress,
        ties=ties,
        casting_forms={key: CastingForm(prefix=f"tie-{i}") for i, key in enumerate(ties)},
        shown=shown,
        total=total,
        more=min(total, shown + TOP),
        distribution=charts.distribution(
            [
                (nominees[r.nominee].title, list(r.totals.values()), r.score)
                for r in result.results[:shown]
            ]
        ),
        severity=charts.severity(
            [
                (jurors.get(j.juror, str(j.juror)), j.severity or 0.0, j.outlier)
                for j in result.jurors
            ]
        ),
    )


def _placement_notes(result: ranking.Ranking[int]) -> dict[str, str]:
    """Why nominees with equal scores stand in this order, for each of them: the first of
    such a run is "ahead on median", the others "behind on median" (or the rule that split
    them); an order set by an administrator is "placed by a casting decision"."""
    notes = {}
    previous: float | None = None  # the score of the last nominee with one
    for r in result.results:
        if r.decided_by == "casting":
            notes[r.nominee] = "placed by a casting decision"
        elif r.decided_by != "score" and r.score is not None:
            level = previous is not None and same(previous, r.score)
            notes[r.nominee] = f"{'behind' if level else 'ahead'} on {r.decided_by}"
        previous = r.score if r.score is not None else previous
    return notes


@blueprint.post("/awards/<slug>/casting")
def casting(slug: str):
    """Record a casting decision: the order of nominees the rules left tied, and why."""
    award = award_or_404(slug)
    method = _method_of(request.form.get("method", ""))
    form = CastingForm(prefix=request.form.get("prefix", ""))
    with commit_or_explain("Casting decision recorded."):
        casting_service.record_casting(
            award,
            method=method,
            tied=tuple(request.form.getlist("tied")),
            order=tuple(request.form.getlist(f"{form._prefix}order")),
            # A form that does not validate (no reason, a stale CSRF token) gives no reason.
            reason=form.reason.data if form.validate_on_submit() else "",
            actor=current_user,
        )
    method = method or award.aggregation_method
    return redirect(url_for("admin.leaderboard", slug=slug, method=method))


def _download(body: str, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blueprint.get("/awards/<slug>/results.<any(json, csv):fmt>")
def export_results(slug: str, fmt: str):
    """The ranking with statistics and flags, as JSON or CSV; with a vote, the final ranking
    (as published) with each nominee's jury rank and score, votes and vote score."""
    award = award_or_404(slug)
    document = results.ranking_document(award, _method())
    name = f"{award.slug}-results-{document['method']}.{fmt}"
    if fmt == "json":
        return _download(
            json.dumps(document, indent=2, ensure_ascii=False), name, "application/json"
        )
    return _download(results.as_csv(document, bom=True), name, "text/csv")


@blueprint.get("/awards/<slug>/scores.<any(json, csv):fmt>")
def export_scores(slug: str, fmt: str):
    """Every score with its juror, comments and recusals, as JSON or CSV."""
    award = award_or_404(slug)
    rows = results.raw_scores(award)
    name = f"{award.slug}-scores.{fmt}"
    if fmt == "json":
        return _download(json.dumps(rows, indent=2, ensure_ascii=False), name, "application/json")
    return _download(results.raw_scores_csv(rows, bom=True), name, "text/csv")
