"""The vote from the voter's side: the ballot pages, the API, and every fraud rule."""

import html
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from judging.extensions import db
from judging.models import Ballot, Base, Nominee, utcnow
from judging.services import voting

from .fixtures.domain import csrf_token

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL

NOMINEE = "gaming-club"


@pytest.fixture
def codes(seeded_award):
    """The seeded award in its voting phase, with three printed cards."""
    seeded_award.status = "voting"
    db.session.commit()
    made = voting.generate_codes(seeded_award, 3, actor=None)
    db.session.commit()
    return made


def _ballots() -> int:
    return db.session.scalar(select(func.count()).select_from(Ballot))


def _api(client, code, nominee=NOMINEE, **extra):
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    body = {"code": code, "nominee": nominee, **extra}
    return client.post("/api/v1/awards/excellence-award/ballots", json=body, headers=headers)


def _post(client, code, nominee=NOMINEE, action="review"):
    data = {"code": code, "action": action, "csrf_token": csrf_token(client, "/")}
    if nominee is not None:
        data["nominee"] = nominee
    return client.post("/vote/excellence-award", data=data)


# --- The pages ---------------------------------------------------------------------------------


def test_ballot_page_prefills_the_code_and_lists_the_shortlist(client, codes):
    response = client.get(f"/vote/excellence-award?code={codes[0].lower()}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{codes[0]}"' in page
    assert page.count('type="radio" name="nominee"') == 13
    assert "Gaming Club" in page and "Gothenburg, Sweden" in page
    assert response.headers["Cache-Control"] == "no-store"


def test_review_confirm_and_receipt(client, codes):
    response = _post(client, codes[0])
    assert response.status_code == 303
    assert response.headers["Location"] == "/vote/excellence-award/confirm"
    assert codes[0] not in response.headers["Location"]
    response = client.get(response.headers["Location"])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You are voting for" in page and "Gaming Club" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert _ballots() == 0  # confirming is a separate step

    response = _post(client, codes[0], action="confirm")
    ballot = db.session.scalar(select(Ballot))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/vote/excellence-award/receipt/{ballot.receipt}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ballot.receipt in page and "You voted for <strong>Gaming Club</strong>" in page
    assert f"/vote/excellence-award/check?receipt={ballot.receipt}" in page

    again = _post(client, codes[0], nominee="day-centre-sviesa")
    assert again.status_code == 409
    assert "This card has already been used to vote" in again.get_data(as_text=True)
    assert _ballots() == 1


def test_a_card_votes_from_pages_in_another_language(client, codes):
    """Every step of the ballot goes through the translation layer (issue 18): in Lithuanian the
    pages render, say their language, refuse and record as in English."""
    client.set_cookie("lang", "lt")
    ballot = client.get("/vote/excellence-award").get_data(as_text=True)
    assert '<html lang="lt">' in ballot and 'name="nominee"' in ballot
    refused = _post(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    assert refused.status_code == 403 and 'id="vote-error"' in refused.get_data(as_text=True)
    confirm = client.get(_post(client, codes[0]).headers["Location"])
    assert '<html lang="lt">' in confirm.get_data(as_text=True)
    cast = client.get(_post(client, codes[0], action="confirm").headers["Location"])
    page = cast.get_data(as_text=True)
    assert '<html lang="lt">' in page and "Gaming Club" in page
    assert _ballots() == 1
    receipt = db.session.scalar(select(Ballot)).receipt
    check = client.get(f"/vote/excellence-award/check?receipt={receipt}")
    assert check.status_code == 200 and '<html lang="lt">' in check.get_data(as_text=True)


def test_reloading_the_receipt_shows_it_again_and_posts_nothing(app, client, codes):
    _post(client, codes[0])
    receipt_url = _post(client, codes[0], action="confirm").headers["Location"]
    receipt = receipt_url.rsplit("/", 1)[1]
    for _ in range(2):  # a reload: the same receipt, no refusal, no second ballot
        response = client.get(receipt_url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Thank you: your vote is recorded" in page and receipt in page
        assert "already been used" not in page and "Gaming Club" in page
        assert response.headers["Cache-Control"] == "no-store"
    assert _ballots() == 1

    # Back from the receipt: the confirmation has nothing left to confirm, so the ballot,
    # which points to the receipt.
    back = client.get("/vote/excellence-award/confirm")
    assert back.status_code == 303 and back.headers["Location"] == "/vote/excellence-award"
    ballot_page = client.get("/vote/excellence-award").get_data(as_text=True)
    assert f"/vote/excellence-award/receipt/{receipt}" in ballot_page
    assert codes[0] not in ballot_page  # the used code is not put back in the form

    # Anyone else with the address learns only what the public check says, not the choice.
    stranger = app.test_client().get(receipt_url)
    page = stranger.get_data(as_text=True)
    assert stranger.status_code == 200 and "Counted." in page and "Gaming Club" not in page
    assert app.test_client().get("/vote/excellence-award/receipt/NOPE1234").status_code == 404


def test_change_goes_back_with_the_choice_kept(client, codes):
    response = _post(client, codes[0], action="change")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'value="{NOMINEE}" required checked' in page and f'value="{codes[0]}"' in page
    assert _ballots() == 0


@pytest.mark.parametrize(
    ("code", "nominee", "status", "message"),
    [
        ("ZZZZ-ZZZZ-ZZZZ-ZZZZ", NOMINEE, 403, "This code is not valid"),
        ("", NOMINEE, 422, "Enter the code"),
        (None, None, 422, "Choose one of the nominees"),
        (None, "no-such-nominee", 422, "Choose one of the nominees"),
    ],
)
def test_page_refusals_keep_code_and_choice(client, codes, code, nominee, status, message):
    code = codes[0] if code is None else code
    for action in ("review", "confirm"):
        response = _post(client, code, nominee=nominee, action=action)
        page = response.get_data(as_text=True)
        assert response.status_code == status, page
        assert message in page
        assert f'value="{code}"' in page
        if nominee == NOMINEE:
            assert f'value="{NOMINEE}" required checked' in page
    assert _ballots() == 0


def test_the_ballot_page_and_the_api_refuse_in_the_same_order_and_words(app, codes):
    """One set of rules (voting.check_ballot): an unknown or used card is named before a bad
    choice, on the page before the vote is confirmed, on confirming and in the API."""
    used = codes[2]
    assert _api(app.test_client(), used).status_code == 201
    cases = {
        ("ZZZZ-ZZZZ-ZZZZ-ZZZZ", "no-such-nominee"): (403, voting.UNKNOWN_CODE),
        ("----", NOMINEE): (422, voting.NO_CODE),
        (used, "no-such-nominee"): (409, voting.USED_CARD),
        (codes[0], "no-such-nominee"): (422, voting.NO_CHOICE),
    }
    for (code, nominee), (status, message) in cases.items():
        for action in ("review", "confirm"):
            page = _post(app.test_client(), code, nominee=nominee, action=action)
            assert page.status_code == status, (code, action)
            assert html.escape(message) in page.get_data(as_text=True), (code, action)
        api = _api(app.test_client(), code, nominee=nominee)
        assert (api.status_code, api.get_json()["message"]) == (status, message), code
    assert _ballots() == 1


def test_page_outside_the_window(client, codes, seeded_award):
    seeded_award.status = "voting_closed"
    db.session.commit()
    assert "not open" in client.get("/vote/excellence-award").get_data(as_text=True)
    response = _post(client, codes[0], action="confirm")
    assert response.status_code == 409
    assert "Voting is not open" in response.get_data(as_text=True)
    assert _ballots() == 0


def test_page_posts_need_the_csrf_token(client, codes):
    data = {"code": codes[0], "nominee": NOMINEE, "action": "confirm"}
    assert client.post("/vote/excellence-award", data=data).status_code == 400
    assert _ballots() == 0


def test_refused_attempts_are_rate_limited_per_ip(app, client, codes):
    app.config["VOTE_FAILURES_PER_IP"] = "3 per minute"
    statuses = [_post(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ").status_code for _ in range(4)]
    assert statuses == [403, 403, 403, 429]


def test_accepted_ballots_are_never_rate_limited(app, seeded_award, codes):
    """A ceremony hall votes from behind one router: many good codes from one address."""
    app.config["VOTE_FAILURES_PER_IP"] = "2 per minute"
    good = voting.generate_codes(seeded_award, 6, actor=None)
    db.session.commit()
    statuses = [_api(app.test_client(), code).status_code for code in good]
    assert statuses == [201] * 6


def test_receipt_check_counted_then_voided(client, codes, seeded_award, make_user):
    receipt = _api(client, codes[0]).get_json()["receipt"]
    url = f"/vote/excellence-award/check?receipt={receipt.lower()}"
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Counted." in page
    assert "Gaming Club" not in page  # the check says nothing of the choice

    ballot = voting.ballot_by_receipt(seeded_award, receipt)
    voting.void(ballot, reason="Card reported stolen.", actor=make_user(role="admin"))
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Voided." in page and "Counted." not in page and "stolen" not in page

    response = client.get("/vote/excellence-award/check?receipt=NOPE12345678")
    assert response.status_code == 404 and "Not found." in response.get_data(as_text=True)
    assert client.get("/vote/excellence-award/check").status_code == 200


# --- The API and the fraud rules ---------------------------------------------------------------


def test_api_casts_once_per_code(client, codes):
    response = _api(client, codes[1].replace("-", "").lower())
    assert response.status_code == 201
    body = response.get_json()
    assert body["nominee"] == NOMINEE and len(body["receipt"]) == 12

    second = _api(client, codes[1], nominee="day-centre-sviesa")
    assert second.status_code == 409
    assert "already been used" in second.get_json()["message"]
    assert _ballots() == 1
    assert db.session.scalar(select(Ballot.receipt)) == body["receipt"]


def test_api_unknown_code(client, codes):
    response = _api(client, "ABCD-EFGH-JKLM-NPQR")
    assert response.status_code == 403
    assert "not valid" in response.get_json()["message"]
    assert _ballots() == 0


def test_a_code_votes_only_in_its_own_award(client, codes, seeded_award):
    from judging.models import Award

    other = Award(slug="other-award", title="Another Award", status="voting")
    db.session.add(other)
    db.session.commit()
    other_code = voting.generate_codes(other, 1, actor=None)[0]
    db.session.commit()
    assert _api(client, other_code).status_code == 403
    assert _ballots() == 0


@pytest.mark.parametrize("status", ["draft", "scoring", "closed", "voting_closed", "published"])
def test_api_outside_the_window_by_status(client, codes, seeded_award, status):
    seeded_award.status = status
    db.session.commit()
    response = _api(client, codes[0])
    assert response.status_code == 409
    assert "not open" in response.get_json()["message"]
    assert _ballots() == 0


@pytest.mark.parametrize("when", ["closed", "not_yet"])
def test_api_outside_the_window_by_time(client, codes, seeded_award, when):
    if when == "closed":
        seeded_award.voting_closes_at = utcnow() - timedelta(minutes=1)
    else:
        seeded_award.voting_opens_at = utcnow() + timedelta(minutes=10)
    db.session.commit()
    assert _api(client, codes[0]).status_code == 409
    assert _ballots() == 0


def test_api_refuses_a_withdrawn_nominee(client, codes, seeded_award):
    nominee = db.session.scalar(select(Nominee).where(Nominee.slug == NOMINEE))
    nominee.withdrawn_at = utcnow()
    db.session.commit()
    response = _api(client, codes[0])
    assert response.status_code == 422
    assert _ballots() == 0
    assert NOMINEE not in client.get("/vote/excellence-award").get_data(as_text=True)


def test_api_refuses_a_nominee_outside_the_top_n(
    client, codes, seeded_award, make_user, make_evaluation
):
    juror = make_user(role="juror", awards=[seeded_award])
    by_slug = {n.slug: n for n in seeded_award.nominees}
    for slug, value in (("gaming-club", 9), ("day-centre-sviesa", 3)):
        scores = {c.slug: value for c in seeded_award.criteria}
        make_evaluation(by_slug[slug], juror, scores, submitted=True)
    seeded_award.vote_top_n = 1
    db.session.commit()
    assert [n.slug for n in voting.shortlist(seeded_award)] == ["gaming-club"]
    assert _api(client, codes[0], nominee="day-centre-sviesa").status_code == 422
    page = client.get("/vote/excellence-award").get_data(as_text=True)
    assert page.count('type="radio"') == 1
    assert _api(client, codes[0]).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"code": "X"},
        {"nominee": NOMINEE},
        {"code": "X", "nominee": NOMINEE, "nominee_id": 1},
        {"code": 5, "nominee": NOMINEE},
    ],
)
def test_api_bad_bodies(client, codes, body):
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    response = client.post("/api/v1/awards/excellence-award/ballots", json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["errors"]
    assert _ballots() == 0


def test_the_api_needs_no_session_and_no_csrf_token(app, codes):
    """A ballot is authorised by its code: an API-only client posts the JSON alone."""
    bare = app.test_client(use_cookies=False)
    body = {"code": codes[0], "nominee": NOMINEE}
    response = bare.post("/api/v1/awards/excellence-award/ballots", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["nominee"] == NOMINEE
    assert "Set-Cookie" not in response.headers
    again = bare.post("/api/v1/awards/excellence-award/ballots", json=body)
    assert again.status_code == 409
    assert _ballots() == 1


def test_juror_writes_still_need_the_csrf_token(juror_client):
    client = juror_client
    url = "/api/v1/awards/excellence-award/nominees/gaming-club/recusal"
    response = client.post(url, json={"reason": "I advised them."})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_api_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/awards/{award_slug}/ballots"]["post"]
    assert {"201", "403", "404", "409", "422"} <= set(operation["responses"])
    assert "CSRF" not in operation["responses"]["400"]["description"]
    assert "no session and no CSRF" in operation["description"]
    schema = spec["components"]["schemas"]["BallotIn"]
    assert set(schema["required"]) == {"code", "nominee"}


def test_codes_ip_and_user_agent_are_stored_only_as_keyed_hashes(client, codes):
    headers = {"X-CSRFToken": csrf_token(client, "/"), "User-Agent": "PhoneBrowser/7.1"}
    body = {"code": codes[2], "nominee": NOMINEE}
    response = client.post(
        "/api/v1/awards/excellence-award/ballots",
        json=body,
        headers=headers,
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert response.status_code == 201
    ballot = db.session.scalar(select(Ballot))
    assert ballot.ip_hash == voting.keyed_hash("ip:203.0.113.77")
    assert ballot.user_agent_hash == voting.keyed_hash("ua:PhoneBrowser/7.1")

    needles = {"203.0.113.77", "PhoneBrowser"} | set(codes) | {c.replace("-", "") for c in codes}
    for table in Base.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            dumped = " ".join(str(value) for value in row)
            for needle in needles:
                assert needle not in dumped, (table.name, needle)


def test_twenty_phones_racing_with_one_card_cast_one_ballot(app, codes):
    """20 threads post the same card at once, through the API: exactly one ballot."""
    clients = [app.test_client() for _ in range(20)]
    tokens = [csrf_token(c, "/") for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def vote(client, token, n):
        barrier.wait()
        response = client.post(
            "/api/v1/awards/excellence-award/ballots",
            json={"code": codes[0], "nominee": NOMINEE},
            headers={"X-CSRFToken": token},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=vote, args=(c, t, n))
        for n, (c, t) in enumerate(zip(clients, tokens, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 19
    db.session.rollback()
    assert db.session.scalar(text("SELECT COUNT(*) FROM ballot")) == 1
