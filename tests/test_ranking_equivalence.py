"""The ranking made faster gives the very same results: pinned against the code before it.

The digests below were taken with the ranking of commit 7407587 (before issue 17's faster
path), on inputs fixed here: a synthetic award of 400 nominees with gaps, drafts, conflicts of
interest and ties (every field of the ranking to the last bit, every method, with a casting
decision), and the seeded award with the demo jury's scores read from the database (the
results document as published, figures rounded as published, on both engines).
"""

import dataclasses
import hashlib
import itertools
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judging.scoring.ranking import METHODS, Criterion, Evaluation, Ranking, rank, rank_scores
from judging.scoring.ties import CastingDecision, order, runs
from judging.services import demo, results

CRITERIA = [
    Criterion("impact", 3, 1, 10),
    Criterion("novelty", 2, 0, 5),
    Criterion("reach", 3, 1, 5),
    Criterion("cost", 1, 0, 100),
]


def synthetic_award(seed: int = 17, nominees: int = 400, jurors: int = 40):
    """Nominees, evaluations (shuffled) and recusals of a made-up award with everything in it:
    criteria left unscored, drafts, an evaluation with no score, a nominee outside the award,
    nominees nobody evaluated, conflicts of interest and many equal scores."""
    rnd = random.Random(seed)
    names = [f"n{i:03d}" for i in range(nominees)]
    evaluations = []
    for nominee in names[:-3]:  # the last three: nobody evaluated them
        for juror in rnd.sample(range(jurors), rnd.randint(1, 9)):
            scores = {
                c.slug: rnd.randint(c.scale_min, c.scale_max)
                for c in CRITERIA
                if rnd.random() > 0.05
            }
            evaluations.append(
                Evaluation(f"j{juror:02d}", nominee, scores, submitted=rnd.random() > 0.03)
            )
    evaluations.append(Evaluation("j01", names[0], {}))
    evaluations.append(Evaluation("j02", "withdrawn", {"impact": 9}))
    rnd.shuffle(evaluations)
    recusals = [(e.juror, e.nominee) for e in rnd.sample(evaluations, 25)]
    return names, evaluations, recusals


def fingerprint(ranking: Ranking) -> str:
    """Every field of a ranking, floats to the last bit and dicts in their order."""
    return hashlib.sha256(repr(dataclasses.asdict(ranking)).encode()).hexdigest()


PINNED_SYNTHETIC = {
    "mean": "8b35d0b220d883df8cffdeb91541f0c2334b1aa72ce57e796f3a5be7aa149960",
    "median": "622b15a6caeb5cb1830df2e48f3a46c115fec947dc17dec3a542a8eaa4d4ba18",
    "trimmed_mean": "28aa1162ff9e33f56b9ac627cca61ffeaea08f06e9f4445e794758c9f55be60c",
    "zscore": "df301b27683615bb5601fd9f88a9754bacaddc8fac1afc39af3f5665907fe5d9",
    "borda": "33afdd0b2cc2347f02de4ce8b5d0cc58ca465d51b684c34b47ca904ce8af4b68",
}


@pytest.mark.parametrize("method", METHODS)
def test_a_synthetic_award_ranks_exactly_as_before(method):
    names, evaluations, recusals = synthetic_award()
    by_mean = rank(CRITERIA, names, evaluations, recusals, quorum=3)
    tie = next(f for f in by_mean.flags if f.kind == "tie")  # the mean's first shared rank
    casting = [CastingDecision(tuple(reversed(tie.subjects)), "drawn by lot")]
    ranking = rank(CRITERIA, names, evaluations, recusals, method=method, casting=casting, quorum=3)
    assert method != "mean" or any(r.decided_by == "casting" for r in ranking.results)
    assert fingerprint(ranking) == PINNED_SYNTHETIC[method]


def document_digest(award, method: str) -> str:
    """The results document as publication builds it (figures rounded), jurors by label in
    label order (juror ids, and so their order, differ between databases)."""
    computed = results.compute(award, method, cached=False)
    document = results.as_json(award, computed, results.juror_labels(award))
    document["statistics"]["jurors"].sort(key=lambda j: j["juror"])
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


PINNED_DEMO = {
    "mean": "e1c7faf7c641a560b2034754896aa81ac333f5653a2e3a4eab6a094a6d84f8e0",
    "median": "c36e5395a6fa234f5542c583a01f0d21092eb34578ba06e89e47f0d648d91445",
    "trimmed_mean": "54ea8d493c79381e60a2316cc74e09d7304bbc99cba69124ebda2d4d4c49d15f",
    "zscore": "7cc00bf6564a24812e6cf5671cfe38b150d7c9eed7faf804d0b25e2cbc9da02f",
    "borda": "bd0004944c80a3098fd5b218add0601245b2ab41893b41c54cb49c447a0c2153",
}


@pytest.mark.every_engine
def test_the_demo_awards_results_document_is_as_before(seeded_award):
    demo.add_demo_data(seeded_award)
    assert {m: document_digest(seeded_award, m) for m in METHODS} == PINNED_DEMO


# --- The service's entry point and the top of the order ------------------------------------------

small_awards = st.fixed_dictionaries(
    {
        "nominees": st.integers(1, 8),
        "rows": st.lists(
            st.tuples(
                st.integers(0, 5),  # juror
                st.integers(0, 9),  # nominee (8 and 9: not in the award)
                st.sampled_from(CRITERIA),
                st.integers(0, 100),
            ),
            max_size=120,
        ),
        "recused": st.lists(st.tuples(st.integers(0, 5), st.integers(0, 9)), max_size=4),
        "method": st.sampled_from(METHODS),
    }
)


@settings(max_examples=200, deadline=None)
@given(small_awards)
def test_score_rows_grouped_as_the_service_does_rank_as_evaluations_do(award):
    """rank_scores, given scores grouped from rows in one pass as services/results does, gives
    every field of rank's ranking from Evaluation objects, to the last bit."""
    names = [f"n{i}" for i in range(award["nominees"])]
    grouped: dict[tuple[int, str], dict[str, int]] = {}
    for juror, nominee, criterion, value in award["rows"]:
        score = min(max(value, criterion.scale_min), criterion.scale_max)
        grouped.setdefault((juror, f"n{nominee}"), {})[criterion.slug] = score
    evaluations = [Evaluation(j, n, scores) for (j, n), scores in grouped.items()]
    recusals = [(j, f"n{n}") for j, n in award["recused"]]
    method = award["method"]
    expected = rank(CRITERIA, names, evaluations, recusals, method=method, quorum=2)
    ranked = rank_scores(CRITERIA, names, grouped.items(), recusals, method=method, quorum=2)
    assert fingerprint(ranked) == fingerprint(expected)


near_scores = st.dictionaries(
    st.sampled_from([f"n{i:02d}" for i in range(40)]),
    st.one_of(
        st.none(),
        st.sampled_from([10.0, 20.0, 30.0, 40.0]).flatmap(
            lambda v: st.sampled_from([v, v + 4e-10, v - 4e-10, v + 9e-10])  # runs of "same"
        ),
    ),
    min_size=1,
)


@settings(max_examples=300, deadline=None)
@given(near_scores, st.integers(1, 6), st.randoms(use_true_random=False))
def test_the_top_of_the_order_is_the_full_orders_first_runs(scores, limit, rnd):
    """order(limit=...) (the sensitivity check) gives the full order's placements down to the
    first run of equal scores that starts beyond `limit`, tie-breaks and casting included."""
    keys = {n: (rnd.choice([1.0, 2.0]), rnd.choice([0.0, 1.0]), 5.0) for n in scores}
    scored = sorted(n for n, s in scores.items() if s is not None)
    casting = [CastingDecision(tuple(rnd.sample(scored, min(2, len(scored)))))] if scored else []
    full = order(scores, keys, casting)
    top = order(scores, keys, casting, limit=limit)
    assert top == full[: len(top)]
    # It stops at the first run of equal scores (runs as ties.runs makes them, on the nominees
    # by score) that starts beyond place `limit`, or at the last scored nominee.
    by_score = sorted(scored, key=lambda n: (-scores[n], n))
    ends = list(itertools.accumulate(len(run) for run in runs(by_score, scores)))
    assert len(top) == min([end for end in ends if end >= limit] + [len(scored)])
