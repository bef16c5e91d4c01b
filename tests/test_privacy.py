"""Personal data: nothing personal stored in plain text, one's own data as a download, anonymising
a juror without disturbing the results or the audit chain, retention and `flask purge`."""

import hashlib
import json
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import (
    AccountToken,
    AuditEvent,
    Award,
    Ballot,
    Base,
    Criterion,
    Nominee,
    OutgoingMail,
    RecoveryCode,
    ResultSnapshot,
    User,
    VotingCredential,
    utcnow,
)
from judging.services import publication, voting
from judging.services.audit import first_broken_event, record_event

from .fixtures.domain import csrf_token, log_in
from .fixtures.mail import deliver_mail

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL

VOTER = "Private.Voter+awards@example.org"
VOTER_IP = "203.0.113.77"
CODE_VOTER_IP = "198.51.100.23"
USER_AGENT = "Mozilla/5.0 (PrivacyProbe; Tablet) Marker/9.9.7"


def every_text_value() -> str:
    """Every value of every column of every table, as text: what a copy of the database holds."""
    values = []
    for table in Base.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            values.extend(str(v) for v in row if v is not None)
    return "\n".join(values)


def plain_sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _vote_online(app, smtp_server, award):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=VOTER_IP, HTTP_USER_AGENT=USER_AGENT)
    url = f"/vote/{award.slug}/online"
    response = client.post(url, data={"email": VOTER, "csrf_token": csrf_token(client, url)})
    assert "Check your inbox" in response.get_data(as_text=True)
    assert deliver_mail(app).sent == 1
    (message,) = smtp_server.messages
    assert message["To"] == VOTER
    link = re.search(r"http://\S+/online/\S+", message.get_payload(decode=True).decode()).group(0)
    path = "/" + link.split("/", 3)[3]
    token = csrf_token(client, path)
    for action, status in (("review", 303), ("confirm", 303)):  # check your vote, then cast
        response = client.post(
            path, data={"nominee": "evikomp", "action": action, "csrf_token": token}
        )
        assert response.status_code == status


def _vote_with_code(make_app, award):
    """Behind one trusted proxy, the voter's address is the one X-Forwarded-For names."""
    (code,) = voting.generate_codes(award, 1, actor=None)
    db.session.commit()
    proxied = make_app(
        TRUSTED_PROXIES=1, DEVELOPMENT=True, RATELIMIT_KEY_PREFIX=os.urandom(8).hex()
    )
    client = proxied.test_client()
    client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)
    url = f"/vote/{award.slug}"
    headers = {"X-Forwarded-For": CODE_VOTER_IP}
    token = csrf_token(client, url)
    response = client.post(
        url,
        data={"code": code, "nominee": "omapu", "action": "confirm", "csrf_token": token},
        headers=headers,
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]  # to the receipt


def test_voters_addresses_ips_and_browsers_are_kept_only_as_keyed_hashes(
    app, make_app, smtp_server, seeded_award, make_user
):
    seeded_award.status, seeded_award.online_vote = "voting", True
    db.session.commit()
    _vote_online(app, smtp_server, seeded_award)
    _vote_with_code(make_app, seeded_award)
    # A juror logs in from the same address and browser, and someone fails to log in as the voter.
    juror = make_user(role="juror", email="juror.private@example.org", name="Jo Private")
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=VOTER_IP, HTTP_USER_AGENT=USER_AGENT)
    assert log_in(client, juror).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/jury/")})
    client.post(
        "/login",
        data={"email": VOTER, "password": "guess", "csrf_token": csrf_token(client)},
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 2

    dump = every_text_value()
    mailbox = voting.normalise_email(VOTER)
    for secret in (VOTER, VOTER.lower(), mailbox, "private.voter", "privatevoter"):
        assert secret.lower() not in dump.lower(), secret
    for secret in (VOTER_IP, CODE_VOTER_IP, "PrivacyProbe", "Marker/9.9.7"):
        assert secret not in dump, secret
    # The ballots hold keyed hashes of what the app saw: a plain SHA-256 would be reversible by
    # trying every IPv4 address; without the server's key no such table can be built.
    ballots = db.session.scalars(select(Ballot).order_by(Ballot.id)).all()
    assert {b.ip_hash for b in ballots} == {
        voting.keyed_hash(f"ip:{VOTER_IP}"),
        voting.keyed_hash(f"ip:{CODE_VOTER_IP}"),
    }
    assert {b.user_agent_hash for b in ballots} == {voting.keyed_hash(f"ua:{USER_AGENT}")}
    assert voting.keyed_hash(f"email:{mailbox}") in dump
    for value in (
        VOTER_IP,
        f"ip:{VOTER_IP}",
        CODE_VOTER_IP,
        f"ip:{CODE_VOTER_IP}",
        USER_AGENT,
        f"ua:{USER_AGENT}",
        mailbox,
        f"email:{mailbox}",
    ):
        assert plain_sha256(value) not in dump, value
    # The key matters: another server's key gives other hashes.
    with app.test_request_context():
        app.config["SECRET_KEY"] = "another-key"
        assert voting.keyed_hash(f"ip:{VOTER_IP}") not in {b.ip_hash for b in ballots}
    # Nor is the address written to the local outbox: it went out over SMTP only.
    assert not list((Path(app.instance_path) / "outbox").glob("*.eml"))


def test_rate_limit_counters_and_logs_hold_no_address(app, make_app, seeded_award, caplog):
    """The limiter's counters live in Redis: their keys must not be voters' or users' addresses;
    nor may the logs name them."""
    import redis

    seeded_award.status, seeded_award.online_vote = "voting", True
    db.session.commit()
    marker = os.urandom(5).hex()
    address = f"voter.{marker}@example.org"
    ip = f"192.0.2.{int(marker[:2], 16) % 250 + 1}"
    served = make_app(DEVELOPMENT=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    client = served.test_client()
    client.environ_base.update(REMOTE_ADDR=ip)
    url = f"/vote/{seeded_award.slug}/online"
    with served.app_context(), caplog.at_level("INFO"):
        token = csrf_token(client, url)
        assert client.post(url, data={"email": address, "csrf_token": token}).status_code == 200
        login = {"email": address, "password": "guess", "csrf_token": csrf_token(client)}
        assert client.post("/login", data=login).status_code == 422
        assert deliver_mail(served).sent == 1
        hashed = voting.keyed_hash(f"email:{address}")
        login_hashed = voting.keyed_hash(f"login:{address}")
    store = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = [k.decode() for k in store.scan_iter(match="LIMITS:*")]
    mine = [k for k in keys if hashed in k or login_hashed in k or f"/{ip}/" in k]
    try:
        # The per-address counters are there, under keyed hashes; the address is nowhere.
        assert any(hashed in k for k in mine) and any(login_hashed in k for k in mine), mine
        assert not [k for k in keys if marker in k]
    finally:
        if mine:
            store.delete(*mine)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "mail to …@example.org" in logged
    assert marker not in logged


# --- One's own data ----------------------------------------------------------------------------


def test_a_juror_downloads_their_own_data_and_nobody_elses(
    app, client, award, juror, make_user, make_evaluation
):
    other = make_user(role="juror", email="other.juror@example.org", awards=[award])
    gaming, omapu = (
        next(n for n in award.nominees if n.slug == slug) for slug in ("gaming-club", "omapu")
    )
    make_evaluation(gaming, juror, {"impact": 8}, submitted=True, comment="My own view of it.")
    make_evaluation(gaming, other, {"impact": 2}, submitted=True, comment="THE OTHER'S SECRET")
    assert log_in(client, juror).status_code == 302
    url = f"/jury/awards/{award.slug}/nominees/{omapu.slug}/recusal"
    client.post(
        url,
        data={
            "reason": "I advised them.",
            "step": "confirmed",  # the confirmation page's "Yes, declare the conflict"
            "csrf_token": csrf_token(client, "/jury/"),
        },
    )
    juror.totp_secret = "JBSWY3DPEHPK3PXPSECRET"
    db.session.commit()

    dashboard = client.get("/jury/").get_data(as_text=True)
    assert 'href="/account/data"' in dashboard
    response = client.get("/account/data")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="judging-my-data.json"'
    assert response.headers["Cache-Control"] == "no-store"  # a file of one's own data: never kept
    data = json.loads(response.get_data(as_text=True))
    text = response.get_data(as_text=True)

    assert data["profile"]["email"] == juror.email
    assert data["profile"]["name"] == juror.name
    assert data["profile"]["role"] == "juror"
    assert data["profile"]["two_factor"] is False
    assert [m["award"] for m in data["jury_memberships"]] == [award.slug]
    (evaluation,) = data["evaluations"]
    assert evaluation["nominee"] == "gaming-club"
    assert evaluation["comment"] == "My own view of it."
    assert evaluation["version"] == 1
    assert {s["criterion"]: s["value"] for s in evaluation["scores"]} == {"impact": 8}
    (recusal,) = data["recusals"]
    assert (recusal["nominee"], recusal["reason"]) == ("omapu", "I advised them.")
    assert any(e["action"].startswith("recusal") for e in data["audit_events"])
    # Nobody else's data, and no secret of one's own.
    for foreign in ("THE OTHER'S SECRET", other.email, other.name, "argon2", "JBSWY3DP"):
        assert foreign not in text, foreign


def test_an_administrator_downloads_their_casting_decisions(app, logged_in, seeded_award):
    from judging.models import CastingDecision

    client, admin = logged_in(role="admin")
    db.session.add(
        CastingDecision(
            award_id=seeded_award.id,
            method="mean",
            nominee_order=json.dumps(["omapu", "evikomp"]),
            reason="The chair's casting vote.",
            decided_by_id=admin.id,
        )
    )
    db.session.commit()
    # The account page (the name in the menu) links to the download, for administrators too.
    assert 'href="/account/data"' in client.get("/account/two-factor").get_data(as_text=True)
    data = client.get("/account/data").get_json(force=True)
    assert data["profile"]["role"] == "admin"
    assert data["casting_decisions"][0]["reason"] == "The chair's casting vote."
    assert data["evaluations"] == []


def test_the_data_download_needs_a_login(client):
    response = client.get("/account/data")
    assert response.status_code == 302
    assert response.location.startswith("/login")


# --- Anonymising a juror -----------------------------------------------------------------------


def _published(award, jurors, make_evaluation, admin) -> ResultSnapshot:
    """Three jurors score three nominees; the award is closed and published."""
    nominees = list(award.nominees)[:3]
    for offset, juror in enumerate(jurors):
        for n, nominee in enumerate(nominees):
            scores = {
                c.slug: c.scale_min + (n + offset) % (c.scale_max - c.scale_min)
                for c in award.criteria
            }
            make_evaluation(nominee, juror, scores, submitted=True, comment=f"Comment {offset}.{n}")
    award.status = "closed"
    db.session.commit()
    snapshot = publication.publish(award, actor=admin, override_reason="Only three scored.")
    db.session.commit()
    return snapshot


def test_anonymising_a_juror_keeps_the_results_and_the_chain(
    app, logged_in, award, make_user, make_evaluation
):
    client, admin = logged_in(role="admin")
    jurors = [make_user(role="juror", name=f"Juror Named {n}", awards=[award]) for n in range(3)]
    target = jurors[0]
    # An old-style event (before events named people by number) by the juror.
    snapshot = _published(award, jurors, make_evaluation, admin)
    target.totp_secret, target.totp_enabled_at = "JBSWY3DPEHPK3PXP", utcnow()
    db.session.add(RecoveryCode(user_id=target.id, code_hash="x" * 64))
    db.session.add(
        AccountToken(
            user_id=target.id,
            purpose="reset",
            token_hash="y" * 64,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    record_event("evaluation.saved", "evaluation:1", {"version": 1}, actor=target)
    db.session.commit()
    juror_client = app.test_client()
    assert log_in(juror_client, target).status_code == 302
    old_email, old_name = target.email, target.name

    people = client.get("/admin/people").get_data(as_text=True)
    assert f'action="/admin/people/{target.id}/anonymise"' in people
    token = csrf_token(client, "/admin/people")
    confirm = client.post(f"/admin/people/{target.id}/anonymise", data={"csrf_token": token})
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.get_data(as_text=True)
    assert db.session.get(User, target.id).email == old_email  # asking changes nothing

    done = client.post(
        f"/admin/people/{target.id}/anonymise", data={"csrf_token": token, "confirmed": "yes"}
    )
    assert done.status_code == 302
    assert "is anonymised" in client.get(done.location).get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.email == f"anonymised-{user.id}@invalid"
    assert user.name == f"Anonymised juror {user.id}"
    assert (user.password_hash, user.totp_secret, user.totp_enabled_at) == (None, None, None)
    assert not user.active and user.anonymised_at is not None
    for model in (RecoveryCode, AccountToken):
        assert not db.session.scalar(
            select(func.count()).select_from(model).where(model.user_id == user.id)
        )
    # Their session is over.
    assert juror_client.get("/jury/").status_code == 302
    # The name and address are gone from every table; evaluations and results stand.
    dump = every_text_value()
    assert old_email not in dump
    assert old_name not in dump
    assert publication.verify(award).ok
    assert publication.snapshot_of(award).digest == snapshot.digest
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert first_broken_event(events) is None
    last = events[-1]
    assert (last.action, last.subject, last.actor_id) == (
        "user.anonymised",
        f"user:{user.id}",
        admin.id,
    )
    assert last.actor == f"user #{admin.id}"
    # The audit page names the juror by their current, anonymised, name.
    audit = client.get("/admin/audit?action=evaluation.saved").get_data(as_text=True)
    assert f"Anonymised juror {user.id}" in audit
    assert old_name not in audit and old_email not in audit
    assert old_name not in client.get("/admin/people").get_data(as_text=True)


def test_anonymising_is_refused_while_results_are_not_published(
    app, logged_in, award, juror, make_evaluation
):
    client, _ = logged_in(role="admin")
    make_evaluation(award.nominees[0], juror, {"impact": 5}, submitted=True)
    before = (juror.email, juror.name, juror.password_hash, juror.active)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    token = csrf_token(client, "/admin/people")
    refused = client.post(
        f"/admin/people/{juror.id}/anonymise", data={"csrf_token": token, "confirmed": "yes"}
    )
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Not possible yet" in page and award.title in page
    db.session.expire_all()
    user = db.session.get(User, juror.id)
    assert (user.email, user.name, user.password_hash, user.active) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_juror_without_evaluations_in_an_open_award_can_be_anonymised(app, logged_in, juror):
    client, _ = logged_in(role="admin")
    token = csrf_token(client, "/admin/people")
    client.post(
        f"/admin/people/{juror.id}/anonymise", data={"csrf_token": token, "confirmed": "yes"}
    )
    db.session.expire_all()
    assert db.session.get(User, juror.id).email == f"anonymised-{juror.id}@invalid"


def test_an_anonymised_account_cannot_be_reactivated_promoted_or_given_a_jury(
    app, logged_in, juror, make_user
):
    client, _ = logged_in(role="admin")
    token = csrf_token(client, "/admin/people")
    client.post(
        f"/admin/people/{juror.id}/anonymise", data={"csrf_token": token, "confirmed": "yes"}
    )
    client.post(f"/admin/people/{juror.id}/reactivate", data={"csrf_token": token})
    client.post(f"/admin/people/{juror.id}/role", data={"csrf_token": token, "role": "admin"})
    page = client.get("/admin/people").get_data(as_text=True)
    assert "This account was anonymised" in page
    db.session.expire_all()
    user = db.session.get(User, juror.id)
    assert (user.active, user.role) == (False, "juror")
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["user.reactivated", "user.role_changed"]))
    ).all()


# --- Retention and purge -----------------------------------------------------------------------


def _award_with_ballots(slug: str, published_days_ago: int, admin) -> Award:
    """A published award with two ballots (IP and browser hashes) and one unused code."""
    award = Award(
        slug=slug, title=f"Award {slug}", status="voting_closed", jury_weight=50, vote_weight=50
    )
    db.session.add(award)
    db.session.flush()
    db.session.add(
        Criterion(
            award_id=award.id, slug="impact", name="Impact", weight=1, scale_min=0, scale_max=10
        )
    )
    nominees = [
        Nominee(
            award_id=award.id,
            slug=f"n{i}",
            title=f"N{i}",
            organisation="O",
            city="C",
            country="X",
            position=i,
        )
        for i in range(2)
    ]
    db.session.add_all(nominees)
    db.session.flush()
    for i, nominee in enumerate([nominees[0], nominees[0], None]):
        credential = VotingCredential(
            award_id=award.id, kind="code", secret_hash=voting.keyed_hash(f"{slug}{i}")
        )
        db.session.add(credential)
        db.session.flush()
        if nominee is not None:
            db.session.add(
                Ballot(
                    award_id=award.id,
                    nominee_id=nominee.id,
                    credential_id=credential.id,
                    receipt=f"{slug[:4]}{i}".upper(),
                    ip_hash=voting.keyed_hash(f"ip:10.0.0.{i}"),
                    user_agent_hash=voting.keyed_hash("ua:x"),
                )
            )
    db.session.flush()
    publication.publish(award, actor=admin, override_reason="A test award.")
    db.session.flush()
    snapshot = publication.snapshot_of(award)
    snapshot.published_at = utcnow() - timedelta(days=published_days_ago)
    db.session.commit()
    return award


def _state() -> dict:
    return {
        "ballots": db.session.execute(
            select(
                Ballot.id, Ballot.nominee_id, Ballot.receipt, Ballot.ip_hash, Ballot.voided_at
            ).order_by(Ballot.id)
        ).all(),
        "credentials": db.session.execute(
            select(VotingCredential.id, VotingCredential.secret_hash).order_by(VotingCredential.id)
        ).all(),
        "tokens": db.session.scalars(
            select(AccountToken.token_hash).order_by(AccountToken.id)
        ).all(),
        "codes": db.session.scalars(select(RecoveryCode.code_hash).order_by(RecoveryCode.id)).all(),
    }


def test_purge_removes_exactly_what_is_past_retention_and_results_still_verify(
    app, runner, make_user
):
    admin = make_user(role="admin")
    old = _award_with_ballots("old-award", published_days_ago=91, admin=admin)
    recent = _award_with_ballots("recent-award", published_days_ago=89, admin=admin)
    now = utcnow()
    month = timedelta(days=31)

    def token(tag, **times):
        db.session.add(
            AccountToken(
                user_id=admin.id,
                purpose="reset",
                token_hash=tag * 64,
                created_at=times.pop("created_at", now - 2 * month),
                **times,
            )
        )

    token("a", expires_at=now - month)  # expired a month ago: goes
    token("b", expires_at=now - timedelta(days=2))  # expired recently: stays
    token("c", expires_at=now - timedelta(days=25), used_at=now - month)  # used a month ago: goes
    token("d", created_at=now, expires_at=now + timedelta(hours=1))  # live: stays
    db.session.add_all(
        [
            RecoveryCode(user_id=admin.id, code_hash="e" * 64, used_at=now - month),  # goes
            RecoveryCode(user_id=admin.id, code_hash="f" * 64),  # unused: stays
        ]
    )

    def mail(subject, status, days_ago):
        db.session.add(
            OutgoingMail(
                kind="vote_link",
                recipient=None if status == "sent" else "v@example.org",
                recipient_domain="example.org",
                subject=subject,
                message=None if status == "sent" else b"To: v@example.org\n\nlink",
                status=status,
                attempts=1,
                created_at=now - timedelta(days=days_ago),
                next_attempt_at=now - timedelta(days=days_ago),
            )
        )

    mail("old sent", "sent", 8)  # goes
    mail("old failed", "failed", 8)  # goes, address and link with it
    mail("old but still queued", "queued", 8)  # stays: the sender has not given up on it
    mail("recent sent", "sent", 6)  # stays
    db.session.commit()
    outbox = Path(app.instance_path) / "outbox"
    outbox.mkdir(parents=True)
    stale, fresh = outbox / "1-old.eml", outbox / "2-new.eml"
    stale.write_text("To: someone@example.org\n")
    fresh.write_text("To: someone.else@example.org\n")
    eight_days_ago = time.time() - 8 * 86400
    os.utime(stale, (eight_days_ago, eight_days_ago))
    before = _state()
    tallies = {a.slug: voting.tally(a) for a in (old, recent)}

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove      2 ballot network hashes" in dry.output
    db.session.expire_all()
    assert _state() == before and stale.exists()

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    for line in (
        "removed      2 ballot network hashes",
        "removed      2 used voting credentials",
        "removed      1 unused voting credentials",
        "removed      2 account links",
        "removed      1 used recovery codes",
        "removed      1 outbox messages",
        "removed      2 sent or failed mail records",
    ):
        assert line in result.output
    db.session.expire_all()
    ballots = db.session.scalars(select(Ballot).order_by(Ballot.id)).all()
    assert [(b.ip_hash, b.user_agent_hash) for b in ballots if b.award_id == old.id] == [
        ("", "")
    ] * 2
    assert all(b.ip_hash and b.user_agent_hash for b in ballots if b.award_id == recent.id)
    credentials = db.session.scalars(select(VotingCredential)).all()
    assert sorted(c.secret_hash for c in credentials if c.award_id == old.id) == sorted(
        f"purged:{b.credential_id}" for b in ballots if b.award_id == old.id
    )
    assert len([c for c in credentials if c.award_id == recent.id]) == 3
    assert sorted(db.session.scalars(select(AccountToken.token_hash))) == ["b" * 64, "d" * 64]
    assert db.session.scalars(select(RecoveryCode.code_hash)).all() == ["f" * 64]
    assert not stale.exists() and fresh.exists()
    assert sorted(db.session.scalars(select(OutgoingMail.subject))) == [
        "old but still queued",
        "recent sent",
    ]
    # What the results are verified from is all there.
    assert [(b.id, b.nominee_id, b.receipt) for b in ballots] == [r[:3] for r in before["ballots"]]
    assert {a.slug: voting.tally(a) for a in (old, recent)} == tallies
    for award in (old, recent):
        check = runner.invoke(args=["results", award.slug, "--verify"])
        assert check.exit_code == 0 and "OK" in check.output, check.output
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert first_broken_event(events) is None
    assert events[-1].action == "data.purged"
    assert json.loads(events[-1].payload)["ballot network hashes"] == 2

    again = runner.invoke(args=["purge"])
    assert "nothing is past its retention period" in again.output


def test_retention_periods_come_from_the_environment(monkeypatch, tmp_path):
    from judging import config

    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("RETENTION_DAYS_AFTER_PUBLICATION", "30")
    settings = config.from_environment(str(tmp_path))
    assert settings["RETENTION_DAYS_AFTER_PUBLICATION"] == 30
    assert (
        settings["RETENTION_DAYS_ACCOUNT_TOKENS"]
        == config.DEFAULTS["RETENTION_DAYS_ACCOUNT_TOKENS"]
    )


def test_the_privacy_page_states_the_retention_periods(app, client):
    app.config["RETENTION_DAYS_AFTER_PUBLICATION"] = 45
    page = client.get("/privacy").get_data(as_text=True)
    assert "45 days" in page
    assert "keyed hash" in page and "Download my data" in page and "anonymis" in page
    assert "If you ask for a password reset" in page and "usually a few seconds" in page
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("persona", ["juror", "admin"])
def test_events_name_people_by_a_pseudonym(app, make_user, persona):
    user = make_user(role=persona)
    event = record_event("test.step", "x", {}, actor=user)
    assert event.actor == f"user #{user.id}"
    assert user.email not in event.actor and user.name not in event.actor


def test_no_audit_payload_or_label_holds_an_email_address_or_name(app, logged_in, award, make_user):
    """Inviting, changing juries and roles, deactivating: none writes a person into the chain."""
    client, admin = logged_in(role="admin")
    token = csrf_token(client, "/admin/people")
    client.post(
        "/admin/people/invite",
        data={
            "name": "Nadia Invited",
            "email": "nadia.invited@example.org",
            "role": "juror",
            "awards": award.slug,
            "csrf_token": token,
        },
    )
    nadia = db.session.scalar(select(User).where(User.email == "nadia.invited@example.org"))
    client.post(f"/admin/people/{nadia.id}/awards", data={"csrf_token": token})
    client.post(f"/admin/people/{nadia.id}/deactivate", data={"csrf_token": token})
    events = db.session.scalars(select(AuditEvent)).all()
    assert {e.action for e in events} >= {
        "user.created",
        "jury.membership_changed",
        "user.deactivated",
    }
    for e in events:
        for person in (nadia, admin):
            for value in (person.email, person.name):
                assert value not in e.payload + e.actor + e.subject
