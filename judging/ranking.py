"""From scores to a ranking, with the statistics a jury needs to defend it.

Pure: plain data in, plain data out; no Flask, no SQLAlchemy. Every number the leaderboard,
the exports and the published results show is computed here.

- A juror's total for a nominee is the weighted mean of their criterion scores, each rescaled
  to 0-100: sum(w * (s - min) / (max - min) * 100) / sum(w) over the criteria scored.
- Only submitted evaluations count, and none by a juror recused from that nominee.
- Methods: mean of totals (default), median, trimmed mean (highest and lowest dropped from five
  evaluations up), z-score (each juror's totals standardised, so harsh and lenient jurors weigh
  alike; reported as 50 + 10 z, clipped to 0-100) and Borda (each juror's own order, as points
  from 0 for their last to 100 for their first).
- Ties on the method's score (equal to 6 decimal places) go to the higher median, then to
  more first places among jurors, then to the higher mean on the heaviest criteria; a tie
  left after that is a shared rank, flagged, until an administrator records a casting
  decision.

Agreement between jurors (Kendall's W) and each juror's severity come from
judging.jury_statistics.
"""

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from judging.jury_statistics import (
    EPSILON,
    JurorStats,
    average_ranks,
    juror_stats,
    kendalls_w,
    std_dev,
)

METHODS = ("mean", "median", "trimmed_mean", "zscore", "borda")
METHOD_NAMES = {
    "mean": "Mean",
    "median": "Median",
    "trimmed_mean": "Trimmed mean",
    "zscore": "Z-score (juror-normalised)",
    "borda": "Borda count",
}
TRIM_FROM = 5  # evaluations a nominee needs before its highest and lowest totals are dropped
MISSING = -1.0  # a tie-break value that does not exist sorts below every real one (all >= 0)

Juror = Hashable


@dataclass(frozen=True)
class Criterion:
    slug: str
    weight: float
    scale_min: int
    scale_max: int


@dataclass(frozen=True)
class Evaluation:
    juror: Juror
    nominee: str
    scores: Mapping[str, int]
    submitted: bool = True


@dataclass(frozen=True)
class CastingDecision:
    """An administrator's order for nominees the rules left tied, with the reason."""

    order: tuple[str, ...]
    reason: str = ""


@dataclass
class NomineeResult:
    nominee: str
    rank: int
    score: float | None
    tied: bool
    coverage: int
    median: float | None
    spread: float | None  # standard deviation of the jurors' totals
    lowest: float | None
    highest: float | None
    first_places: int
    criterion_means: dict[str, float]
    totals: dict[Juror, float]
    scores_by_method: dict[str, float | None]
    decided_by: str = "score"  # score | median | first places | heaviest criteria | casting


@dataclass
class Flag:
    kind: str  # tie | low_coverage | outlier_juror | method_disagreement | no_evaluations
    message: str
    subjects: tuple = ()


@dataclass
class Ranking:
    method: str
    results: list[NomineeResult]
    jurors: list[JurorStats]
    kendall_w: float | None
    kendall_jurors: int
    sensitivity: dict[str, dict]
    flags: list[Flag] = field(default_factory=list)

    @property
    def winner(self) -> str | None:
        return (
            self.results[0].nominee if self.results and self.results[0].score is not None else None
        )


# --- Totals --------------------------------------------------------------------------------------


def juror_total(criteria: Sequence[Criterion], scores: Mapping[str, int]) -> float | None:
    """The weighted mean of the criterion scores, each rescaled to 0-100; None if none scored."""
    weighted = weights = 0.0
    for criterion in criteria:
        if criterion.slug in scores:
            span = criterion.scale_max - criterion.scale_min
            weighted += (
                criterion.weight * (scores[criterion.slug] - criterion.scale_min) / span * 100
            )
            weights += criterion.weight
    return weighted / weights if weights else None


def counted(
    evaluations: Iterable[Evaluation], recusals: Iterable[tuple[Juror, str]]
) -> list[Evaluation]:
    """The evaluations that count: submitted, and not by a juror recused from that nominee."""
    recused = set(recusals)
    return [e for e in evaluations if e.submitted and (e.juror, e.nominee) not in recused]


# --- The methods ---------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _trimmed_mean(values: Sequence[float]) -> float | None:
    if len(values) < TRIM_FROM:
        return _mean(values)
    ordered = sorted(values)
    return _mean(ordered[1:-1])


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _by_juror(totals: dict[str, dict[Juror, float]]) -> dict[Juror, dict[str, float]]:
    """nominee -> juror -> total, turned round: juror -> nominee -> total."""
    by_juror: dict[Juror, dict[str, float]] = defaultdict(dict)
    for nominee, per_juror in totals.items():
        for juror, total in per_juror.items():
            by_juror[juror][nominee] = total
    return by_juror


def _zscores(totals: dict[str, dict[Juror, float]]) -> dict[str, float | None]:
    z: dict[str, list[float]] = defaultdict(list)
    for own in _by_juror(totals).values():
        values = list(own.values())
        mu = sum(values) / len(values)
        sd = std_dev(values, sample=False)
        for nominee, total in own.items():
            # A juror who cannot tell nominees apart (or scored one) adds no information.
            z[nominee].append((total - mu) / sd if sd > EPSILON else 0.0)
    return {
        nominee: (
            min(100.0, max(0.0, 50 + 10 * (sum(z[nominee]) / len(z[nominee]))))
            if z[nominee]
            else None
        )
        for nominee in totals
    }


def _borda(totals: dict[str, dict[Juror, float]]) -> dict[str, float | None]:
    points: dict[str, list[float]] = defaultdict(list)
    for own in _by_juror(totals).values():
        nominees = list(own)
        k = len(nominees)
        ranks = average_ranks([own[n] for n in nominees])
        for nominee, rank in zip(nominees, ranks, strict=True):
            points[nominee].append((k - rank) / (k - 1) * 100 if k > 1 else 50.0)
    return {nominee: _mean(points[nominee]) for nominee in totals}


def method_scores(method: str, totals: dict[str, dict[Juror, float]]) -> dict[str, float | None]:
    """Each nominee's score under `method`, from the jurors' totals (nominee -> juror -> total)."""
    if method == "zscore":
        return _zscores(totals)
    if method == "borda":
        return _borda(totals)
    aggregate = {"mean": _mean, "median": _median, "trimmed_mean": _trimmed_mean}[method]
    return {nominee: aggregate(list(per.values())) for nominee, per in totals.items()}


# --- Ranking -------------------------------------------------------------------------------------


def rank(
    criteria: Sequence[Criterion],
    nominees: Sequence[str],
    evaluations: Iterable[Evaluation],
    recusals: Iterable[tuple[Juror, str]] = (),
    *,
    method: str = "mean",
    casting: Iterable[CastingDecision] = (),
    quorum: int = 1,
) -> Ranking:
    """Rank the nominees under `method`, with every statistic and flag.

    The order of the input rows never matters. Nominees nobody evaluated come last, unranked
    (score None).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    criteria = list(criteria)
    totals, criterion_values = _totals(criteria, nominees, counted(evaluations, recusals))

    by_method = {m: method_scores(m, totals) for m in METHODS}
    heaviest = _heaviest(criteria)
    firsts = _first_places(totals)
    results = [
        _result(n, totals[n], criterion_values[n], by_method, method, firsts, heaviest)
        for n in nominees
    ]
    tie_keys = {r.nominee: _tie_keys(r, heaviest) for r in results}
    casting = list(casting)
    by_slug = {r.nominee: r for r in results}
    ordered = []
    for placement in _order({r.nominee: r.score for r in results}, tie_keys, casting):
        result = by_slug[placement.nominee]
        result.rank, result.tied, result.decided_by = (
            placement.rank,
            placement.tied,
            placement.decided_by,
        )
        ordered.append(result)
    ranking = Ranking(
        method=method,
        results=ordered,
        jurors=juror_stats(totals),
        kendall_w=None,
        kendall_jurors=0,
        sensitivity={},
    )
    ranking.kendall_w, ranking.kendall_jurors = kendalls_w(totals, nominees)
    ranking.sensitivity = _sensitivity(by_method, tie_keys, casting, method)
    ranking.flags = _flags(ranking, quorum)
    return ranking


def _totals(criteria, nominees, evaluations):
    """nominee -> juror -> total, and nominee -> criterion -> rescaled scores (one pass; the
    same arithmetic as juror_total, unrolled because it runs for every evaluation)."""
    scales = [(c.slug, c.weight, c.scale_min, 100 / (c.scale_max - c.scale_min)) for c in criteria]
    totals: dict[str, dict[Juror, float]] = {n: {} for n in nominees}
    values: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in nominees}
    for evaluation in evaluations:
        per_juror = totals.get(evaluation.nominee)
        if per_juror is None:
            continue
        per_criterion = values[evaluation.nominee]
        weighted = weights = 0.0
        for slug, weight, low, factor in scales:
            score = evaluation.scores.get(slug)
            if score is not None:
                rescaled = (score - low) * factor
                weighted += weight * rescaled
                weights += weight
                per_criterion[slug].append(rescaled)
        if weights:
            per_juror[evaluation.juror] = weighted / weights
    return totals, values


def _heaviest(criteria: Sequence[Criterion]) -> tuple[str, ...]:
    if not criteria:
        return ()
    top = max(c.weight for c in criteria)
    return tuple(c.slug for c in criteria if c.weight == top)


def _first_places(totals: dict[str, dict[Juror, float]]) -> dict[str, int]:
    """How many jurors put each nominee first (all of a juror's tied firsts count)."""
    best: dict[Juror, float] = {}
    for per in totals.values():
        for juror, total in per.items():
            best[juror] = max(best.get(juror, -math.inf), total)
    return {
        nominee: sum(1 for juror, total in per.items() if total >= best[juror] - EPSILON)
        for nominee, per in totals.items()
    }


def _result(nominee, per_juror, criterion_values, by_method, method, firsts, heaviest):
    values = sorted(per_juror.values())
    n = len(values)
    means = {slug: sum(v) / len(v) for slug, v in criterion_values.items() if v}
    return NomineeResult(
        nominee=nominee,
        rank=0,
        score=by_method[method][nominee],
        tied=False,
        coverage=n,
        median=(values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2)
        if n
        else None,
        spread=std_dev(values, sample=True) if values else None,
        lowest=values[0] if values else None,
        highest=values[-1] if values else None,
        first_places=firsts[nominee],
        criterion_means=means,
        totals=dict(per_juror),
        scores_by_method={m: by_method[m][nominee] for m in METHODS},
    )


def _heaviest_mean(result: NomineeResult, heaviest: tuple[str, ...]) -> float:
    values = [result.criterion_means[s] for s in heaviest if s in result.criterion_means]
    return sum(values) / len(values) if values else MISSING


TIE_BREAKS = ("median", "first places", "heaviest criteria")


def _tie_keys(result: NomineeResult, heaviest: tuple[str, ...]) -> tuple[float, float, float]:
    """The values TIE_BREAKS compare, higher first."""
    return (
        result.median if result.median is not None else MISSING,
        float(result.first_places),
        _heaviest_mean(result, heaviest),
    )


def _runs(items: list[str], value: dict[str, float]) -> list[list[str]]:
    """Consecutive items (already sorted by `value`, highest first) with equal values.

    Equal means equal to 6 decimal places: float noise is not a difference between nominees.
    """
    return [list(run) for _, run in itertools.groupby(items, key=lambda i: round(value[i] * 1e6))]


class Placement(NamedTuple):
    nominee: str
    rank: int
    tied: bool
    decided_by: str


def _order(
    score: dict[str, float | None],
    tie_keys: Mapping[str, tuple[float, ...]],
    casting: list[CastingDecision],
) -> list[Placement]:
    """Sort by score, break ties by the rules, apply casting decisions, and number the ranks.

    Ranks are shared by nominees still tied after every rule (1, 2, 2, 4).
    """
    known = {n: s for n, s in score.items() if s is not None}
    scored = sorted(known, key=lambda n: (-known[n], n))
    unscored = sorted(n for n in score if score[n] is None)
    decided_by: dict[str, str] = {}
    groups: list[list[str]] = []
    for run in _runs(scored, known):
        groups.extend(_break_ties(run, tie_keys, 0, decided_by))

    decisions = {frozenset(d.order): d for d in casting}
    placements: list[Placement] = []
    position = 1
    for group in groups:
        decision = decisions.get(frozenset(group)) if len(group) > 1 else None
        if decision:
            for offset, nominee in enumerate(decision.order):
                placements.append(Placement(nominee, position + offset, False, "casting"))
        else:
            placements.extend(
                Placement(n, position, len(group) > 1, decided_by.get(n, "score")) for n in group
            )
        position += len(group)
    placements.extend(Placement(n, position, len(unscored) > 1, "score") for n in unscored)
    return placements


def _break_ties(group: list[str], tie_keys, depth: int, decided_by: dict) -> list[list[str]]:
    """Split an equal-score group into ordered runs by TIE_BREAKS, one rule after another."""
    if len(group) == 1 or depth == len(TIE_BREAKS):
        return [sorted(group)]
    value = {n: tie_keys[n][depth] for n in group}
    runs = _runs(sorted(group, key=lambda n: (-value[n], n)), value)
    if len(runs) > 1:
        for nominee in group:
            decided_by.setdefault(nominee, TIE_BREAKS[depth])
    return [part for run in runs for part in _break_ties(run, tie_keys, depth + 1, decided_by)]


# --- Statistics ----------------------------------------------------------------------------------


def _sensitivity(by_method, tie_keys, casting, chosen) -> dict[str, dict]:
    """The winner and top three under every method, and whether they differ from `chosen`'s."""
    outcome = {}
    for method in METHODS:
        ordered = [
            p
            for p in _order(by_method[method], tie_keys, casting)
            if by_method[method][p.nominee] is not None
        ]
        outcome[method] = {
            "winner": ordered[0].nominee if ordered else None,
            "winner_tied": bool(ordered) and ordered[0].tied,
            "top3": [p.nominee for p in ordered[:3]],
        }
    for method in METHODS:
        outcome[method]["same_winner"] = outcome[method]["winner"] == outcome[chosen]["winner"]
        outcome[method]["same_top3"] = outcome[method]["top3"] == outcome[chosen]["top3"]
    return outcome


def _flags(ranking: Ranking, quorum: int) -> list[Flag]:
    flags = []
    groups: dict[int, list[str]] = defaultdict(list)
    for r in ranking.results:
        if r.tied and r.score is not None:
            groups[r.rank].append(r.nominee)
    for position, members in sorted(groups.items()):
        flags.append(
            Flag(
                "tie",
                f"Tied at rank {position}: the rules cannot separate them; "
                "record a casting decision.",
                tuple(members),
            )
        )
    low = [r.nominee for r in ranking.results if r.coverage < quorum]
    if low:
        flags.append(
            Flag(
                "low_coverage",
                f"{len(low)} nominee(s) have fewer than {quorum} evaluation(s).",
                tuple(low),
            )
        )
    for juror in ranking.jurors:
        if juror.outlier:
            kind = "harsher" if juror.severity < 0 else "more lenient"
            flags.append(
                Flag(
                    "outlier_juror",
                    f"A juror scores markedly {kind} than the panel "
                    f"({juror.severity:+.1f} points on average).",
                    (juror.juror,),
                )
            )
    differing = [
        m
        for m, o in ranking.sensitivity.items()
        if not o["same_winner"] and o["winner"] is not None
    ]
    if differing:
        flags.append(
            Flag(
                "method_disagreement",
                "The winner changes under " + ", ".join(METHOD_NAMES[m] for m in differing) + ".",
                tuple(differing),
            )
        )
    if all(r.score is None for r in ranking.results):
        flags.append(Flag("no_evaluations", "No submitted evaluation yet."))
    return flags
