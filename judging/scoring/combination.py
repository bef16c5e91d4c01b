"""The jury's scores combined with a vote: the final score and the final order.

Pure, like the rest of judging.scoring. judging.services.results reads the tally and the
award's weights and calls `combine`; publication, the leaderboard, its exports and
`flask results` all rank with it.
"""

from collections.abc import Mapping
from typing import Any

from judging.scoring.ranking import METHODS, Ranking
from judging.scoring.ties import same

VOTE_FORMULA = (
    "final = jury weight x jury score + vote weight x vote score; "
    "vote score = 100 x votes / votes of the most-voted nominee"
)


def vote_scores(votes: Mapping[str, int], nominees: list[str]) -> dict[str, float]:
    """100 x votes / votes of the most-voted nominee (0 for everyone when nobody voted)."""
    top = max((votes.get(n, 0) for n in nominees), default=0)
    return {n: (100 * votes.get(n, 0) / top if top else 0.0) for n in nominees}


def _same_or_none(a: float | None, b: float | None) -> bool:
    return a is b if a is None or b is None else same(a, b)


def combine(
    nominees: list[dict[str, Any]], votes: Mapping[str, int], jury_weight: int, vote_weight: int
) -> list[dict[str, Any]]:
    """Re-rank result rows (dicts with "slug" and the jury's "score") by the final score, in
    place: each row gains jury_score, votes and vote_score; score, rank and tied become the
    final ones. Rows with the same final and jury scores (ties.same) share a rank."""
    slugs = [n["slug"] for n in nominees]
    scores = vote_scores(votes, slugs)
    for n in nominees:
        n["jury_score"] = n["score"]
        n["votes"] = votes.get(n["slug"], 0)
        n["vote_score"] = round(scores[n["slug"]], 2)
        jury = n["score"] or 0.0
        n["score"] = round((jury_weight * jury + vote_weight * scores[n["slug"]]) / 100, 2)
    nominees.sort(key=lambda n: (-n["score"], -(n["jury_score"] or 0), n["slug"]))
    position = 0
    for index, n in enumerate(nominees):
        previous = nominees[index - 1] if index else None
        level = (
            previous is not None
            and same(previous["score"], n["score"])
            and _same_or_none(previous["jury_score"], n["jury_score"])
        )
        position = position if level else index + 1
        n["rank"] = position
    for n in nominees:
        n["tied"] = sum(1 for m in nominees if m["rank"] == n["rank"]) > 1
    return nominees


def final_winners(
    result: Ranking[Any], votes: Mapping[str, int], jury_weight: int, vote_weight: int
) -> dict[str, str | None]:
    """method -> the final winner's slug (None without scores) if the jury's scores came from
    that method: the vote's share of "is the winner robust?". Jury scores are rounded to 2
    places first, as in the results document."""
    winners = {}
    for method in METHODS:
        rows: list[dict[str, Any]] = [
            {"slug": r.nominee, "score": _two_places(r.scores_by_method[method])}
            for r in result.results
        ]
        combine(rows, votes, jury_weight, vote_weight)
        scored = [n for n in rows if n["jury_score"] is not None or n["votes"]]
        winners[method] = scored[0]["slug"] if scored else None
    return winners


def _two_places(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
