"""How a jury agrees and how each juror scores: statistics reported beside every ranking.

Pure, like the rest of judging.scoring: plain numbers in, plain numbers out. Equal totals are
those judging.scoring.ties calls the same.
"""

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from judging.scoring.ties import TOLERANCE, same

Juror = TypeVar("Juror", bound=Hashable)  # whatever the caller names jurors by (an id, a label)

# juror -> (the nominees they have a total for, as positions in the nominees' order; those
# totals), each in the order of the nominees: every statistic per juror reads this one view.
ByJuror = dict[Juror, tuple[list[int], list[float]]]


@dataclass
class JurorStats(Generic[Juror]):
    juror: Juror
    evaluations: int
    mean_total: float
    severity: float  # mean of (own total - panel's mean total) on the nominees evaluated
    outlier: bool = False


def std_dev(values: Sequence[float], *, sample: bool) -> float:
    """Standard deviation in plain floats (the statistics module's exact fractions are slow)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum([(v - mean) ** 2 for v in values]) / (n - 1 if sample else n))


def average_ranks(values: Sequence[float]) -> list[float]:
    """1 for the highest value; tied values share the mean of their places."""
    # Highest first; equal values keep their input order (a reversed sort stays stable).
    order = sorted(range(len(values)), key=values.__getitem__, reverse=True)
    ordered = [values[k] for k in order]
    ranks = [0.0] * len(values)
    n = len(order)
    i = 0
    while i < n:
        first = ordered[i]
        j = i
        while j + 1 < n and abs(ordered[j + 1] - first) <= TOLERANCE:  # same(), inlined: hot
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def kendalls_w(
    totals: Mapping[str, Mapping[Juror, float]], nominees: Sequence[str]
) -> tuple[float | None, int]:
    """Kendall's W (with the correction for ties) over the jurors who evaluated every nominee.

    0 means no agreement between the jurors' orders, 1 complete agreement. None with fewer than
    two such jurors or two nominees.
    """
    jurors_of = [set(totals[n]) for n in nominees]
    complete = sorted(set.intersection(*jurors_of), key=repr) if jurors_of else []
    m, n = len(complete), len(nominees)
    if m < 2 or n < 2:
        return None, m
    rank_sums = [0.0] * n
    tie_correction = 0.0
    for juror in complete:
        values = [totals[nominee][juror] for nominee in nominees]
        for i, r in enumerate(average_ranks(values)):
            rank_sums[i] += r
        tie_correction += sum(t**3 - t for t in tie_sizes(values))
    mean_sum = m * (n + 1) / 2
    s = sum((r - mean_sum) ** 2 for r in rank_sums)
    denominator = m**2 * (n**3 - n) - m * tie_correction
    if denominator <= 0:
        return None, m  # every juror tied every nominee: agreement is undefined
    return 12 * s / denominator, m


def tie_sizes(values: Sequence[float]) -> list[int]:
    """The sizes of the groups of equal values (groups of one left out)."""
    ordered = sorted(values)
    sizes: list[int] = []
    run = 1
    for a, b in itertools.pairwise(ordered):
        if same(a, b):
            run += 1
        else:
            sizes.append(run)
            run = 1
    sizes.append(run)
    return [s for s in sizes if s > 1]


def by_juror(totals: Mapping[str, Mapping[Juror, float]]) -> ByJuror[Juror]:
    """nominee -> juror -> total, turned round: each juror's nominees (positions in `totals`)
    and totals, in the order of `totals`; jurors in the order they first appear."""
    view: ByJuror[Juror] = {}
    for position, per in enumerate(totals.values()):
        for juror, total in per.items():
            own = view.get(juror)
            if own is None:
                own = view[juror] = ([], [])
            own[0].append(position)
            own[1].append(total)
    return view


def juror_stats(totals: Mapping[str, Mapping[Juror, float]]) -> list[JurorStats[Juror]]:
    """Each juror's evaluations, mean total and severity; with four jurors or more, whether
    their severity is an outlier (more than two standard deviations from the others')."""
    panel = [sum(per.values()) / len(per) if per else 0.0 for per in totals.values()]
    return severity_stats(by_juror(totals), panel)


def severity_stats(jurors: ByJuror[Juror], panel: Sequence[float]) -> list[JurorStats[Juror]]:
    """juror_stats from the jurors' view (`by_juror`) and the panel's mean total of each nominee
    (by position): what the ranking has already worked out."""
    stats: list[JurorStats[Juror]] = []
    for juror in sorted(jurors, key=repr):
        positions, values = jurors[juror]
        stats.append(
            JurorStats(
                juror=juror,
                evaluations=len(values),
                mean_total=sum(values) / len(values),
                severity=sum([t - panel[n] for n, t in zip(positions, values, strict=True)])
                / len(values),
            )
        )
    severities = [s.severity for s in stats]
    if len(severities) >= 4:
        centre = sum(severities) / len(severities)
        sd = std_dev(severities, sample=False)
        for s in stats:
            s.outlier = not same(sd, 0.0) and abs(s.severity - centre) > 2 * sd
    return stats
