"""The online public vote: one ballot per verified mailbox, however its address is spelled."""

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from judging.extensions import db
from judging.models import Ballot, VotingCredential
from judging.services import voting

from .conftest import csrf_token


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
    outbox = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    body = message_from_bytes(outbox[-1].read_bytes(), policy=policy.default).get_content()
    return re.search(r"http://\S+/vote/excellence-award/online/\S+", body).group(0)


def vote_with(client, link: str, nominee: str = "evikomp"):
    path = "/" + link.split("/", 3)[3]
    return client.post(path, data={"nominee": nominee, "csrf_token": csrf_token(client, path)})


def test_a_verified_address_votes_once(app, client, online):
    assert "Check your inbox" in ask_for_link(client, "Ana.Costa@gmail.com").get_data(as_text=True)
    response = vote_with(client, newest_link(app))
    assert response.status_code == 201
    assert "Your receipt" in response.get_data(as_text=True)

    # The same mailbox spelled differently gets a link, but no second ballot.
    ask_for_link(app.test_client(), "anacosta+again@googlemail.com")
    again = vote_with(app.test_client(), newest_link(app), "omapu")
    assert again.status_code == 409
    assert "already voted" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1


def test_tagged_and_capitalised_spellings_of_one_mailbox_vote_once(app, online):
    first = app.test_client()
    ask_for_link(first, "mallory+1@posteo.de")
    assert vote_with(first, newest_link(app)).status_code == 201
    for spelling in ("mallory+2@posteo.de", "Mallory@Posteo.de"):
        client = app.test_client()
        ask_for_link(client, spelling)
        again = vote_with(client, newest_link(app), "omapu")
        assert again.status_code == 409, spelling
        assert "already voted" in again.get_data(as_text=True)
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
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_the_honeypot_sends_nothing(app, client, online):
    response = ask_for_link(client, "bot@example.org", website="http://spam.example")
    assert "Check your inbox" in response.get_data(as_text=True)  # the bot learns nothing
    assert not list((Path(app.instance_path) / "outbox").glob("*.eml"))


def test_one_address_cannot_ask_for_links_without_end(app, online):
    statuses = [ask_for_link(app.test_client(), f"ana+{n}@gmail.com").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


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
