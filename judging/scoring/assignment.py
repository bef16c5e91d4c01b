"""Who judges which nominee: k jurors per nominee, the load spread as evenly as recusals allow.

Pure, like the rest of judging.scoring: plain values in, plain values out.
judging.services.assignment reads the jury, the recusals and the current assignment, calls
`assign`, and writes the difference.
"""

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar


class AssignmentImpossible(ValueError):
    """Some nominee has fewer than k jurors free to judge it (the others declared a conflict)."""

    def __init__(self, k: int, short: dict[Any, int]):
        self.k = k
        self.short = short  # nominee -> how many jurors could judge it
        listed = ", ".join(f"{nominee!r} ({free})" for nominee, free in short.items())
        super().__init__(f"{k} jurors per nominee is impossible; jurors free to judge: {listed}")


N = TypeVar("N", bound=Hashable)
J = TypeVar("J", bound=Hashable)


def assign(
    nominees: Sequence[N],
    jurors: Sequence[J],
    k: int,
    recused_pairs: Iterable[tuple[J, N]],
    existing: Iterable[tuple[J, N]] = (),
    *,
    fixed: Iterable[tuple[J, N]] = (),
) -> dict[N, tuple[J, ...]]:
    """Give every nominee k distinct jurors, the load spread as evenly as the recusals allow.

    Pairs are (juror, nominee). A recused pair is never assigned. `existing` pairs are kept where
    the balance allows, so that re-running after a change moves as little as possible; `fixed`
    pairs (a juror's work already begun) are always kept, even beyond k. Ties are broken by the
    order of `nominees` and `jurors`, so the same input always gives the same assignment.
    Returns each nominee's jurors, in the order of `jurors`.
    """
    nominees, jurors = list(dict.fromkeys(nominees)), list(dict.fromkeys(jurors))
    if k < 1:
        raise ValueError("k must be at least 1")
    recused = {(j, n) for j, n in recused_pairs}
    eligible = {n: [j for j in jurors if (j, n) not in recused] for n in nominees}
    short = {n: len(free) for n, free in eligible.items() if len(free) < k}
    if short:
        raise AssignmentImpossible(k, short)
    board = _Board(nominees, jurors, recused, fixed, existing)
    board.drop_beyond(k)
    board.fill(k, eligible)
    # Each move lowers the sum of squared loads, so this ends; it ends when no juror can give a
    # nominee, directly or along a chain, to one with two fewer: the most even spread there is.
    while jurors and board.improve():
        pass
    return {n: tuple(sorted(board.on[n], key=board.rank_of_juror.__getitem__)) for n in nominees}


class _Board(Generic[N, J]):
    """The assignment being built: each nominee's jurors and each juror's nominees."""

    def __init__(
        self,
        nominees: list[N],
        jurors: list[J],
        recused: set[tuple[J, N]],
        fixed: Iterable[tuple[J, N]],
        existing: Iterable[tuple[J, N]],
    ):
        self.nominees, self.jurors, self.recused = nominees, jurors, recused
        self.rank_of_nominee = {n: i for i, n in enumerate(nominees)}
        self.rank_of_juror = {j: i for i, j in enumerate(jurors)}
        self.pinned = {p for p in fixed if self._valid(p)}
        self.kept = {p for p in existing if self._valid(p)}
        self.on: dict[N, set[J]] = {n: set() for n in nominees}  # the nominee's jurors
        self.held: dict[J, set[N]] = {j: set() for j in jurors}  # the juror's nominees
        for j, n in self.pinned | self.kept:
            self.add(j, n)

    def _valid(self, pair: tuple[J, N]) -> bool:
        j, n = pair
        return j in self.rank_of_juror and n in self.rank_of_nominee and pair not in self.recused

    def add(self, j: J, n: N) -> None:
        self.on[n].add(j)
        self.held[j].add(n)

    def remove(self, j: J, n: N) -> None:
        self.on[n].discard(j)
        self.held[j].discard(n)

    def drop_beyond(self, k: int) -> None:
        """Beyond k, drop kept (never pinned) pairs from the busiest jurors."""
        for n in self.nominees:
            while len(self.on[n]) > k:
                droppable = [j for j in self.on[n] if (j, n) not in self.pinned]
                if not droppable:
                    break
                busiest = max(droppable, key=lambda j: (len(self.held[j]), self.rank_of_juror[j]))
                self.remove(busiest, n)

    def fill(self, k: int, eligible: dict[N, list[J]]) -> None:
        """The most constrained nominees first, each slot to the least busy juror free to take it;
        among equally busy ones, the one who has shared fewest nominees with those already on it,
        so that jurors meet in varied groups rather than always the same ones (which makes their
        scores comparable across the jury, not only within fixed blocks)."""
        on, held = self.on, self.held
        shared: dict[tuple[J, J], int] = {}
        for n in self.nominees:
            for a in on[n]:
                for b in on[n] - {a}:
                    shared[a, b] = shared.get((a, b), 0) + 1
        for n in sorted(self.nominees, key=lambda n: (len(eligible[n]), self.rank_of_nominee[n])):
            while len(on[n]) < k:
                free = [j for j in eligible[n] if j not in on[n]]
                chosen = min(
                    free,
                    key=lambda j: (
                        len(held[j]),
                        sum(shared.get((j, other), 0) for other in on[n]),
                        self.rank_of_juror[j],
                    ),
                )
                for other in on[n]:
                    shared[chosen, other] = shared.get((chosen, other), 0) + 1
                    shared[other, chosen] = shared.get((other, chosen), 0) + 1
                self.add(chosen, n)

    def improve(self) -> bool:
        """Move one nominee, along a chain if need be, from a juror to one with two fewer."""
        busiest = max(len(self.held[j]) for j in self.jurors)
        for target in sorted(self.jurors, key=lambda j: (len(self.held[j]), self.rank_of_juror[j])):
            if len(self.held[target]) + 2 > busiest:
                return False
            if moves := self._path_to(target):
                for giver, n, receiver in moves:
                    self.remove(giver, n)
                    self.add(receiver, n)
                return True
        return False

    def _gives(self, giver: J, receiver: J) -> N | None:
        """The nominee `giver` would hand to `receiver`, if any."""
        options = [
            n
            for n in self.held[giver]
            if (giver, n) not in self.pinned
            and receiver not in self.on[n]
            and (receiver, n) not in self.recused
        ]
        if not options:
            return None
        # Moving a pair made here rather than a kept one changes less.
        return min(options, key=lambda n: ((giver, n) in self.kept, self.rank_of_nominee[n]))

    def _path_to(self, target: J) -> list[tuple[J, N, J]] | None:
        """Moves (giver, nominee, receiver) that take one nominee from a juror with at least two
        more than `target` and, through jurors whose load stays the same, give one to `target`:
        the shortest such chain, from the busiest juror it can start at."""
        came_from: dict[J, tuple[N, J]] = {}  # giver -> (the nominee it gives, its receiver)
        level, seen = [target], {target}
        while level:
            reached = []
            for receiver in level:
                for giver in self.jurors:
                    if giver in seen:
                        continue
                    nominee = self._gives(giver, receiver)
                    if nominee is not None:
                        came_from[giver] = (nominee, receiver)
                        seen.add(giver)
                        reached.append(giver)
            busy = [j for j in reached if len(self.held[j]) >= len(self.held[target]) + 2]
            if busy:
                j = max(busy, key=lambda j: (len(self.held[j]), -self.rank_of_juror[j]))
                moves = []
                while j != target:
                    n, to = came_from[j]
                    moves.append((j, n, to))
                    j = to
                return moves
            level = reached
        return None
