"""Results that include the vote, end to end through the real pages: publishing once voting has
closed, the leaderboard, its exports and `flask results` ranking as publication ranks (jury and
vote combined), the printable sheet and the presenter saying so, and the public results page.

The award: three jurors rank the 13 nominees first to last with no tie; the jury's weight is
70% and the vote's 30%; every counted vote goes to the jury's third, which the vote lifts to
first place (as happened to "Neighbourhood Network Scheme" and "Family Card" in issue 15).
"""

import csv
import html
import io
import json
import re

from sqlalchemy import select

from judging.extensions import db
from judging.models import ResultSnapshot
from judging.services import publication

from .fixtures.domain import csrf_token
from .fixtures.results import AWARD, AWARD_PAGE, SCORES, fresh, presentation, step, vote_then_close

REVIEW = f"{AWARD_PAGE}/review"
LEADERBOARD = f"{AWARD_PAGE}/leaderboard"


def publish_from_the_page(client):
    return client.post(
        f"{AWARD_PAGE}/publish", data={"csrf_token": csrf_token(client, REVIEW), "confirm": "y"}
    )


# --- Item 1: publishing after a vote, from the browser ------------------------------------------


def test_an_award_whose_voting_closed_is_published_from_its_pages(admin_client, scored):
    award, _first, third = vote_then_close(admin_client, scored)

    award_page = admin_client.get(AWARD_PAGE).get_data(as_text=True)
    assert "Publish the results" in award_page
    assert f'href="{REVIEW}"' in award_page
    review = admin_client.get(REVIEW).get_data(as_text=True)
    assert "Close scoring on the" not in review
    assert f'action="{AWARD_PAGE}/publish"' in review
    assert "jury (70%) and the vote (30%)" in review

    done = publish_from_the_page(admin_client)
    assert done.status_code == 302 and done.location == f"/awards/{AWARD}/results"
    snapshot = db.session.scalar(select(ResultSnapshot))
    assert snapshot is not None and fresh(award).status == "published"
    assert json.loads(snapshot.document)["nominees"][0]["slug"] == third.slug


def test_the_review_page_names_the_step_still_to_take(admin_client, scored):
    assert step(admin_client, "open_voting").status_code == 302
    review = admin_client.get(REVIEW).get_data(as_text=True)
    assert "Close voting on the" in review
    assert f'action="{AWARD_PAGE}/publish"' not in review
    refused = publish_from_the_page(admin_client)
    assert refused.status_code == 409
    assert db.session.scalar(select(ResultSnapshot)) is None


# --- Item 2: the leaderboard, exports and CLI rank as publication does --------------------------


def _csv_rows(text: str) -> list[dict]:
    """The rows of a CSV, as a spreadsheet reads them: a download starts with a BOM."""
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_leaderboard_exports_and_cli_name_the_published_winner(admin_client, runner, scored):
    _award, first, third = vote_then_close(admin_client, scored)

    page = admin_client.get(LEADERBOARD).get_data(as_text=True)
    assert "Final ranking: jury 70% + vote 30%" in page
    assert "Jury ranking (jury only): Mean" in page
    final_table = page[page.index('class="table leaderboard final-ranking"') :]
    final_table = final_table[: final_table.index("</table>")]
    assert final_table.index(third.title) < final_table.index(first.title)
    assert "Ballots cast: <strong>11</strong> · voided: <strong>1</strong>" in page
    robust = page[page.index('id="robust-heading"') : page.index('id="ranking-heading"')]
    assert "Final winner, with the vote" in robust and third.title in robust

    rows = _csv_rows(admin_client.get(f"{AWARD_PAGE}/results.csv").get_data(as_text=True))
    assert rows[0]["slug"] == third.slug and rows[0]["rank"] == "1"
    assert {"final", "jury_rank", "jury_score", "votes", "vote_score"} <= set(rows[0])
    assert (rows[0]["jury_rank"], rows[0]["votes"], rows[0]["vote_score"]) == ("3", "10", "100.0")
    exported = admin_client.get(f"{AWARD_PAGE}/results.json").get_json()
    assert exported["combined"] is True and exported["nominees"][0]["slug"] == third.slug
    assert exported["vote"]["counted"] == 10

    cli_csv = runner.invoke(args=["results", AWARD, "--format", "csv"])
    assert cli_csv.exit_code == 0 and _csv_rows(cli_csv.output)[0]["slug"] == third.slug
    table = runner.invoke(args=["results", AWARD]).output
    assert "final = 70% jury score + 30% vote score" in table
    lines = [line for line in table.splitlines() if line.strip().startswith("1 ")]
    assert third.title in lines[0]

    assert publish_from_the_page(admin_client).status_code == 302
    published = admin_client.get(f"/api/v1/awards/{AWARD}/results").get_json()
    assert published["nominees"][0]["slug"] == rows[0]["slug"] == third.slug
    assert [n["slug"] for n in published["nominees"]] == [row["slug"] for row in rows]
    after = _csv_rows(admin_client.get(f"{AWARD_PAGE}/results.csv").get_data(as_text=True))
    assert after == rows


def test_without_a_vote_the_exports_keep_the_jury_columns(admin_client, scored):
    rows = _csv_rows(admin_client.get(f"{AWARD_PAGE}/results.csv").get_data(as_text=True))
    assert "score" in rows[0] and "final" not in rows[0]
    assert rows[0]["slug"] == scored.nominees[0].slug
    page = admin_client.get(LEADERBOARD).get_data(as_text=True)
    assert "Final ranking" not in page and "Ranking: Mean" in page


# --- Item 3: the printable sheet and the presenter ----------------------------------------------


def test_the_sheet_states_the_formula_and_the_vote(admin_client, client, scored):
    vote_then_close(admin_client, scored)
    assert publish_from_the_page(admin_client).status_code == 302
    sheet = client.get(f"/awards/{AWARD}/results/sheet").get_data(as_text=True)
    assert "10 ballots counted (11 cast, 1 voided)" in sheet
    assert "Final = 70% × jury score + 30% × vote score" in sheet
    assert "combined by mean into the jury score" in sheet
    head = sheet[
        sheet.index('class="sheet-ranking"') : sheet.index("</thead>", sheet.index("sheet-ranking"))
    ]
    assert ">Jury<" in head and ">Votes<" in head and ">Final<" in head


def test_the_presenter_labels_the_final_score_and_reveals_the_top_n(admin_client, scored):
    _award, _first, third = vote_then_close(admin_client, scored)
    assert publish_from_the_page(admin_client).status_code == 302
    whole = presentation(admin_client.get(f"{AWARD_PAGE}/present").get_data(as_text=True))
    assert whole["scoreLabel"] == "Final score (jury 70% + vote 30%)"
    assert len(whole["steps"]) == 13 and whole["top"] is None

    top = admin_client.get(f"{AWARD_PAGE}/present?top=3").get_data(as_text=True)
    data = presentation(top)
    assert [s["rank"] for s in data["steps"]] == [3, 2, 1] and data["top"] == 3
    assert data["steps"][-1]["nominees"][0]["title"] == third.title
    fallback = top[top.index('class="fallback-ranking"') : top.index("</ol>")]
    assert fallback.count("<li") == 3

    for bad in ("abc", "0", "-2"):
        refused = admin_client.get(f"{AWARD_PAGE}/present?top={bad}")
        assert refused.status_code == 400
        assert "leave it empty to reveal every place" in refused.get_data(as_text=True)
    review = admin_client.get(REVIEW).get_data(as_text=True)
    assert f'action="{AWARD_PAGE}/present"' in review and 'name="top"' in review


# --- Item 14: the public results page -----------------------------------------------------------


def test_public_results_with_a_vote_show_it(admin_client, client, scored):
    vote_then_close(admin_client, scored)
    assert publish_from_the_page(admin_client).status_code == 302
    page = client.get(f"/awards/{AWARD}/results").get_data(as_text=True)
    assert 'id="vote-heading"' in page and "70% × jury score + 30% × vote score" in page
    assert re.search(
        r"Published on <time datetime=\"[0-9T:-]+Z\">\d{1,2} [A-Z][a-z]+ \d{4}</time>", page
    )


def test_public_results_in_german_date_the_publication_in_german(client, scored):
    """The date of publication is written as the page's language writes a long date (issue 18):
    "1. Dezember 2026" in German where English says "1 December 2026"."""
    publication.publish(scored, actor=None)
    db.session.commit()
    german = {"Accept-Language": "de-DE,de;q=0.9"}
    for url in (f"/awards/{AWARD}/results", f"/awards/{AWARD}/results/sheet"):
        english = client.get(url).get_data(as_text=True)
        assert re.search(r"\b\d{1,2} [A-Z][a-z]+ \d{4}\b", english), url
        page = client.get(url, headers=german).get_data(as_text=True)
        assert '<html lang="de">' in page, url
        assert re.search(r"\b\d{1,2}\. [A-ZÄÖÜ][a-zäöü]+ \d{4}\b", page), url
    # Scores with a decimal comma, shares with German spacing ("20 %", not "20%").
    sheet = client.get(f"/awards/{AWARD}/results/sheet", headers=german).get_data(as_text=True)
    assert re.search(r'class="num sheet-score">\d+,\d\d<', sheet)
    assert re.search(r'class="num">\d+\xa0%<', sheet)
    assert re.search(r'class="num">\d+%<', client.get(f"/awards/{AWARD}/results/sheet").text)


def test_public_results_without_a_vote_hide_the_vote_block(client, scored):
    publication.publish(scored, actor=None)
    db.session.commit()
    page = client.get(f"/awards/{AWARD}/results").get_data(as_text=True)
    assert "The vote" not in page and "Ballots cast" not in page
    assert "Published on <time" in page
    assert not re.search(r"Published \d{4}-\d\d-\d\d", page)


def test_casting_decisions_are_named_by_title_on_the_results_and_the_sheet(
    client, logged_in, seeded_award, make_user, make_evaluation
):
    nominees = {n.slug: n for n in seeded_award.nominees}
    juror = make_user(awards=[seeded_award])
    for slug in ("evikomp", "omapu"):
        make_evaluation(nominees[slug], juror, dict.fromkeys(SCORES, 9), submitted=True)
    admin, _ = logged_in(role="admin")
    recorded = admin.post(
        f"{AWARD_PAGE}/casting",
        data={
            "csrf_token": csrf_token(admin, LEADERBOARD),
            "method": "mean",
            "prefix": "tie-0-",
            "tied": ["evikomp", "omapu"],
            "tie-0-order": ["omapu", "evikomp"],
            "tie-0-reason": "OMAPU served more families this year.",
        },
    )
    assert recorded.status_code == 302
    seeded_award.status = "closed"
    publication.publish(seeded_award, actor=None, override_reason="Test: quorum not needed")
    db.session.commit()
    wanted = (
        f"{nominees['omapu'].title} before {nominees['evikomp'].title}: "
        "OMAPU served more families this year."
    )
    for url in (f"/awards/{AWARD}/results", f"/awards/{AWARD}/results/sheet"):
        page = html.unescape(client.get(url).get_data(as_text=True))
        assert wanted in page, url
        assert "omapu before evikomp" not in page
