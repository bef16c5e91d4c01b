"""The ranking maths: hand-computed fixtures for every method and tie-break, properties that
must hold for any input, and cross-checks against SciPy."""

import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from judging.scoring.jury_statistics import average_ranks, kendalls_w
from judging.scoring.ranking import METHODS, Criterion, Evaluation, juror_total, rank
from judging.scoring.ties import CastingDecision

# One criterion on 0-100 with weight 1: a juror's total is then simply their score.
PLAIN = [Criterion("c", 1, 0, 100)]


def evaluations_from(table: dict[str, dict[str, int]], criterion: str = "c") -> list[Evaluation]:
    """{juror: {nominee: score}} as evaluations of one criterion."""
    return [
        Evaluation(juror, nominee, {criterion: score})
        for juror, row in table.items()
        for nominee, score in row.items()
    ]


def order(ranking) -> list[str]:
    return [r.nominee for r in ranking.results]


def by_nominee(ranking):
    return {r.nominee: r for r in ranking.results}


# --- Totals ------------------------------------------------------------------------------------


def test_a_jurors_total_is_the_weighted_mean_of_rescaled_scores():
    criteria = [Criterion("a", 3, 1, 5), Criterion("b", 1, 0, 10)]
    assert juror_total(criteria, {"a": 5, "b": 5}) == pytest.approx(87.5)  # (3*100 + 50) / 4
    assert juror_total(criteria, {"a": 1, "b": 10}) == pytest.approx(25.0)  # (0 + 100) / 4
    assert juror_total(criteria, {"a": 3, "b": 0}) == pytest.approx(37.5)  # (3*50 + 0) / 4
    assert juror_total(criteria, {"a": 3}) == pytest.approx(50.0)  # a draft: scored criteria only
    assert juror_total(criteria, {}) is None


def test_the_seeded_awards_weights():
    criteria = [
        Criterion("innovation", 25, 1, 10),
        Criterion("impact", 25, 1, 10),
        Criterion("person-centred", 20, 1, 10),
        Criterion("sustainability", 15, 1, 10),
        Criterion("transferability", 15, 1, 10),
    ]
    scores = {
        "innovation": 10,
        "impact": 1,
        "person-centred": 4,
        "sustainability": 7,
        "transferability": 10,
    }
    # (25*100 + 25*0 + 20*33.33 + 15*66.67 + 15*100) / 100
    assert juror_total(criteria, scores) == pytest.approx(56.6667, abs=1e-3)


# --- The methods, by hand ----------------------------------------------------------------------

THREE_JURORS = {
    "j1": {"x": 80, "y": 60, "z": 40},
    "j2": {"x": 70, "y": 90, "z": 50},
    "j3": {"x": 30, "y": 60, "z": 20},
}


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("mean", {"x": 60.0, "y": 70.0, "z": 36.6667}),
        ("median", {"x": 70.0, "y": 60.0, "z": 40.0}),
        ("trimmed_mean", {"x": 60.0, "y": 70.0, "z": 36.6667}),  # fewer than 5: nothing dropped
        # j1 and j2: sd 16.33, z = +-1.2247 or 0; j3: mean 36.67, sd 16.997.
        ("zscore", {"x": 52.7751, "y": 58.6583, "z": 38.5666}),
        # Points 100/50/0 for each juror's first/second/third.
        ("borda", {"x": 66.6667, "y": 83.3333, "z": 0.0}),
    ],
)
def test_each_method_by_hand(method, expected):
    ranking = rank(PLAIN, ["x", "y", "z"], evaluations_from(THREE_JURORS), method=method)
    scores = {r.nominee: r.score for r in ranking.results}
    assert scores == pytest.approx(expected, abs=1e-3)
    assert order(ranking) == sorted(expected, key=lambda n: -expected[n])
    assert [r.rank for r in ranking.results] == [1, 2, 3]


def test_trimmed_mean_drops_the_extremes_from_five_evaluations():
    table = {f"j{i}": {"x": score} for i, score in enumerate([10, 50, 60, 70, 100])}
    result = rank(PLAIN, ["x"], evaluations_from(table), method="trimmed_mean").results[0]
    assert result.score == pytest.approx(60.0)  # (50 + 60 + 70) / 3
    assert result.scores_by_method["mean"] == pytest.approx(58.0)


def test_only_submitted_and_unrecused_evaluations_count():
    evaluations = [
        Evaluation("j1", "x", {"c": 90}),
        Evaluation("j2", "x", {"c": 10}, submitted=False),  # a draft
        Evaluation("j3", "x", {"c": 20}),  # recused below
        Evaluation("j3", "y", {"c": 50}),
    ]
    ranking = rank(PLAIN, ["x", "y"], evaluations, recusals=[("j3", "x")])
    x = by_nominee(ranking)["x"]
    assert (x.score, x.coverage, set(x.totals)) == (90.0, 1, {"j1"})


def test_nominees_nobody_evaluated_come_last_unscored():
    ranking = rank(PLAIN, ["x", "y", "z"], evaluations_from({"j1": {"y": 40}}))
    assert order(ranking) == ["y", "x", "z"]
    assert [(r.rank, r.score) for r in ranking.results] == [(1, 40.0), (2, None), (2, None)]
    assert ranking.winner == "y"


# --- Tie-breaks, one rule at a time -------------------------------------------------------------


def test_a_tie_goes_first_to_the_higher_median():
    table = {"j1": {"a": 50, "b": 60}, "j2": {"a": 50, "b": 60}, "j3": {"a": 80, "b": 60}}
    ranking = rank(PLAIN, ["a", "b"], evaluations_from(table))
    assert [r.score for r in ranking.results] == [60.0, 60.0]
    assert order(ranking) == ["b", "a"]
    assert [r.rank for r in ranking.results] == [1, 2]
    assert ranking.results[0].decided_by == "median"
    assert not any(r.tied for r in ranking.results)


def test_then_to_more_first_places():
    table = {
        "j1": {"a": 70, "b": 40, "c": 0},
        "j2": {"a": 60, "b": 60, "c": 0},  # a tie for first counts for both
        "j3": {"a": 50, "b": 80, "c": 90},  # c, not b, is j3's first
    }
    ranking = rank(PLAIN, ["a", "b", "c"], evaluations_from(table))
    a, b = by_nominee(ranking)["a"], by_nominee(ranking)["b"]
    assert (a.score, a.median, b.score, b.median) == (60.0, 60.0, 60.0, 60.0)
    assert (a.first_places, b.first_places) == (2, 1)
    assert order(ranking)[:2] == ["a", "b"]
    assert a.decided_by == "first places"


def test_then_to_the_higher_mean_on_the_heaviest_criteria():
    criteria = [Criterion("heavy", 2, 0, 10), Criterion("light", 1, 0, 10)]
    evaluations = [
        Evaluation(juror, nominee, scores)
        for juror in ("j1", "j2")
        for nominee, scores in (("a", {"heavy": 5, "light": 10}), ("b", {"heavy": 10, "light": 0}))
    ]
    ranking = rank(criteria, ["a", "b"], evaluations)
    a, b = by_nominee(ranking)["a"], by_nominee(ranking)["b"]
    assert a.score == pytest.approx(b.score) == pytest.approx(200 / 3)
    assert a.first_places == b.first_places == 2
    assert order(ranking) == ["b", "a"]
    assert b.decided_by == "heaviest criteria"


def test_a_tie_no_rule_breaks_is_a_shared_rank_flagged():
    table = {"j1": {"a": 70, "b": 70, "c": 90, "d": 10}}
    ranking = rank(PLAIN, ["a", "b", "c", "d"], evaluations_from(table))
    assert [(r.nominee, r.rank, r.tied) for r in ranking.results] == [
        ("c", 1, False),
        ("a", 2, True),
        ("b", 2, True),
        ("d", 4, False),
    ]
    [flag] = [f for f in ranking.flags if f.kind == "tie"]
    assert flag.subjects == ("a", "b")


def test_a_casting_decision_resolves_the_tie():
    table = {"j1": {"a": 70, "b": 70, "c": 90}}
    decision = CastingDecision(order=("b", "a"), reason="b reached more people")
    ranking = rank(PLAIN, ["a", "b", "c"], evaluations_from(table), casting=[decision])
    assert [(r.nominee, r.rank, r.tied) for r in ranking.results] == [
        ("c", 1, False),
        ("b", 2, False),
        ("a", 3, False),
    ]
    assert by_nominee(ranking)["b"].decided_by == "casting"
    assert not [f for f in ranking.flags if f.kind == "tie"]


def test_a_casting_decision_for_other_nominees_changes_nothing():
    table = {"j1": {"a": 70, "b": 70, "c": 70}}
    ranking = rank(
        PLAIN, ["a", "b", "c"], evaluations_from(table), casting=[CastingDecision(order=("b", "a"))]
    )
    assert all(r.tied for r in ranking.results)


# --- Statistics ----------------------------------------------------------------------------------


def test_coverage_and_spread():
    ranking = rank(PLAIN, ["x", "y", "z"], evaluations_from(THREE_JURORS))
    x = by_nominee(ranking)["x"]
    assert x.coverage == 3
    assert x.spread == pytest.approx(statistics.stdev([80, 70, 30]))
    assert (x.lowest, x.highest, x.median) == (30, 80, 70)


def test_kendalls_w_is_one_for_full_agreement_and_zero_for_none():
    agree = {j: {"a": 90, "b": 50, "c": 10} for j in ("j1", "j2", "j3")}
    totals = _totals(agree)
    assert kendalls_w(totals, ["a", "b", "c"]) == (pytest.approx(1.0), 3)
    opposite = {"j1": {"a": 90, "b": 10}, "j2": {"a": 10, "b": 90}}
    assert kendalls_w(_totals(opposite), ["a", "b"])[0] == pytest.approx(0.0)


def test_kendalls_w_uses_only_jurors_who_evaluated_every_nominee():
    table = {"j1": {"a": 1, "b": 2}, "j2": {"a": 1, "b": 2}, "j3": {"a": 5}}
    assert kendalls_w(_totals(table), ["a", "b"])[1] == 2
    assert kendalls_w(_totals({"j1": {"a": 1, "b": 2}}), ["a", "b"]) == (None, 1)


def _totals(table):
    out: dict = {}
    for juror, row in table.items():
        for nominee, score in row.items():
            out.setdefault(nominee, {})[juror] = float(score)
    return out


def test_juror_severity_and_the_outlier_flag():
    # Six jurors agree; "harsh" scores everything 40 points lower.
    table = {f"j{i}": {"a": 80 + i, "b": 60 + i, "c": 70 - i} for i in range(6)}
    table["harsh"] = {"a": 40, "b": 20, "c": 30}
    ranking = rank(PLAIN, ["a", "b", "c"], evaluations_from(table))
    jurors = {j.juror: j for j in ranking.jurors}
    assert jurors["harsh"].severity < -30
    assert jurors["harsh"].outlier
    assert not any(j.outlier for name, j in jurors.items() if name != "harsh")
    [flag] = [f for f in ranking.flags if f.kind == "outlier_juror"]
    assert flag.subjects == ("harsh",) and "harsher" in flag.message


def test_sensitivity_flags_a_winner_that_depends_on_the_method():
    ranking = rank(PLAIN, ["x", "y", "z"], evaluations_from(THREE_JURORS), method="mean")
    assert ranking.sensitivity["mean"]["winner"] == "y"
    assert ranking.sensitivity["median"]["winner"] == "x"
    assert not ranking.sensitivity["median"]["same_winner"]
    assert ranking.sensitivity["borda"]["top3"] == ["y", "x", "z"]
    [flag] = [f for f in ranking.flags if f.kind == "method_disagreement"]
    assert flag.subjects == ("median",)


def test_low_coverage_is_flagged_against_the_quorum():
    table = {"j1": {"x": 50, "y": 60}, "j2": {"x": 70}}
    ranking = rank(PLAIN, ["x", "y"], evaluations_from(table), quorum=2)
    [flag] = [f for f in ranking.flags if f.kind == "low_coverage"]
    assert flag.subjects == ("y",)


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        rank(PLAIN, ["x"], [], method="vibes")


# --- Cross-checks against SciPy -----------------------------------------------------------------

score_tables = st.integers(min_value=2, max_value=7).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 10), min_size=n, max_size=n), min_size=2, max_size=8)
)


def _table(rows: list[list[int]]) -> dict[str, dict[str, int]]:
    return {f"j{i}": {f"n{k}": v * 10 for k, v in enumerate(row)} for i, row in enumerate(rows)}


@settings(max_examples=150, deadline=None)
@given(score_tables)
def test_kendalls_w_matches_scipys_friedman_statistic(rows):
    m, n = len(rows), len(rows[0])
    w, jurors = kendalls_w(_totals(_table(rows)), [f"n{k}" for k in range(n)])
    columns = [[row[k] for row in rows] for k in range(n)]
    if all(len(set(row)) == 1 for row in rows):
        assert w is None  # no juror made any distinction: agreement is undefined
        return
    if n < 3:
        return  # SciPy's Friedman test needs three treatments
    chi2 = scipy_stats.friedmanchisquare(*columns).statistic
    assert jurors == m
    assert w == pytest.approx(chi2 / (m * (n - 1)), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=12))
def test_rank_statistics_match_scipy(values):
    table = {f"j{i}": {"x": v} for i, v in enumerate(values)}
    result = rank(PLAIN, ["x"], evaluations_from(table), method="trimmed_mean").results[0]
    assert result.median == pytest.approx(float(statistics.median(values)))
    assert result.scores_by_method["median"] == pytest.approx(
        float(scipy_stats.scoreatpercentile(values, 50))
        if len(values) % 2
        else float(statistics.median(values))
    )
    cut = 1.0001 / len(values) if len(values) >= 5 else 0.0
    assert result.score == pytest.approx(float(scipy_stats.trim_mean(values, cut)))
    expected_ranks = scipy_stats.rankdata([-v for v in values], method="average")
    assert average_ranks([float(v) for v in values]) == pytest.approx(list(expected_ranks))


@settings(max_examples=100, deadline=None)
@given(score_tables)
def test_zscore_matches_scipys_zscore(rows):
    table = _table(rows)
    nominees = [f"n{k}" for k in range(len(rows[0]))]
    ranking = rank(PLAIN, nominees, evaluations_from(table), method="zscore")
    per_juror = []
    for row in rows:
        values = [v * 10 for v in row]
        z = scipy_stats.zscore(values) if len(set(values)) > 1 else [0.0] * len(values)
        per_juror.append(z)
    for k, nominee in enumerate(nominees):
        mean_z = sum(z[k] for z in per_juror) / len(per_juror)
        expected = min(100.0, max(0.0, 50 + 10 * mean_z))
        assert by_nominee(ranking)[nominee].score == pytest.approx(expected, abs=1e-9)


# --- Properties ----------------------------------------------------------------------------------

full_tables = st.integers(min_value=2, max_value=6).flatmap(
    lambda n: st.lists(st.lists(st.integers(1, 10), min_size=n, max_size=n), min_size=1, max_size=7)
)


def _summary(ranking):
    return [
        (r.nominee, r.rank, r.tied, None if r.score is None else round(r.score, 9))
        for r in ranking.results
    ]


@settings(max_examples=100, deadline=None)
@given(full_tables, st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_the_order_of_input_rows_never_matters(rows, method, rnd):
    evaluations = evaluations_from(_table(rows))
    nominees = [f"n{k}" for k in range(len(rows[0]))]
    shuffled = evaluations[:]
    rnd.shuffle(shuffled)
    assert _summary(rank(PLAIN, nominees, evaluations, method=method)) == _summary(
        rank(PLAIN, nominees, shuffled, method=method)
    )


@settings(max_examples=100, deadline=None)
@given(full_tables, st.integers(0, 100))
def test_a_juror_who_scores_everyone_alike_does_not_change_the_mean_order(rows, same):
    table = _table(rows)
    nominees = [f"n{k}" for k in range(len(rows[0]))]
    before = rank(PLAIN, nominees, evaluations_from(table))
    table["flat"] = dict.fromkeys(nominees, same)
    after = rank(PLAIN, nominees, evaluations_from(table))
    scores_before = {r.nominee: r.score for r in before.results}
    scores_after = {r.nominee: r.score for r in after.results}
    for a in nominees:
        for b in nominees:
            if scores_before[a] > scores_before[b] + 1e-9:
                assert scores_after[a] > scores_after[b]


@settings(max_examples=100, deadline=None)
@given(full_tables, st.integers(0, 2), st.sampled_from([(1, 0), (5, 0), (8, 20), (9, 5)]))
def test_rescaling_one_jurors_scores_does_not_change_the_zscore_result(rows, who, transform):
    a, b = transform
    table = _table(rows)  # scores 10..100 in steps of 10; rescaled ones stay within 0..100
    juror = f"j{who % len(rows)}"
    nominees = [f"n{k}" for k in range(len(rows[0]))]
    before = rank(PLAIN, nominees, evaluations_from(table), method="zscore")
    table[juror] = {n: a * (v // 10) + b for n, v in table[juror].items()}  # s -> a s/10 + b
    after = rank(PLAIN, nominees, evaluations_from(table), method="zscore")
    assert [r.score for r in before.results] == pytest.approx([r.score for r in after.results])


@settings(max_examples=100, deadline=None)
@given(full_tables, st.sampled_from(METHODS))
def test_a_nominee_every_juror_ranks_first_wins_under_every_method(rows, method):
    table = _table(rows)
    for row in table.values():
        row["star"] = max(row.values()) + 5
    nominees = ["star", *(f"n{k}" for k in range(len(rows[0])))]
    ranking = rank(PLAIN, nominees, evaluations_from(table), method=method)
    assert ranking.results[0].nominee == "star" and not ranking.results[0].tied


@settings(max_examples=150, deadline=None)
@given(full_tables, st.data())
def test_raising_a_score_never_lowers_the_nominees_rank_under_the_mean(rows, data):
    criteria = [Criterion("c", 2, 1, 10), Criterion("d", 1, 1, 10)]
    evaluations = [
        Evaluation(f"j{i}", f"n{k}", {"c": v, "d": 11 - v})
        for i, row in enumerate(rows)
        for k, v in enumerate(row)
    ]
    nominees = [f"n{k}" for k in range(len(rows[0]))]
    target = data.draw(st.sampled_from(range(len(evaluations))))
    chosen = evaluations[target]
    if chosen.scores["c"] == 10:
        return
    raised = evaluations[:]
    raised[target] = Evaluation(
        chosen.juror, chosen.nominee, {**chosen.scores, "c": chosen.scores["c"] + 1}
    )
    before = by_nominee(rank(criteria, nominees, evaluations))[chosen.nominee].rank
    after = by_nominee(rank(criteria, nominees, raised))[chosen.nominee].rank
    assert after <= before


def test_a_large_award_ranks_quickly_enough_to_be_a_smoke_test():
    """Not a benchmark (see bench/): only that 5,000 nominees are handled at all."""
    rnd = random.Random(7)
    criteria = [Criterion(f"k{i}", i + 1, 1, 10) for i in range(6)]
    evaluations = [
        Evaluation(
            f"j{rnd.randrange(300)}", f"n{n}", {c.slug: rnd.randint(1, 10) for c in criteria}
        )
        for n in range(5000)
        for _ in range(5)
    ]
    ranking = rank(criteria, [f"n{n}" for n in range(5000)], evaluations)
    assert len(ranking.results) == 5000
