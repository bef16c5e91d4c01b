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

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple

from judging.scoring.jury_statistics import (
    ByJuror,
    Juror,
    JurorStats,
    average_ranks,
    by_juror,
    kendalls_w,
    severity_stats,
    std_dev,
)
from judging.scoring.ties import TOLERANCE, CastingDecision, Outcome, order, same, sensitivity

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


# --- The methods ---------------------------------------------------------------------------------


class _Spread(NamedTuple):
    """What a nominee's totals give without the other nominees: the three plain methods' scores
    and the figures shown beside them."""

    mean: float
    median: float
    trimmed_mean: float
    spread: float  # standard deviation of the jurors' totals
    lowest: float
    highest: float


def _spread(values: list[float]) -> _Spread | None:
    """The figures of one nominee's totals (in the jurors' order: the mean adds them so)."""
    n = len(values)
    if not n:
        return None
    ordered = sorted(values)
    mean = sum(values) / n
    return _Spread(
        mean,
        ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2,
        # The trimmed mean drops the highest and lowest from TRIM_FROM evaluations up.
        sum(ordered[1:-1]) / (n - 2) if n >= TRIM_FROM else mean,
        std_dev(ordered, sample=True),
        ordered[0],
        ordered[-1],
    )


def _zscores(jurors: ByJuror[Any], coverage: Sequence[int]) -> list[float | None]:
    """Each nominee's z-score (by position): the mean of its jurors' standardised totals, as
    50 + 10 z clipped to 0-100."""
    z = [0.0] * len(coverage)  # the sum of each nominee's z, added in the jurors' order
    for positions, values in jurors.values():
        mu = sum(values) / len(values)
        sd = std_dev(values, sample=False)
        if same(sd, 0.0):
            continue  # a juror who cannot tell nominees apart (or scored one) adds z = 0
        for position, total in zip(positions, values, strict=True):
            z[position] += (total - mu) / sd
    return [
        min(100.0, max(0.0, 50 + 10 * (z[i] / count))) if count else None
        for i, count in enumerate(coverage)
    ]


def _borda(jurors: ByJuror[Any], coverage: Sequence[int]) -> list[float | None]:
    """Each nominee's Borda score (by position): each juror's own order as points, from 0 for
    their last to 100 for their first, averaged."""
    points = [0.0] * len(coverage)  # the sum of each nominee's points, in the jurors' order
    for positions, values in jurors.values():
        k = len(values)
        if k == 1:
            points[positions[0]] += 50.0
            continue
        for position, rank in zip(positions, average_ranks(values), strict=True):
            points[position] += (k - rank) / (k - 1) * 100
    return [points[i] / count if count else None for i, count in enumerate(coverage)]


def _first_places(jurors: ByJuror[Any], nominees: int) -> list[int]:
    """How many jurors put each nominee (by position) first (all of a juror's tied firsts)."""
    firsts = [0] * nominees
    for positions, values in jurors.values():
        best = max(values)
        for position, total in zip(positions, values, strict=True):
            if abs(total - best) <= TOLERANCE:  # same(total, best), inlined: hot
                firsts[position] += 1
    return firsts


def _all_methods(
    totals: Totals[Juror], jurors: ByJuror[Juror]
) -> tuple[dict[str, dict[str, float | None]], list[_Spread | None]]:
    """Every method's scores (method -> nominee -> score), and each nominee's _Spread."""
    spreads = [_spread(list(per.values())) for per in totals.values()]
    coverage = [len(per) for per in totals.values()]
    by_position: dict[str, list[float | None]] = {
        "mean": [s and s.mean for s in spreads],
        "median": [s and s.median for s in spreads],
        "trimmed_mean": [s and s.trimmed_mean for s in spreads],
        "zscore": _zscores(jurors, coverage),
        "borda": _borda(jurors, coverage),
    }
    return {m: dict(zip(totals, by_position[m], strict=True)) for m in METHODS}, spreads


def method_scores(method: str, totals: Totals[Juror]) -> dict[str, float | None]:
    """Each nominee's score under `method`, from the jurors' totals (nominee -> juror -> total)."""
    return _all_methods(totals, by_juror(totals))[0][method]


# --- Ranking -------------------------------------------------------------------------------------

# ((juror, nominee), criterion -> score) of each submitted evaluation, as a dict's items()
Scores = Collection[tuple[tuple[Juror, str], Mapping[str, int]]]


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
    submitted = [((e.juror, e.nominee), e.scores) for e in evaluations if e.submitted]
    return rank_scores(
        criteria, nominees, submitted, recusals, method=method, casting=casting, quorum=quorum
    )


def rank_scores(
    criteria: Sequence[Criterion],
    nominees: Sequence[str],
    scores: Scores[Juror],
    recusals: Iterable[tuple[Juror, str]] = (),
    *,
    method: str = "mean",
    casting: Iterable[CastingDecision] = (),
    quorum: int = 1,
) -> Ranking[Juror]:
    """`rank`, from the submitted evaluations' scores as ((juror, nominee), criterion -> score)
    pairs (a dict's items()): what a caller reading score rows builds in one pass, without an
    Evaluation per row. Recused pairs do not count; nominees not in `nominees` are left out."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    criteria = list(criteria)
    totals, criterion_means = _totals(criteria, nominees, scores, set(recusals))
    jurors = by_juror(totals)
    by_method, spreads = _all_methods(totals, jurors)
    position = {n: i for i, n in enumerate(totals)}
    firsts = _first_places(jurors, len(totals))
    heaviest = _heaviest(criteria)
    chosen = by_method[method]
    results = []
    tie_keys = {}  # the values ties.TIE_BREAKS compare, higher first
    for n in nominees:
        i = position[n]
        spread = spreads[i]
        means = criterion_means[n]
        results.append(
            NomineeResult(
                n,
                0,
                chosen[n],
                False,
                len(totals[n]),
                spread and spread.median,
                spread and spread.spread,
                spread and spread.lowest,
                spread and spread.highest,
                firsts[i],
                means,
                totals[n],
                {m: by_method[m][n] for m in METHODS},
            )
        )
        tie_keys[n] = (
            spread.median if spread else MISSING,
            float(firsts[i]),
            _heaviest_mean(means, heaviest),
        )
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
    panel = [s.mean if s else 0.0 for s in spreads]  # each nominee's mean total, by position
    ranking = Ranking[Juror](
        method=method,
        results=ordered,
        jurors=severity_stats(jurors, panel),
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
    scores: Scores[Juror],
    recused: set[tuple[Juror, str]],
) -> tuple[Totals[Juror], dict[str, dict[str, float]]]:
    """nominee -> juror -> total, and nominee -> criterion -> mean rescaled score, in one pass
    (the same arithmetic as juror_total, unrolled because it runs for every evaluation).

    A nominee's criterion means are in the order the criteria first appear among its
    evaluations (each evaluation's in the criteria's order): the criteria's order unless an
    evaluation left one out."""
    k = len(criteria)
    scales = [
        (c.slug, c.weight, c.scale_min, 100 / (c.scale_max - c.scale_min), i)
        for i, c in enumerate(criteria)
    ]
    totals: Totals[Juror] = {n: {} for n in nominees}
    # Per nominee: the sum of each criterion's rescaled scores, then how many evaluations that
    # left some criterion out scored each, then how many scored them all.
    sums: dict[str, list[float]] = {n: [0.0] * (2 * k + 1) for n in totals}
    ragged: set[str] = set()  # nominees with an evaluation that left a criterion out
    for (juror, nominee), own in scores:
        per_juror = totals.get(nominee)
        if per_juror is None or (recused and (juror, nominee) in recused):
            continue
        acc = sums[nominee]
        weighted = weights = 0.0
        scored = 0
        for slug, weight, low, factor, i in scales:
            score = own.get(slug)
            if score is not None:
                rescaled = (score - low) * factor
                weighted += weight * rescaled
                weights += weight
                acc[i] += rescaled
                scored += 1
        if scored == k:
            acc[-1] += 1
        elif scored:
            ragged.add(nominee)
            for slug, _, _, _, i in scales:
                if own.get(slug) is not None:
                    acc[k + i] += 1
        if weights:
            per_juror[juror] = weighted / weights
    slugs = [c.slug for c in criteria]
    first_seen = _criteria_seen(slugs, scores, ragged, recused) if ragged else {}
    means: dict[str, dict[str, float]] = {}
    for nominee, acc in sums.items():
        complete = acc[-1]
        means[nominee] = {
            slugs[i]: acc[i] / int(acc[k + i] + complete)
            for i in first_seen.get(nominee, range(k))
            if acc[k + i] + complete
        }
    return totals, means


def _criteria_seen(
    slugs: list[str],
    scores: Scores[Juror],
    nominees: set[str],
    recused: set[tuple[Juror, str]],
) -> dict[str, list[int]]:
    """For each of `nominees`, the criteria (by position) in the order they first appear among
    its evaluations that count."""
    seen: dict[str, list[int]] = {n: [] for n in nominees}
    for (juror, nominee), own in scores:
        found = seen.get(nominee)
        if found is None or (juror, nominee) in recused:
            continue
        for i, slug in enumerate(slugs):
            if own.get(slug) is not None and i not in found:
                found.append(i)
    return seen


def _heaviest(criteria: Sequence[Criterion]) -> tuple[str, ...]:
    if not criteria:
        return ()
    top = max(c.weight for c in criteria)
    return tuple(c.slug for c in criteria if c.weight == top)


def _heaviest_mean(means: dict[str, float], heaviest: tuple[str, ...]) -> float:
    """The mean of a nominee's criterion means on the heaviest criteria (MISSING if none)."""
    values = [means[s] for s in heaviest if s in means]
    return sum(values) / len(values) if values else MISSING


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
