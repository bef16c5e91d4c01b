"""The outbox: mail is queued in the transaction of the change that causes it, delivered by a
sender with retries, never lost when a sender is killed, and shown to administrators."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from judging import sender
from judging.extensions import db
from judging.models import AccountToken, AuditEvent, OutgoingMail, User, utcnow
from judging.services import outbox
from judging.services.outbox import queue_mail

from .fixtures.domain import csrf_token, text_of
from .fixtures.mail import deliver_mail
from .servers import free_port

pytestmark = pytest.mark.every_engine  # about transactions and row claims: both engines

PROJECT = Path(__file__).resolve().parent.parent


def mail_rows() -> list[OutgoingMail]:
    db.session.rollback()  # what is committed now, not what this session saw before
    return list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


def test_mail_is_queued_in_the_changes_transaction_and_a_rollback_sends_nothing(
    app, make_app, smtp_server
):
    other = make_app()  # another process's view of the database
    queue_mail("ana@example.org", "Hello", "A body.", kind="announcement")
    with other.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 0
    db.session.rollback()
    assert mail_rows() == []
    assert deliver_mail(app).tried == 0
    assert smtp_server.messages == []

    queue_mail("ana@example.org", "Hello", "A body.", kind="announcement")
    db.session.commit()
    with other.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 1
    assert deliver_mail(app).sent == 1
    assert [m["To"] for m in smtp_server.messages] == ["ana@example.org"]


def test_a_refused_invitation_leaves_neither_account_nor_mail(app, admin_client, smtp_server):
    url = "/admin/people"
    data = {
        "name": "Maria Costa",
        "email": "maria@example.org",
        "role": "juror",
        "awards": ["no-such-award"],
        "csrf_token": csrf_token(admin_client, url),
    }
    assert admin_client.post("/admin/people/invite", data=data).status_code == 422
    assert mail_rows() == []
    data["awards"] = []
    assert admin_client.post("/admin/people/invite", data=data).status_code == 302
    [row] = mail_rows()
    user = db.session.scalar(select(User).where(User.email == "maria@example.org"))
    assert (row.kind, row.user_id, row.status) == ("invitation", user.id, "queued")


def test_a_message_is_retried_after_an_smtp_failure_with_a_growing_delay(app, smtp_server):
    port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port(), MAIL_TIMEOUT=2)  # nobody listens there
    queue_mail("ana@example.org", "Your vote", "The link.", kind="vote_link")
    db.session.commit()
    start = utcnow()

    first = deliver_mail(app, now=start)
    assert (first.sent, first.retrying) == (0, 1)
    [row] = mail_rows()
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at == start + timedelta(seconds=30)
    assert "could not be reached" in row.last_error and "ana@" not in row.last_error
    assert deliver_mail(app, now=start + timedelta(seconds=29)).tried == 0  # not due yet

    app.config.update(MAIL_PORT=port)  # the server is back
    second = deliver_mail(app, now=start + timedelta(seconds=31))
    assert second.sent == 1
    [row] = mail_rows()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    # Sent: the address and the message (its one-time link) are not kept.
    assert (row.recipient, row.message, row.recipient_domain) == (None, None, "example.org")
    assert [m["To"] for m in smtp_server.messages] == ["ana@example.org"]


def test_the_delay_doubles_up_to_a_cap_and_the_message_fails_after_the_last_attempt(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    app.config.update(MAIL_MAX_ATTEMPTS=4, MAIL_RETRY_MAX_SECONDS=100)
    queue_mail("ana@example.org", "Hello", "A body.", kind="announcement")
    db.session.commit()
    now, delays = utcnow(), []
    for _ in range(4):
        deliver_mail(app, now=now)
        [row] = mail_rows()
        delays.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    assert delays[:3] == [30, 60, 100]
    assert (row.status, row.attempts) == ("failed", 4)
    assert deliver_mail(app, now=now + timedelta(days=1)).tried == 0  # given up


def ask_for_reset(client, address: str, remote: str = "127.0.0.1"):
    url = "/password/forgot"
    return client.post(
        url,
        data={"email": address, "csrf_token": csrf_token(client, url)},
        environ_base={"REMOTE_ADDR": remote},
    )


@contextmanager
def statements():
    """The SQL statements run meanwhile (their text, without the values)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_forgot_password_does_the_same_work_for_every_address_and_the_sender_answers_it(
    app, client, make_user, smtp_server
):
    user = make_user()
    gone = make_user(active=False)  # a deactivated account gets nothing, as before
    asked = {}
    for who, address in (
        ("unknown", "Nobody@Example.org"),
        ("known", user.email.upper()),
        ("deactivated", gone.email),
    ):
        with statements() as asked[who]:
            response = ask_for_reset(client, address)
        assert response.status_code == 302 and response.location == "/login"
    # The request looked no account up and made no link: the same statements for each (one
    # INSERT into the outbox), so no difference in the work tells the addresses apart.
    assert asked["known"] == asked["unknown"] == asked["deactivated"]
    assert [s.split()[:3] for s in asked["known"]] == [["INSERT", "INTO", "outgoing_mail"]]
    rows = mail_rows()
    assert [(r.kind, r.user_id, r.message, r.status) for r in rows] == [
        ("reset_request", None, None, "queued")
    ] * 3
    assert [r.recipient for r in rows] == ["nobody@example.org", user.email, gone.email]
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0

    run = deliver_mail(app)

    assert (run.answered, run.sent, run.tried) == (3, 1, 1)
    assert [m["To"] for m in smtp_server.messages] == [user.email]
    # The request rows are gone, their addresses with them; the reset mail keeps none once sent.
    [row] = mail_rows()
    assert (row.kind, row.user_id, row.status, row.recipient) == ("reset", user.id, "sent", None)
    body = smtp_server.messages[0].get_payload(decode=True).decode()
    path = "/" + next(w for w in body.split() if "/password/reset/" in w).split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200
    response = client.post(
        path,
        data={
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.status_code == 302 and response.location == "/jury/"
    assert deliver_mail(app).tried == 0  # nothing left, nothing twice


def test_flask_mail_send_answers_an_unknown_address_by_forgetting_it(app, client, smtp_server):
    assert ask_for_reset(client, "nobody@example.org").status_code == 302
    assert [r.recipient for r in mail_rows()] == ["nobody@example.org"]
    db.session.remove()

    result = app.test_cli_runner().invoke(args=["mail", "send", "--once"])

    assert result.exit_code == 0, result.output
    assert "sent 0;" in result.output and "1 reset request answered" in result.output
    assert mail_rows() == [] and smtp_server.messages == []  # no row, no mail, no address


def test_a_request_whose_claim_lapsed_is_answered_once_by_the_sender_that_took_it_over(
    app, client, make_user, smtp_server
):
    user = make_user()
    assert ask_for_reset(client, user.email).status_code == 302
    now, lease = utcnow(), timedelta(seconds=300)
    with app.app_context():  # a sender claims the request, then stalls past its lease
        [stalled] = outbox.claim_due(limit=5, lease=lease, now=now)
        db.session.commit()
    assert stalled.kind == "reset_request"
    taken_over = deliver_mail(app, now=now + timedelta(seconds=301))
    assert (taken_over.answered, taken_over.sent) == (1, 1)
    with app.app_context():  # the stalled sender wakes up: the row is no longer its own
        assert not sender.answer(stalled)
    assert deliver_mail(app).tried == 0
    assert [m["To"] for m in smtp_server.messages] == [user.email]  # one link, not two


def test_forgot_password_is_still_refused_after_ten_requests_an_hour_from_one_address(
    app, make_user
):
    user = make_user()
    client = app.test_client()
    for n in range(10):
        address = user.email if n % 2 else f"nobody{n}@example.org"
        assert ask_for_reset(client, address, remote="203.0.113.7").status_code == 302
    refused = ask_for_reset(client, user.email, remote="203.0.113.7")
    assert refused.status_code == 429
    assert len(mail_rows()) == 10  # the refused request queued nothing
    # Another client address is counted on its own.
    assert ask_for_reset(client, user.email, remote="203.0.113.8").status_code == 302


def test_the_admin_page_shows_pending_reset_requests_by_domain_only(app, admin_client, make_user):
    juror = make_user(name="Jo Juror", email="jo.juror@jury.example")
    visitor = app.test_client()
    for address in (juror.email, "someone.else@elsewhere.example"):
        assert ask_for_reset(visitor, address).status_code == 302

    page = admin_client.get("/admin/mail")
    html, text = page.get_data(as_text=True), text_of(page)
    assert "Queued (2)" in text and text.count("Password reset request") >= 2
    assert "…@jury.example" in text and "…@elsewhere.example" in text
    # Neither the addresses nor whether one of them is an account's.
    for secret in ("jo.juror", "someone.else", "Jo Juror"):
        assert secret not in html, secret


def test_the_admin_page_lists_queued_and_failed_mail_and_retries_a_failure(
    app, admin_client, make_user, smtp_server
):
    juror = make_user(name="Jo Juror")
    queue_mail(
        juror.email,
        "Reminder: 3 evaluations left",
        "Secret link /jury/x",
        kind="reminder",
        user=juror,
    )
    queue_mail("private.voter@voters.example", "Your vote: Award", "/online/tok", kind="vote_link")
    db.session.commit()
    port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port(), MAIL_TIMEOUT=2, MAIL_MAX_ATTEMPTS=1)
    assert deliver_mail(app).failed == 2
    queue_mail("later@example.org", "Your vote: Award", "/online/later", kind="vote_link")
    db.session.commit()

    page = admin_client.get("/admin/mail")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = text_of(page)
    assert "2 messages could not be sent" in text
    assert "Failed (2)" in text and "Queued (1)" in text and "Sent (0)" in text
    assert "Jo Juror" in text and "Reminder: 3 evaluations left" in text
    assert "…@voters.example" in text and "…@example.org" in text
    assert "The mail server could not be reached" in text
    # No address of someone without an account, and no body: they hold one-time links.
    for secret in ("private.voter", "later@", "/online/", "Secret link", juror.email):
        assert secret not in html, secret
    assert html.count("Retry now</button>") == 2
    assert 'href="/admin/mail"' in admin_client.get("/admin/").get_data(as_text=True)

    app.config.update(MAIL_PORT=port, MAIL_MAX_ATTEMPTS=8)
    failed = next(r for r in mail_rows() if r.kind == "reminder")
    response = admin_client.post(
        f"/admin/mail/{failed.id}/retry", data={"csrf_token": csrf_token(admin_client, "/admin/")}
    )
    assert response.location == "/admin/mail"
    assert "is queued again" in text_of(admin_client.get("/admin/mail"))
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.retried"))
    assert event.subject == f"mail:{failed.id}"
    run = deliver_mail(app)
    assert run.sent == 2  # the retried reminder and the queued voting link
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        [juror.email, "later@example.org"]
    )
    statuses = {r.subject: (r.status, r.attempts) for r in mail_rows()}
    assert statuses["Reminder: 3 evaluations left"] == ("sent", 2)
    # Retrying what did not fail is refused, and changes nothing.
    response = admin_client.post(
        f"/admin/mail/{failed.id}/retry", data={"csrf_token": csrf_token(admin_client, "/admin/")}
    )
    assert "Only a message that failed can be retried." in text_of(admin_client.get("/admin/mail"))


def test_a_lapsed_claim_is_taken_over_and_a_live_one_is_not(app):
    queue_mail("ana@example.org", "Hello", "A body.", kind="announcement")
    db.session.commit()
    now, lease = utcnow(), timedelta(seconds=300)
    with app.app_context():  # one sender claims it, then dies before sending
        [held] = outbox.claim_due(limit=5, lease=lease, now=now)
        db.session.commit()
    with app.app_context():  # another sender, while the claim lasts, then after it lapsed
        assert outbox.claim_due(limit=5, lease=lease, now=now + timedelta(seconds=299)) == []
        [taken] = outbox.claim_due(limit=5, lease=lease, now=now + timedelta(seconds=301))
        db.session.commit()
    assert taken.id == held.id and taken.claim != held.claim
    with app.app_context():  # the first sender's late report does not touch the new claim
        assert not outbox.record_sent(held)
        assert outbox.record_sent(taken)
        db.session.commit()
    assert [r.status for r in mail_rows()] == ["sent"]


@pytest.mark.postgresql_only  # SQLite runs one writer at a time: a second sender cannot race
def test_two_senders_at_once_never_claim_the_same_message(app, database_url):
    for n in range(4):
        queue_mail(f"p{n}@example.org", "Hello", "A body.", kind="announcement")
    db.session.commit()
    lease = timedelta(seconds=300)
    with app.app_context():  # the first sender's claim, not committed yet: rows locked
        first = outbox.claim_due(limit=2, lease=lease)
        with app.app_context():  # a second sender skips the locked rows instead of waiting
            second = outbox.claim_due(limit=5, lease=lease)
            db.session.commit()
        db.session.commit()
    assert len(first) == 2 and len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}


def start_sender(database_url, smtp_port, instance: Path):
    """`flask mail send` in a process of its own; what it prints goes to instance/output."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "BASE_URL": "http://localhost",
        "JUDGING_INSTANCE_PATH": str(instance),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_CLAIM_SECONDS": "2",
        "MAIL_POLL_SECONDS": "0.2",
    }
    instance.mkdir(parents=True)
    with open(instance / "output", "wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "send"],
            cwd=PROJECT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_message_is_not_lost_when_the_sender_is_killed(app, database_url, smtp_server, tmp_path):
    """kill -9 while the mail server holds the message: the claim lapses, the next sender sends
    it. At least once: here the server had the whole message, so it arrives twice, with one
    Message-ID (a mail client shows it once)."""
    queue_mail("ana@example.org", "Your vote", "The link.", kind="vote_link")
    db.session.commit()
    smtp_server.accepting.clear()  # the server holds the message without answering
    port = app.config["MAIL_PORT"]
    first = start_sender(database_url, port, tmp_path / "first")
    try:
        wait_for(smtp_server.holding.is_set, "the first sender to hand the message over")
        [row] = mail_rows()
        assert row.status == "queued" and row.claimed_by is not None  # claimed, not done
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    smtp_server.accepting.set()

    second = start_sender(database_url, port, tmp_path / "second")
    try:
        wait_for(lambda: mail_rows()[0].status == "sent", "the second sender to send it")
    finally:
        second.send_signal(signal.SIGTERM)  # a graceful stop, as systemd asks for one
        second.wait(timeout=30)
    output = (tmp_path / "second" / "output").read_text()
    assert second.returncode == 0, output
    assert "mail sender stopped" in output
    [row] = mail_rows()
    assert (row.status, row.attempts, row.recipient, row.message) == ("sent", 1, None, None)
    # The server had taken the whole message from the killed sender: it is there twice.
    assert len(smtp_server.messages) == 2
    assert {m["To"] for m in smtp_server.messages} == {"ana@example.org"}
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 1
