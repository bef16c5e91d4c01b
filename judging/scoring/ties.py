"""When two scores are the same, and how nominees with the same score are put in order.

Pure, like the rest of judging.scoring: plain values in, plain values out.

- `same` is the one equality of the core: two scores or totals are the same when they differ by
  at most 10**-PLACES. The ranking's runs of equal scores, its first places, the jury
  statistics' tied ranks and the combination with a vote all compare through it.
- An equal-score run is split by TIE_BREAKS, one rule after another (the values come from the
  ranking, higher first); a run still tied after every rule shares a rank until an
  administrator records a CastingDecision for exactly that group.
- `sensitivity` is the same ordering under every method: does the winner or the top three
  change?
"""

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypedDict

PLACES = 9
TOLERANCE = 10.0**-PLACES  # float noise, not a difference between nominees

TIE_BREAKS = ("median", "first places", "heaviest criteria")


def same(a: float, b: float) -> bool:
    """Whether two scores or totals are equal to PLACES decimal places (differ by at most
    10**-PLACES)."""
    return abs(a - b) <= TOLERANCE


def runs(items: Sequence[str], value: Mapping[str, float]) -> list[list[str]]:
    """Consecutive items (already sorted by `value`, highest first) with the same value as the
    first of their run."""
    return list(_runs(items, value))


def _runs(items: Iterable[str], value: Mapping[str, float]) -> Iterator[list[str]]:
    """runs, one at a time: a caller that needs only the first few stops early."""
    run: list[str] = []
    first = 0.0
    for item in items:
        current = value[item]
        if run and abs(first - current) <= TOLERANCE:  # same(first, current), inlined: hot
            run.append(item)
        else:
            if run:
                yield run
            run, first = [item], current
    if run:
        yield run


@dataclass(frozen=True)
class CastingDecision:
    """An administrator's order for nominees the rules left tied, with the reason."""

    order: tuple[str, ...]
    reason: str = ""


class Placement(NamedTuple):
    nominee: str
    rank: int
    tied: bool
    decided_by: str


def order(
    score: Mapping[str, float | None],
    tie_keys: Mapping[str, tuple[float, ...]],
    casting: Sequence[CastingDecision],
    *,
    limit: int | None = None,
) -> list[Placement]:
    """Sort by score, break ties by the rules, apply casting decisions, and number the ranks.

    Ranks are shared by nominees still tied after every rule (1, 2, 2, 4). With `limit`, only
    the scored nominees down to place `limit` (and the whole of a group that reaches it): the
    same placements as the full order's first ones, for a caller that wants only the top.
    """
    known = {n: s for n, s in score.items() if s is not None}
    decisions = {frozenset(d.order): d for d in casting}
    if limit is not None:
        return _top(known, tie_keys, decisions, limit)
    placements, _, position = _place(_by_score(known), known, tie_keys, decisions, None)
    unscored = sorted(n for n in score if score[n] is None)
    placements.extend(Placement(n, position, len(unscored) > 1, "score") for n in unscored)
    return placements


def _by_score(score: Mapping[str, float]) -> list[str]:
    """The nominees by score, highest first, then by name: sorted by name, then (stably) by
    score, both without a key function per nominee."""
    names = sorted(score)
    names.sort(key=score.__getitem__, reverse=True)  # a reversed sort stays stable
    return names


def _top(
    known: Mapping[str, float],
    tie_keys: Mapping[str, tuple[float, ...]],
    decisions: Mapping[frozenset[str], CastingDecision],
    limit: int,
) -> list[Placement]:
    """order(..., limit=limit) without sorting every nominee: the placements are worked out on
    the nominees scoring at least the `wanted`-th highest score (the full order's first ones),
    which is enough once a run starts beyond `limit` within them; else with more."""
    wanted = 4 * limit
    while wanted < len(known):
        threshold = heapq.nlargest(wanted, known.values())[-1]
        top = {n: s for n, s in known.items() if s >= threshold}
        placements, complete, _ = _place(_by_score(top), known, tie_keys, decisions, limit)
        if complete:
            return placements
        wanted *= 4
    return _place(_by_score(known), known, tie_keys, decisions, limit)[0]


def _place(
    scored: list[str],
    known: Mapping[str, float],
    tie_keys: Mapping[str, tuple[float, ...]],
    decisions: Mapping[frozenset[str], CastingDecision],
    limit: int | None,
) -> tuple[list[Placement], bool, int]:
    """The placements of `scored` (by score, highest first), whether they stopped at a run
    starting beyond `limit` (so that every run placed was whole, whatever follows `scored`),
    and the next free place."""
    decided_by: dict[str, str] = {}
    placements: list[Placement] = []
    position = 1
    for run in _runs(scored, known):
        if limit is not None and position > limit:
            return placements, True, position
        for group in _break_ties(run, tie_keys, 0, decided_by) if len(run) > 1 else [run]:
            decision = decisions.get(frozenset(group)) if len(group) > 1 else None
            if decision:
                for offset, nominee in enumerate(decision.order):
                    placements.append(Placement(nominee, position + offset, False, "casting"))
            elif len(group) == 1:
                placements.append(
                    Placement(group[0], position, False, decided_by.get(group[0], "score"))
                )
            else:
                placements.extend(
                    Placement(n, position, True, decided_by.get(n, "score")) for n in group
                )
            position += len(group)
    return placements, False, position


def _break_ties(
    group: list[str],
    tie_keys: Mapping[str, tuple[float, ...]],
    depth: int,
    decided_by: dict[str, str],
) -> list[list[str]]:
    """Split an equal-score group into ordered runs by TIE_BREAKS, one rule after another."""
    if len(group) == 1 or depth == len(TIE_BREAKS):
        return [sorted(group)]
    value = {n: tie_keys[n][depth] for n in group}
    split = runs(_by_score(value), value)
    if len(split) > 1:
        for nominee in group:
            decided_by.setdefault(nominee, TIE_BREAKS[depth])
    return [part for run in split for part in _break_ties(run, tie_keys, depth + 1, decided_by)]


class Outcome(TypedDict):
    """The winner and top three under one method, and whether they are the chosen method's."""

    winner: str | None
    winner_tied: bool
    top3: list[str]
    same_winner: bool
    same_top3: bool


def sensitivity(
    by_method: Mapping[str, Mapping[str, float | None]],
    tie_keys: Mapping[str, tuple[float, ...]],
    casting: Sequence[CastingDecision],
    chosen: str,
) -> dict[str, Outcome]:
    """The winner and top three under every method of `by_method` (method -> nominee -> score),
    and whether they differ from `chosen`'s."""
    placed = {}
    for method, scores in by_method.items():
        placed[method] = order(scores, tie_keys, casting, limit=3)  # scored nominees only
    winner = {m: ordered[0].nominee if ordered else None for m, ordered in placed.items()}
    top3 = {m: [p.nominee for p in ordered[:3]] for m, ordered in placed.items()}
    return {
        m: {
            "winner": winner[m],
            "winner_tied": bool(ordered) and ordered[0].tied,
            "top3": top3[m],
            "same_winner": winner[m] == winner[chosen],
            "same_top3": top3[m] == top3[chosen],
        }
        for m, ordered in placed.items()
    }
