"""The assignment of nominees to jurors: a pure function, tested by hand-made cases and by
properties that must hold for any jury, any shortlist and any conflicts of interest."""

from collections import Counter
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judging.scoring.assignment import AssignmentImpossible, assign


def loads(result: dict, jurors) -> Counter:
    counted = Counter(dict.fromkeys(jurors, 0))
    counted.update(j for chosen in result.values() for j in chosen)
    return counted


def pairs(result: dict) -> set[tuple]:
    return {(j, n) for n, chosen in result.items() for j in chosen}


# --- By hand ----------------------------------------------------------------------------------


def test_thirteen_nominees_five_jurors_three_each():
    nominees, jurors = list(range(13)), list("ABCDE")
    result = assign(nominees, jurors, 3, [])
    assert all(len(set(chosen)) == 3 for chosen in result.values())
    assert sorted(loads(result, jurors).values()) == [7, 8, 8, 8, 8]  # 39 evaluations


def test_jurors_meet_in_varied_groups_not_fixed_blocks():
    # Fixed blocks (ABC, DEF, ABC, ...) would leave A and D never judging the same nominee, so
    # their scores could not be compared.
    result = assign(list(range(13)), list("ABCDEF"), 3, [])
    together = Counter(p for chosen in result.values() for p in combinations(chosen, 2))
    assert set(together) == set(combinations("ABCDEF", 2))  # every two jurors meet
    assert max(together.values()) <= 4


def test_a_recused_pair_is_never_assigned_and_the_load_stays_even():
    nominees, jurors = list(range(13)), list("ABCDE")
    recused = [("A", 0), ("B", 0), ("C", 1), ("A", 5)]
    result = assign(nominees, jurors, 3, recused)
    assert result[0] == ("C", "D", "E")  # the only three free to judge it
    assert not pairs(result) & set(recused)
    assert max(loads(result, jurors).values()) - min(loads(result, jurors).values()) <= 1


def test_k_equal_to_the_jury_gives_everyone_everything():
    assert assign(["x", "y"], ["A", "B"], 2, []) == {"x": ("A", "B"), "y": ("A", "B")}


def test_more_jurors_per_nominee_than_free_jurors_is_a_clear_error():
    with pytest.raises(AssignmentImpossible) as raised:
        assign(["x", "y", "z"], ["A", "B", "C"], 3, [("A", "y")])
    assert raised.value.short == {"y": 2}
    assert raised.value.k == 3
    assert "'y' (2)" in str(raised.value)


def test_no_jurors_at_all_is_impossible_and_no_nominees_is_nothing_to_do():
    with pytest.raises(AssignmentImpossible):
        assign(["x"], [], 1, [])
    assert assign([], ["A"], 1, []) == {}


@pytest.mark.parametrize("k", [0, -1])
def test_k_must_be_at_least_one(k):
    with pytest.raises(ValueError, match="at least 1"):
        assign(["x"], ["A"], k, [])


def test_unavoidable_imbalance_is_kept_as_small_as_the_conflicts_allow():
    # A is recused from both nominees: B and C must take everything.
    result = assign(["x", "y"], ["A", "B", "C"], 2, [("A", "x"), ("A", "y")])
    assert result == {"x": ("B", "C"), "y": ("B", "C")}


def test_a_chain_of_moves_evens_out_what_no_single_move_can():
    # C may judge only z, which B holds; B may take x from A. Only the chain A→B→C balances.
    result = assign(
        ["x", "y", "z"],
        ["A", "B", "C"],
        1,
        [("C", "x"), ("C", "y")],
        existing=[("A", "x"), ("A", "y"), ("B", "z")],
    )
    assert result == {"x": ("B",), "y": ("A",), "z": ("C",)}


def test_adding_a_juror_moves_only_what_the_new_juror_takes():
    nominees, five = list(range(13)), list("ABCDE")
    before = assign(nominees, five, 3, [])
    after = assign(nominees, [*five, "F"], 3, [], existing=pairs(before))
    taken_by_f = {(j, n) for j, n in pairs(after) if j == "F"}
    assert len(taken_by_f) == 6  # 39 evaluations over six jurors: 6 or 7 each
    # Each nominee F took came from one juror; nothing else moved.
    assert {n for _, n in pairs(before) - pairs(after)} == {n for _, n in taken_by_f}
    assert len(pairs(before) - pairs(after)) == 6  # one pair moved for each F took
    assert sorted(loads(after, [*five, "F"]).values()) == [6, 6, 6, 7, 7, 7]


def test_a_removed_juror_or_withdrawn_nominee_leaves_the_assignment():
    before = assign(["x", "y", "z"], list("ABC"), 2, [])
    after = assign(["x", "y"], list("AB"), 2, [], existing=pairs(before))
    assert after == {"x": ("A", "B"), "y": ("A", "B")}


def test_extra_existing_jurors_beyond_k_are_dropped_from_the_busiest():
    existing = [("A", "x"), ("B", "x"), ("C", "x"), ("A", "y")]
    result = assign(["x", "y"], list("ABC"), 1, [], existing=existing)
    assert result["y"] == ("A",)
    assert len(result["x"]) == 1 and result["x"] != ("A",)


def test_a_juror_keeps_every_nominee_they_began_even_beyond_k():
    fixed = [("A", "x"), ("B", "x"), ("C", "x")]
    result = assign(["x", "y", "z"], list("ABC"), 1, [], fixed=fixed)
    assert result["x"] == ("A", "B", "C")
    assert all(len(result[n]) == 1 for n in ("y", "z"))


def test_a_recused_pair_is_not_kept_even_if_begun_or_existing():
    result = assign(["x"], list("AB"), 1, [("A", "x")], existing=[("A", "x")], fixed=[("A", "x")])
    assert result == {"x": ("B",)}


# --- Properties -------------------------------------------------------------------------------


@st.composite
def juries(draw, recusals: bool = True):
    nominees = list(range(draw(st.integers(0, 15))))
    jurors = [f"j{i}" for i in range(draw(st.integers(1, 8)))]
    k = draw(st.integers(1, len(jurors)))
    every_pair = [(j, n) for j in jurors for n in nominees]
    recused = (
        draw(st.lists(st.sampled_from(every_pair), unique=True))
        if recusals and (every_pair)
        else []
    )
    existing = draw(st.lists(st.sampled_from(every_pair), unique=True)) if every_pair else []
    return nominees, jurors, k, recused, existing


def feasible(nominees, jurors, k, recused) -> bool:
    return all(sum((j, n) not in set(recused) for j in jurors) >= k for n in nominees)


@settings(max_examples=300, deadline=None)
@given(juries())
def test_every_nominee_gets_k_distinct_jurors_and_never_a_recused_one(case):
    nominees, jurors, k, recused, existing = case
    if not feasible(nominees, jurors, k, recused):
        with pytest.raises(AssignmentImpossible):
            assign(nominees, jurors, k, recused, existing)
        return
    result = assign(nominees, jurors, k, recused, existing)
    assert set(result) == set(nominees)
    for chosen in result.values():
        assert len(chosen) == len(set(chosen)) >= k
        assert set(chosen) <= set(jurors)
    assert not pairs(result) & set(recused)


@settings(max_examples=300, deadline=None)
@given(juries(recusals=False))
def test_without_conflicts_the_load_is_within_one(case):
    nominees, jurors, k, _, existing = case
    result = assign(nominees, jurors, k, [], existing)
    counted = loads(result, jurors).values()
    assert max(counted) - min(counted) <= 1
    assert all(len(chosen) == k for chosen in result.values())


@settings(max_examples=200, deadline=None)
@given(juries())
def test_with_conflicts_no_juror_could_take_a_nominee_from_one_with_two_more(case):
    nominees, jurors, k, recused, existing = case
    if not feasible(nominees, jurors, k, recused):
        return
    result = assign(nominees, jurors, k, recused, existing)
    counted = loads(result, jurors)
    for giver in jurors:
        for taker in jurors:
            if counted[giver] >= counted[taker] + 2:
                assert not any(
                    giver in chosen and taker not in chosen and (taker, n) not in set(recused)
                    for n, chosen in result.items()
                ), (giver, taker, result)


@settings(max_examples=200, deadline=None)
@given(juries())
def test_the_same_input_gives_the_same_assignment_and_rerunning_changes_nothing(case):
    nominees, jurors, k, recused, existing = case
    if not feasible(nominees, jurors, k, recused):
        return
    first = assign(nominees, jurors, k, recused, existing)
    assert assign(list(nominees), list(jurors), k, list(recused), list(existing)) == first
    assert assign(nominees, jurors, k, recused, pairs(first)) == first


@settings(max_examples=150, deadline=None)
@given(juries(recusals=False))
def test_a_new_juror_takes_a_fair_share_and_nothing_else_moves(case):
    nominees, jurors, k, _, _ = case
    before = assign(nominees, jurors, k, [])
    everyone = [*jurors, "new"]
    after = assign(nominees, everyone, k, [], existing=pairs(before))
    taken = sum(1 for j, _ in pairs(after) if j == "new")
    assert len(pairs(before) - pairs(after)) == taken
    assert taken == len(nominees) * k // len(everyone) or taken == -(
        -len(nominees) * k // len(everyone)
    )
