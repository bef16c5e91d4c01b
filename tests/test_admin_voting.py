"""The vote, administrator's side: its rules (shortlist, weights) fixed once voting opens, access
codes shown once and printed as cards with QR codes, voiding ballots, the tally hidden until
voting closes, and the vote in the published (and verifiable) results."""

import json
import re

import pytest
from sqlalchemy import select

from judging.extensions import db
from judging.models import AuditEvent, Award, Ballot, Base
from judging.services import publication, voting
from judging.services.awards import transition

from .conftest import csrf_token, log_in
from .test_publication import SCORES

AWARD = "excellence-award"
AWARD_PAGE = f"/admin/awards/{AWARD}"
PAGE = f"{AWARD_PAGE}/voting"
CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


@pytest.fixture
def scored(seeded_award, make_user, make_evaluation):
    """Three jurors evaluated every nominee, the first best, no ties; scoring closed."""
    seeded_award.status = "scoring"
    seeded_award.quorum = 3
    db.session.commit()
    jurors = [make_user(awards=[seeded_award]) for _ in range(3)]
    for i, nominee in enumerate(seeded_award.nominees):
        total = 30 - 2 * i
        values = [total // 3 + (1 if j < total % 3 else 0) for j in range(3)]
        for juror, value in zip(jurors, values, strict=True):
            make_evaluation(nominee, juror, dict.fromkeys(SCORES, value), submitted=True)
    transition(seeded_award, "close_scoring", actor=None)
    db.session.commit()
    return seeded_award


@pytest.fixture
def admin_client(client, make_user):
    admin = make_user(role="admin", name="Ada Admin")
    assert log_in(client, admin).status_code == 302
    client.admin = admin
    return client


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, PAGE), **data})


def step(client, name: str):
    """Take a step through its confirmation page, as the admin does."""
    return post(client, f"{AWARD_PAGE}/{name}", confirmed="yes")


def fresh(award: Award) -> Award:
    db.session.expire_all()
    return db.session.get(Award, award.id)


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def settings(client, jury: int, vote: int, top_n: int | None = None):
    return post(
        client,
        f"{PAGE}/settings",
        shortlist="top" if top_n else "all",
        top_n="" if top_n is None else str(top_n),
        jury_weight=str(jury),
        vote_weight=str(vote),
    )


def generate(client, count: int) -> list[str]:
    response = post(client, f"{PAGE}/codes", count=str(count))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Cache-Control"] == "no-store"
    return list(dict.fromkeys(CODE.findall(response.get_data(as_text=True))))


def test_the_rules_are_saved_audited_then_locked_once_voting_opens(admin_client, scored):
    assert settings(admin_client, 60, 40, top_n=5).status_code == 302
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

    refused = settings(admin_client, 100, 0)
    assert refused.status_code == 409
    assert "fixed once voting has opened" in refused.get_data(as_text=True)
    award = fresh(scored)
    assert (award.jury_weight, award.vote_weight, award.vote_top_n) == (60, 40, 5)
    assert len(events("award.vote_settings_changed")) == 1
    assert "Save the rules" not in admin_client.get(PAGE).get_data(as_text=True)


def test_the_weights_must_add_up_to_100(admin_client, scored):
    response = settings(admin_client, 70, 40)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="vote_weight-error">([^<]*)</p>', page)
    assert error and "must add up to 100" in error.group(1)
    assert 'aria-describedby="vote_weight-error"' in page
    award = fresh(scored)
    assert (award.jury_weight, award.vote_weight) == (100, 0)
    assert not events("award.vote_settings_changed")
    assert settings(admin_client, 50, 50, top_n=None).status_code == 302
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


def _ballots(award: Award, votes: dict[str, int]) -> list[Ballot]:
    codes = voting.generate_codes(award, sum(votes.values()), actor=None)
    ballots = []
    for slug, n in votes.items():
        for _ in range(n):
            ballots.append(voting.cast(award, code=codes.pop(), nominee_slug=slug))
    db.session.commit()
    return ballots


def test_voiding_needs_a_reason_is_audited_and_the_ballot_stays_listed(admin_client, scored):
    step(admin_client, "open_voting")
    award = fresh(scored)
    slug = voting.shortlist(award)[0].slug
    ballots = _ballots(award, {slug: 3})
    target = ballots[0]

    post(admin_client, f"{PAGE}/void", ballot=str(target.id), reason="  ")
    assert voting.tally(fresh(scored))["counted"] == 3

    response = post(admin_client, f"{PAGE}/void", ballot=str(target.id), reason="Card lost")
    assert response.status_code == 302
    assert voting.tally(fresh(scored)) == {
        "cast": 3,
        "voided": 1,
        "counted": 2,
        "votes": {slug: 2},
    }
    [event] = events("ballot.voided")
    assert json.loads(event.payload) == {"receipt": target.receipt, "reason": "Card lost"}
    again = post(admin_client, f"{PAGE}/void", ballot=str(target.id), reason="Twice")
    assert again.status_code == 302 and len(events("ballot.voided")) == 1

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
    _ballots(award, {first.slug: 2})

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
    assert settings(admin_client, 50, 50).status_code == 302
    step(admin_client, "open_voting")
    award = fresh(scored)
    jury_first, jury_second = award.nominees[0], award.nominees[1]
    ballots = _ballots(award, {jury_second.slug: 5, jury_first.slug: 2})
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
