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
- Ties on the method's score (the same to ties.PLACES decimal places) go to the higher median,
  then to more first places among jurors, then to the higher mean on the heaviest criteria; a
  tie left after that is a shared rank, flagged, until an administrator records a casting
  decision (judging.scoring.ties).

Agreement between jurors (Kendall's W) and each juror's severity come from
judging.scoring.jury_statistics.
"""

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic

from judging.scoring.jury_statistics import (
    Juror,
    JurorStats,
    average_ranks,
    juror_stats,
    kendalls_w,
    std_dev,
)
from judging.scoring.ties import CastingDecision, Outcome, order, same, sensitivity

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

# nominee -> juror -> the juror's total for that nominee
Totals = dict[str, dict[Juror, float]]


@dataclass(frozen=True)
class Criterion:
    slug: str
    weight: float
    scale_min: int
    scale_max: int


@dataclass(frozen=True)
class Evaluation(Generic[Juror]):
    juror: Juror
    nominee: str
    scores: Mapping[str, int]
    submitted: bool = True


@dataclass
class NomineeResult(Generic[Juror]):
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
    # Nominee slugs (tie, low_coverage), method names (method_disagreement) or the juror
    # (outlier_juror): Any, so that a caller indexes its own lookups with them as they are.
    subjects: tuple[Any, ...] = ()


@dataclass
class Ranking(Generic[Juror]):
    method: str
    results: list[NomineeResult[Juror]]
    jurors: list[JurorStats[Juror]]
    kendall_w: float | None
    kendall_jurors: int
    sensitivity: dict[str, Outcome]
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
    evaluations: Iterable[Evaluation[Juror]], recusals: Iterable[tuple[Juror, str]]
) -> list[Evaluation[Juror]]:
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


def _by_juror(totals: Totals[Juror]) -> dict[Juror, dict[str, float]]:
    """nominee -> juror -> total, turned round: juror -> nominee -> total."""
    by_juror: dict[Juror, dict[str, float]] = defaultdict(dict)
    for nominee, per_juror in totals.items():
        for juror, total in per_juror.items():
            by_juror[juror][nominee] = total
    return by_juror


def _zscores(totals: Totals[Juror]) -> dict[str, float | None]:
    z: dict[str, list[float]] = defaultdict(list)
    for own in _by_juror(totals).values():
        values = list(own.values())
        mu = sum(values) / len(values)
        sd = std_dev(values, sample=False)
        for nominee, total in own.items():
            # A juror who cannot tell nominees apart (or scored one) adds no information.
            z[nominee].append(0.0 if same(sd, 0.0) else (total - mu) / sd)
    return {
        nominee: (
            min(100.0, max(0.0, 50 + 10 * (sum(z[nominee]) / len(z[nominee]))))
            if z[nominee]
            else None
        )
        for nominee in totals
    }


def _borda(totals: Totals[Juror]) -> dict[str, float | None]:
    points: dict[str, list[float]] = defaultdict(list)
    for own in _by_juror(totals).values():
        nominees = list(own)
        k = len(nominees)
        ranks = average_ranks([own[n] for n in nominees])
        for nominee, rank in zip(nominees, ranks, strict=True):
            points[nominee].append((k - rank) / (k - 1) * 100 if k > 1 else 50.0)
    return {nominee: _mean(points[nominee]) for nominee in totals}


def method_scores(method: str, totals: Totals[Juror]) -> dict[str, float | None]:
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
    evaluations: Iterable[Evaluation[Juror]],
    recusals: Iterable[tuple[Juror, str]] = (),
    *,
    method: str = "mean",
    casting: Iterable[CastingDecision] = (),
    quorum: int = 1,
) -> Ranking[Juror]:
    """Rank the nominees under `method`, with every statistic and flag.

    The order of the input rows never matters. Nominees nobody evaluated come last, unranked
    (score None).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    criteria = list(criteria)
    totals: Totals[Juror]
    totals, criterion_values = _totals(criteria, nominees, counted(evaluations, recusals))

    by_method = {m: method_scores(m, totals) for m in METHODS}
    heaviest = _heaviest(criteria)
    firsts = _first_places(totals)
    results = [
        _result(n, totals[n], criterion_values[n], by_method, method, firsts) for n in nominees
    ]
    tie_keys = {r.nominee: _tie_keys(r, heaviest) for r in results}
    decisions = list(casting)
    by_slug = {r.nominee: r for r in results}
    ordered = []
    for placement in order({r.nominee: r.score for r in results}, tie_keys, decisions):
        result = by_slug[placement.nominee]
        result.rank, result.tied, result.decided_by = (
            placement.rank,
            placement.tied,
            placement.decided_by,
        )
        ordered.append(result)
    ranking = Ranking[Juror](
        method=method,
        results=ordered,
        jurors=juror_stats(totals),
        kendall_w=None,
        kendall_jurors=0,
        sensitivity={},
    )
    ranking.kendall_w, ranking.kendall_jurors = kendalls_w(totals, nominees)
    ranking.sensitivity = sensitivity(by_method, tie_keys, decisions, method)
    ranking.flags = _flags(ranking, quorum)
    return ranking


def _totals(
    criteria: Sequence[Criterion],
    nominees: Sequence[str],
    evaluations: Iterable[Evaluation[Juror]],
) -> tuple[Totals[Juror], dict[str, dict[str, list[float]]]]:
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


def _first_places(totals: Totals[Juror]) -> dict[str, int]:
    """How many jurors put each nominee first (all of a juror's tied firsts count)."""
    best: dict[Juror, float] = {}
    for per in totals.values():
        for juror, total in per.items():
            best[juror] = max(best.get(juror, -math.inf), total)
    return {
        nominee: sum(1 for juror, total in per.items() if same(total, best[juror]))
        for nominee, per in totals.items()
    }


def _result(
    nominee: str,
    per_juror: dict[Juror, float],
    criterion_values: dict[str, list[float]],
    by_method: dict[str, dict[str, float | None]],
    method: str,
    firsts: dict[str, int],
) -> NomineeResult[Juror]:
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


def _heaviest_mean(result: NomineeResult[Any], heaviest: tuple[str, ...]) -> float:
    values = [result.criterion_means[s] for s in heaviest if s in result.criterion_means]
    return sum(values) / len(values) if values else MISSING


def _tie_keys(result: NomineeResult[Any], heaviest: tuple[str, ...]) -> tuple[float, float, float]:
    """The values ties.TIE_BREAKS compare, higher first."""
    return (
        result.median if result.median is not None else MISSING,
        float(result.first_places),
        _heaviest_mean(result, heaviest),
    )


# --- Flags ---------------------------------------------------------------------------------------


def _flags(ranking: Ranking[Any], quorum: int) -> list[Flag]:
    flags: list[Flag] = []
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
