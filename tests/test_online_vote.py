"""The online public vote: one ballot per verified mailbox, however its address is spelled."""

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from judging.extensions import db
from judging.models import Ballot, VotingCredential
from judging.services import voting

from .fixtures.domain import csrf_token
from .fixtures.mail import deliver_mail, outbox


@pytest.mark.parametrize(
    ("given", "mailbox"),
    [
        ("Ana.Costa+awards@GMail.com", "anacosta@gmail.com"),
        ("a.n.a.costa@googlemail.com", "anacosta@gmail.com"),
        ("ana+news@outlook.com", "ana@outlook.com"),
        ("ana.costa@example.org", "ana.costa@example.org"),  # dots matter elsewhere
        ("  Ana@Example.ORG ", "ana@example.org"),
        # A +tag is dropped at every domain, not only at a list of providers.
        ("mallory+1@posteo.de", "mallory@posteo.de"),
        ("Mallory+ballot+2@Posteo.DE", "mallory@posteo.de"),
        ("jo+tag@uni-wien.ac.at", "jo@uni-wien.ac.at"),
    ],
)
def test_addresses_are_normalised_to_one_mailbox(app, given, mailbox):
    assert voting.normalise_email(given) == mailbox


@pytest.fixture
def online(seeded_award):
    seeded_award.status, seeded_award.online_vote = "voting", True
    db.session.commit()
    return seeded_award


def ask_for_link(client, address: str, **extra):
    url = "/vote/excellence-award/online"
    return client.post(url, data={"email": address, "csrf_token": csrf_token(client, url), **extra})


def newest_link(app) -> str:
    body = newest_mail(app)
    return re.search(r"http://\S+/vote/excellence-award/online/\S+", body).group(0)


def newest_mail(app) -> str:
    deliver_mail(app)  # the page only queued it
    return outbox(app)[-1].get_content()


def vote_with(client, link: str, nominee: str = "evikomp", action: str = "confirm"):
    """Choose, then (with action=confirm) confirm on the check page; the last answer."""
    path = "/" + link.split("/", 3)[3]
    token = csrf_token(client, "/vote/excellence-award")
    response = client.post(path, data={"nominee": nominee, "action": "review", "csrf_token": token})
    if action == "confirm" and response.status_code == 303:
        response = client.post(
            path, data={"nominee": nominee, "action": "confirm", "csrf_token": token}
        )
    return response


def ballots() -> int:
    return db.session.scalar(select(func.count()).select_from(Ballot))


def test_a_verified_address_votes_once(app, client, online):
    assert "Check your inbox" in ask_for_link(client, "Ana.Costa@gmail.com").get_data(as_text=True)
    link = newest_link(app)
    response = vote_with(client, link)
    assert response.status_code == 303
    assert "/vote/excellence-award/receipt/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your receipt" in page and "EVIKOMP" in page

    # A second device holding the same link, mid-ballot when the first voted: refused.
    late = app.test_client()
    path = "/" + link.split("/", 3)[3]
    again = late.post(
        path,
        data={"nominee": "omapu", "action": "confirm", "csrf_token": csrf_token(late, path)},
    )
    assert again.status_code == 409
    assert "already been used to vote" in again.get_data(as_text=True)
    assert ballots() == 1


def test_the_online_vote_has_a_check_step(app, client, online):
    ask_for_link(client, "ana@example.org")
    link = newest_link(app)
    response = vote_with(client, link, action="review")
    assert response.status_code == 303 and response.headers["Location"].endswith("/confirm")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check your vote" in page and "You are voting for" in page and "EVIKOMP" in page
    assert ballots() == 0

    path = "/" + link.split("/", 3)[3]
    token = csrf_token(client, "/vote/excellence-award")
    change = client.post(path, data={"nominee": "evikomp", "action": "change", "csrf_token": token})
    assert change.status_code == 303
    ballot_page = client.get(change.headers["Location"]).get_data(as_text=True)
    assert 'value="evikomp" required checked' in ballot_page
    none = client.post(path, data={"action": "review", "csrf_token": token})
    assert none.status_code == 422 and "Choose one of the nominees" in none.get_data(as_text=True)
    assert ballots() == 0


def test_a_used_link_says_so_at_once_and_offers_the_receipt_check(app, client, online):
    ask_for_link(client, "ana@example.org")
    link = newest_link(app)
    vote_with(client, link)
    path = "/" + link.split("/", 3)[3]
    opened = app.test_client().get(path)
    page = opened.get_data(as_text=True)
    assert opened.status_code == 409
    assert "This link has already been used to vote" in page
    assert 'type="radio"' not in page  # no ballot to fill in for nothing
    assert 'action="/vote/excellence-award/check"' in page


def test_asking_again_after_voting_sends_no_new_link(app, client, online):
    ask_for_link(client, "ana@example.org")
    vote_with(client, newest_link(app))
    outbox = Path(app.instance_path) / "outbox"
    sent_before = len(list(outbox.glob("*.eml")))

    # The page says the same as to anyone: a third party learns nothing about the address.
    again = ask_for_link(app.test_client(), "Ana@Example.org")
    fresh = ask_for_link(app.test_client(), "someone.else@example.org")
    strip = re.compile(r'name="csrf_token"[^>]*>|<meta name="csrf-token"[^>]*>|nonce="[^"]*"')
    assert again.status_code == fresh.status_code == 200
    assert strip.sub("", again.get_data(as_text=True)) == strip.sub(
        "", fresh.get_data(as_text=True)
    )

    assert deliver_mail(app).sent == 2
    mails = sorted(outbox.glob("*.eml"))
    assert len(mails) == sent_before + 2
    told = message_from_bytes(mails[-2].read_bytes(), policy=policy.default).get_content()
    assert "already voted" in told and "/online/" not in told
    assert "/vote/excellence-award/check" in told
    assert "/vote/excellence-award/online/" in newest_mail(app)  # the other one gets a link


def test_tagged_and_capitalised_spellings_of_one_mailbox_vote_once(app, online):
    first = app.test_client()
    ask_for_link(first, "mallory+1@posteo.de")
    assert vote_with(first, newest_link(app)).location.startswith("/vote/excellence-award/receipt/")
    for spelling in ("mallory+2@posteo.de", "Mallory@Posteo.de"):
        ask_for_link(app.test_client(), spelling)
        told = newest_mail(app)  # the same mailbox: told it voted, and given no new link
        assert "already voted" in told and "/online/" not in told, spelling
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1


def test_the_address_is_never_stored(app, client, online):
    ask_for_link(client, "someone.private@example.org")
    vote_with(client, newest_link(app))
    for table in ("voting_credential", "ballot", "audit_event"):
        dump = " ".join(str(row) for row in db.session.execute(text(f"SELECT * FROM {table}")))
        assert "someone.private" not in dump
    assert db.session.scalar(select(VotingCredential.kind)) == "email"


def test_a_forged_link_is_refused(app, client, online):
    forged = vote_with(client, "http://x/vote/excellence-award/online/not-a-token")
    assert forged.status_code == 403
    opened = client.get("/vote/excellence-award/online/not-a-token")
    assert opened.status_code == 403 and "This link is not valid" in opened.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_the_honeypot_sends_nothing(app, client, online):
    response = ask_for_link(client, "bot@example.org", website="http://spam.example")
    assert "Check your inbox" in response.get_data(as_text=True)  # the bot learns nothing
    assert not list((Path(app.instance_path) / "outbox").glob("*.eml"))


def test_one_address_cannot_ask_for_links_without_end(app, online):
    statuses = [ask_for_link(app.test_client(), f"ana+{n}@gmail.com").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_venue_can_ask_for_more_links_from_its_one_address(app, online):
    """The room's screen shows the online vote's QR code: a hall of attendees asks for links
    from the venue's one address. 20 an hour by default, then 429; a ceremony raises it
    (ONLINE_VOTE_LINKS_PER_IP). bench/ceremony_bench.py asks 25 times from one address."""

    def ask(n: int) -> int:
        return ask_for_link(app.test_client(), f"guest{n}@example.org").status_code

    assert [ask(n) for n in range(21)] == [200] * 20 + [429]
    app.config["ONLINE_VOTE_LINKS_PER_IP"] = "600 per hour"
    assert {ask(n) for n in range(21, 61)} == {200}


def test_no_online_vote_unless_the_award_has_one(app, client, seeded_award):
    seeded_award.status = "voting"
    db.session.commit()
    assert client.get("/vote/excellence-award/online").status_code == 404


def test_the_admin_turns_the_online_vote_on_before_voting(app, logged_in, seeded_award):
    client, _ = logged_in(role="admin")
    url = "/admin/awards/excellence-award/voting/settings"
    client.post(
        url,
        data={
            "shortlist": "all",
            "jury_weight": "100",
            "vote_weight": "0",
            "online_vote": "y",
            "csrf_token": csrf_token(client, "/admin/"),
        },
    )
    db.session.refresh(seeded_award)
    assert seeded_award.online_vote
