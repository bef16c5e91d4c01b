"""The vote, administrator's side: its rules (shortlist, weights) fixed once voting opens, access
codes shown once and printed as cards with QR codes, voiding ballots, the tally hidden until
voting closes, and the vote in the published (and verifiable) results."""

import json
import re

import pytest
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Base
from judging.services import publication, voting
from judging.services.awards import transition

from .fixtures.domain import csrf_token, events, log_in, post
from .fixtures.results import (
    AWARD,
    AWARD_PAGE,
    VOTING_PAGE,
    cast_ballots,
    fresh,
    step,
    vote_settings,
)

PAGE = VOTING_PAGE
CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def generate(client, count: int) -> list[str]:
    response = post(client, f"{PAGE}/codes", count=str(count))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert f"{PAGE}/codes/" in response.headers["Location"]
    assert not CODE.findall(response.headers["Location"])  # no code in the URL
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    return list(dict.fromkeys(CODE.findall(shown.get_data(as_text=True))))


def test_the_rules_are_saved_audited_then_locked_once_voting_opens(admin_client, scored):
    assert vote_settings(admin_client, 60, 40, top_n=5).status_code == 302
    award = fresh(scored)
    assert (award.jury_weight, award.vote_weight, award.vote_top_n) == (60, 40, 5)
    assert len(voting.shortlist(award)) == 5
    [event] = events("award.vote_settings_changed")
    assert json.loads(event.payload)["after"] == {
        "vote_top_n": 5,
        "jury_weight": 60,
        "vote_weight": 40,
        "online_vote": False,
    }

    confirm = post(admin_client, f"{AWARD_PAGE}/open_voting")
    assert confirm.status_code == 200 and "Open voting?" in confirm.get_data(as_text=True)
    assert fresh(scored).status == "closed"  # nothing happened yet
    assert step(admin_client, "open_voting").status_code == 302
    assert fresh(scored).status == "voting"
    assert events("award.open_voting")

    refused = vote_settings(admin_client, 100, 0)
    assert refused.status_code == 409
    assert "fixed once voting has opened" in refused.get_data(as_text=True)
    award = fresh(scored)
    assert (award.jury_weight, award.vote_weight, award.vote_top_n) == (60, 40, 5)
    assert len(events("award.vote_settings_changed")) == 1
    assert "Save the rules" not in admin_client.get(PAGE).get_data(as_text=True)


def test_the_weights_must_add_up_to_100(admin_client, scored):
    response = vote_settings(admin_client, 70, 40)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="vote_weight-error">([^<]*)</p>', page)
    assert error and "must add up to 100" in error.group(1)
    assert 'aria-describedby="vote_weight-error"' in page
    award = fresh(scored)
    assert (award.jury_weight, award.vote_weight) == (100, 0)
    assert not events("award.vote_settings_changed")
    assert vote_settings(admin_client, 50, 50, top_n=None).status_code == 302
    no_n = post(
        admin_client, f"{PAGE}/settings", shortlist="top", jury_weight="50", vote_weight="50"
    )
    assert no_n.status_code == 422 and "how many" in no_n.get_data(as_text=True)


def _every_stored_value() -> str:
    dump = []
    for table in Base.metadata.sorted_tables:
        dump.extend(repr(tuple(row)) for row in db.session.execute(table.select()))
    return "\n".join(dump)


def test_codes_are_distinct_shown_once_valid_once_and_stored_nowhere(admin_client, scored):
    codes = generate(admin_client, 12)
    assert len(codes) == 12 and all(CODE.fullmatch(c) for c in codes)
    [event] = events("votes.codes_generated")
    assert json.loads(event.payload) == {"count": 12}

    stored = _every_stored_value()
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    assert not CODE.findall(admin_client.get(PAGE).get_data(as_text=True))

    assert step(admin_client, "open_voting").status_code == 302
    award = fresh(scored)
    nominee = voting.shortlist(award)[0].slug
    for code in codes:
        voting.cast(award, code=code, nominee_slug=nominee)
    db.session.commit()
    with pytest.raises(voting.VoteError) as used:
        voting.cast(award, code=codes[0], nominee_slug=nominee)
    assert used.value.status == 409
    assert voting.tally(award)["counted"] == 12


def test_generating_asks_for_a_sensible_number(admin_client, scored):
    for count in ("0", "", "5001"):
        response = post(admin_client, f"{PAGE}/codes", count=count)
        assert response.status_code == 422
    assert not events("votes.codes_generated")


def test_the_cards_page_has_one_qr_code_per_code_leading_to_the_ballot(admin_client, scored):
    codes = generate(admin_client, 10)
    response = admin_client.post(
        f"{PAGE}/cards",
        data={
            "csrf_token": csrf_token(admin_client, PAGE),
            "code": [*codes, "AAAA-BBBB-CCCC-DDDD"],
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert page.count('<svg viewBox="') == 10
    assert page.count('class="vote-card-qr"') == 10
    assert page.count('class="vote-card-sheet"') == 2  # 8 to a page
    assert "style=" not in page  # the strict CSP allows no inline style
    assert all(code in page for code in codes)
    assert "1 code(s) were left out" in page
    from judging.admin.voting_views import ballot_url

    with admin_client.application.test_request_context():
        url = ballot_url(fresh(scored), codes[0])
    assert url == f"http://localhost/vote/{AWARD}?code={codes[0]}"

    empty = admin_client.post(f"{PAGE}/cards", data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert empty.status_code == 422


def test_voiding_needs_a_reason_is_audited_and_the_ballot_stays_listed(admin_client, scored):
    step(admin_client, "open_voting")
    award = fresh(scored)
    slug = voting.shortlist(award)[0].slug
    ballots = cast_ballots(award, {slug: 3})
    target = ballots[0]

    blank = post(admin_client, f"{PAGE}/void", ballot=str(target.id), reason="  ")
    assert blank.status_code == 422
    assert "Give the reason" in blank.get_data(as_text=True)
    assert voting.tally(fresh(scored))["counted"] == 3

    # First a confirmation page naming the ballot and the reason; nothing is void yet.
    asked = post(admin_client, f"{PAGE}/void", ballot=str(target.id), reason="Card lost")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert f"Void ballot {target.receipt}?" in page and "Reason: Card lost" in page
    assert 'name="confirmed" value="yes"' in page and 'name="reason" value="Card lost"' in page
    assert f"Yes, void ballot {target.receipt}</button>" in page
    assert voting.tally(fresh(scored))["counted"] == 3 and not events("ballot.voided")

    response = post(
        admin_client, f"{PAGE}/void", ballot=str(target.id), reason="Card lost", confirmed="yes"
    )
    assert response.status_code == 302
    assert voting.tally(fresh(scored)) == {
        "cast": 3,
        "voided": 1,
        "counted": 2,
        "votes": {slug: 2},
    }
    [event] = events("ballot.voided")
    assert json.loads(event.payload) == {"receipt": target.receipt, "reason": "Card lost"}
    again = post(
        admin_client, f"{PAGE}/void", ballot=str(target.id), reason="Twice", confirmed="yes"
    )
    assert again.status_code == 409 and len(events("ballot.voided")) == 1
    assert "already void" in again.get_data(as_text=True)

    page = admin_client.get(PAGE).get_data(as_text=True)
    assert target.receipt in page and "Card lost" in page
    assert page.count('class="is-void"') == 1
    assert (
        page.count('<form method="post" action="/admin/awards/excellence-award/voting/void"') == 2
    )


def test_the_tally_is_hidden_while_voting_unless_live(admin_client, scored):
    step(admin_client, "open_voting")
    award = fresh(scored)
    first = voting.shortlist(award)[0]
    cast_ballots(award, {first.slug: 2})

    page = admin_client.get(PAGE).get_data(as_text=True)
    assert 'id="ballots-cast">2<' in page
    assert "vote-tally" not in page and "hidden until voting closes" in page

    assert post(admin_client, f"{PAGE}/live-tally").status_code == 302
    assert fresh(scored).live_tally and events("award.live_tally_changed")
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "vote-tally" in page and first.title in page

    post(admin_client, f"{PAGE}/live-tally")
    assert not fresh(scored).live_tally
    assert "vote-tally" not in admin_client.get(PAGE).get_data(as_text=True)

    award_page = admin_client.get(AWARD_PAGE).get_data(as_text=True)
    assert "/close_voting" in award_page
    assert step(admin_client, "close_voting").status_code == 302
    assert fresh(scored).status == "voting_closed"
    assert "vote-tally" in admin_client.get(PAGE).get_data(as_text=True)


def test_the_award_page_offers_open_voting_after_scoring_closes(admin_client, scored):
    page = admin_client.get(AWARD_PAGE).get_data(as_text=True)
    assert "/open_voting" in page and "/review" in page


def test_published_results_combine_the_vote_and_verify(admin_client, runner, scored):
    assert vote_settings(admin_client, 50, 50).status_code == 302
    step(admin_client, "open_voting")
    award = fresh(scored)
    jury_first, jury_second = award.nominees[0], award.nominees[1]
    ballots = cast_ballots(award, {jury_second.slug: 5, jury_first.slug: 2})
    voting.void(ballots[-1], reason="Duplicate card", actor=admin_client.admin)
    db.session.commit()
    assert step(admin_client, "close_voting").status_code == 302

    publication.publish(fresh(scored), actor=None)
    db.session.commit()
    document, provisional = publication.visible_results(fresh(scored), viewer=None)
    assert not provisional
    vote = document["vote"]
    assert (vote["cast"], vote["voided"], vote["counted"]) == (7, 1, 6)
    assert (vote["jury_weight"], vote["vote_weight"]) == (50, 50)
    top = document["nominees"][0]
    assert top["slug"] == jury_second.slug and top["rank"] == 1  # the vote overtook the jury
    assert top["votes"] == 5 and top["vote_score"] == 100.0
    assert top["jury_score"] < document["nominees"][1]["jury_score"]

    page = admin_client.get(f"/awards/{AWARD}/results").get_data(as_text=True)
    assert "Ballots cast: <strong>7</strong>" in page and "counted: <strong>6</strong>" in page
    assert "50% × jury score + 50% × vote score" in page

    verified = runner.invoke(args=["results", AWARD, "--verify"])
    assert verified.exit_code == 0 and "OK: the published results match" in verified.output


# --- Issue 15: where to vote, reloads that issue nothing, the rules' setup, refusals -----------


def test_reloading_the_codes_page_shows_the_same_batch_and_issues_nothing(
    admin_client, scored, make_user
):
    response = post(admin_client, f"{PAGE}/codes", count="8")
    batch_url = response.headers["Location"]
    first = admin_client.get(batch_url).get_data(as_text=True)
    codes = list(dict.fromkeys(CODE.findall(first)))
    assert len(codes) == 8
    for _ in range(2):  # reload, twice: the same eight codes, and no new one issued
        again = admin_client.get(batch_url)
        assert again.status_code == 200
        assert list(dict.fromkeys(CODE.findall(again.get_data(as_text=True)))) == codes
    assert len(events("votes.codes_generated")) == 1
    assert voting.tally(fresh(scored))["cast"] == 0
    from judging.models import VotingCredential

    assert db.session.scalar(select(func.count()).select_from(VotingCredential)) == 8

    download = admin_client.get(f"{batch_url}/codes.txt")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True).split() == codes

    # Another administrator's session cannot read the batch: it is in this session only.
    other = admin_client.application.test_client()
    log_in(other, make_user(role="admin"))
    refused = other.get(batch_url)
    assert refused.status_code == 404 and not CODE.findall(refused.get_data(as_text=True))
    assert "no longer shown" in refused.get_data(as_text=True)


def test_the_vote_page_shows_the_addresses_and_qr_codes_for_the_room(admin_client, scored):
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "localhost/vote/excellence-award<" in page
    assert page.count('class="vote-room-qr"') == 1
    assert "/vote/excellence-award/online" not in page
    scored.online_vote = True
    db.session.commit()
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "localhost/vote/excellence-award/online<" in page
    assert page.count('class="vote-room-qr"') == 2


def test_every_card_prints_the_ballot_address(admin_client, scored):
    codes = generate(admin_client, 3)
    page = admin_client.post(
        f"{PAGE}/cards", data={"csrf_token": csrf_token(admin_client, PAGE), "code": codes}
    ).get_data(as_text=True)
    assert page.count('<p class="vote-card-address">localhost/vote/excellence-award</p>') == 3


def test_the_rules_list_the_names_on_the_ballot_before_the_next_step(admin_client, scored):
    assert vote_settings(admin_client, 70, 30, top_n=5).status_code == 302
    page = admin_client.get(PAGE).get_data(as_text=True)
    names = re.search(r'<ol class="vote-shortlist-names">(.*?)</ol>', page, re.S).group(1)
    shortlisted = voting.shortlist(fresh(scored))
    assert names.count("<li>") == 5
    assert all(n.title in names for n in shortlisted)
    assert "the jury&#39;s top 5: 5 of 13" in page
    assert page.index("Rules of the vote") < page.index("Next step") < page.index("Open voting</")


def test_a_top_n_beyond_the_nominees_is_refused(admin_client, scored):
    response = vote_settings(admin_client, 70, 30, top_n=20)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Top 20: the award has only 13 nominees in the running" in page
    assert 'value="20"' in page  # what the admin typed is kept
    award = fresh(scored)
    assert (award.vote_top_n, award.vote_weight) == (None, 0)
    assert not events("award.vote_settings_changed")
    assert vote_settings(admin_client, 70, 30, top_n=13).status_code == 302


def test_a_vote_weight_is_suggested_but_counts_only_once_saved(admin_client, scored):
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert re.search(r'id="vote_weight"[^>]*value="30"', page)
    assert re.search(r'id="jury_weight"[^>]*value="70"', page)
    assert "The vote counts for 0 % as saved" in page
    assert "The vote&#39;s weight is 0 %" in page or "The vote's weight is 0 %" in page
    assert fresh(scored).vote_weight == 0
    assert vote_settings(admin_client, 70, 30).status_code == 302
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "counts for 0 %" not in page and fresh(scored).vote_weight == 30


def test_the_ballots_are_searched_by_receipt_and_paged(admin_client, scored, monkeypatch):
    from judging.admin import voting_views

    monkeypatch.setattr(voting_views, "BALLOTS_PER_PAGE", 4)
    step(admin_client, "open_voting")
    award = fresh(scored)
    ballots = cast_ballots(award, {voting.shortlist(award)[0].slug: 6})
    receipts = [b.receipt for b in ballots]

    first = admin_client.get(PAGE).get_data(as_text=True)
    assert "6 ballots, newest first: page 1 of 2." in first
    assert [r for r in receipts if r in first] == receipts[2:]
    assert f"{PAGE}?page=2#ballots" in first
    second = admin_client.get(f"{PAGE}?page=2").get_data(as_text=True)
    assert [r for r in receipts if r in second] == receipts[:2]
    assert admin_client.get(f"{PAGE}?page=99").status_code == 200  # the last page

    found = admin_client.get(f"{PAGE}?receipt={receipts[0].lower()}").get_data(as_text=True)
    assert f"1 ballot with a receipt containing {receipts[0]}" in found
    assert [r for r in receipts if r in found] == [receipts[0]]
    none = admin_client.get(f"{PAGE}?receipt=ZZZZZZZZ").get_data(as_text=True)
    assert "No ballot of this award has a receipt containing ZZZZZZZZ" in none


@pytest.mark.parametrize(
    ("name", "opened_first", "message", "shown_on"),
    [
        ("close_voting", False, "it cannot go to voting_closed from there", "Rules of the vote"),
        ("open_voting", True, "it cannot go to voting from there", "Rules of the vote"),
        ("close_scoring", False, "it cannot go to closed from there", "Next step"),
        ("open_scoring", True, "it cannot go to scoring from there", "Next step"),
    ],
)
def test_a_refused_transition_answers_409_with_the_reason(
    admin_client, scored, name, opened_first, message, shown_on
):
    if opened_first:
        assert step(admin_client, "open_voting").status_code == 302
    before = fresh(scored).status
    response = step(admin_client, name)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert message in page and shown_on in page
    assert fresh(scored).status == before


def test_the_vote_rules_from_the_command_line(runner, scored):
    result = runner.invoke(
        args=["votes", "rules", AWARD, "--vote-weight", "40", "--shortlist", "top:5", "--online"]
    )
    assert result.exit_code == 0, result.output
    assert "jury 60 %, vote 40 %; on the ballot: the jury's top 5 (5); online vote on" in (
        result.output
    )
    award = fresh(scored)
    assert (award.jury_weight, award.vote_weight, award.vote_top_n, award.online_vote) == (
        60,
        40,
        5,
        True,
    )
    [event] = events("award.vote_settings_changed")
    assert event.actor_id is None

    unchanged = runner.invoke(args=["votes", "rules", AWARD, "--vote-weight", "40"])
    assert unchanged.exit_code == 0 and "nothing changed" in unchanged.output
    everyone = runner.invoke(
        args=["votes", "rules", AWARD, "--vote-weight", "30", "--shortlist", "all", "--no-online"]
    )
    assert everyone.exit_code == 0
    assert (fresh(scored).vote_top_n, fresh(scored).online_vote) == (None, False)

    for bad, said in [
        (["--vote-weight", "130"], "130 is not in the range 0<=x<=100"),
        (["--vote-weight", "30", "--shortlist", "top:x"], "top:N"),
        (["--vote-weight", "30", "--shortlist", "top:20"], "the award has only 13 nominees"),
    ]:
        refused = runner.invoke(args=["votes", "rules", AWARD, *bad])
        assert refused.exit_code != 0 and said in refused.output, refused.output
    assert fresh(scored).vote_weight == 30

    transition(fresh(scored), "open_voting", actor=None)
    db.session.commit()
    locked = runner.invoke(args=["votes", "rules", AWARD, "--vote-weight", "50"])
    assert locked.exit_code == 1
    assert "fixed once voting has opened" in locked.output
    assert fresh(scored).vote_weight == 30
    missing = runner.invoke(args=["votes", "rules", "no-such-award", "--vote-weight", "50"])
    assert missing.exit_code == 1 and "No award with slug no-such-award" in missing.output


def test_the_award_page_links_the_ballot_with_its_real_shortlist(client, scored):
    """While voting is open the public page says where to vote and who is on the ballot."""
    seeded_award = scored
    seeded_award.status = "voting"
    db.session.commit()
    page = client.get("/awards/excellence-award").get_data(as_text=True)
    assert 'href="/vote/excellence-award"' in page
    assert "All 13 nominees are on the ballot" in page
    assert "/vote/excellence-award/online" not in page

    seeded_award.vote_top_n, seeded_award.online_vote = 5, True
    db.session.commit()
    shortlisted = voting.shortlist(seeded_award)
    page = client.get("/awards/excellence-award").get_data(as_text=True)
    assert len(shortlisted) == 5
    assert "5 of the 13 nominees are on the ballot (the jury's top 5)" in page
    names = page[page.index('<ol class="vote-open-names">') :].split("</ol>", 1)[0]
    assert names.count("<li>") == len(shortlisted)
    assert all(n.title in names for n in shortlisted)
    assert 'href="/vote/excellence-award/online"' in page

    seeded_award.status = "voting_closed"
    db.session.commit()
    page = client.get("/awards/excellence-award").get_data(as_text=True)
    assert 'href="/vote/excellence-award"' not in page and "Voting is open" not in page
