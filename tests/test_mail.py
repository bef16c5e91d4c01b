"""Email goes out over real SMTP (aiosmtpd on loopback) or, unconfigured, into the outbox folder;
pages only queue it (services/outbox.py), the sender delivers it (judging/sender.py)."""

import email
from email import policy
from pathlib import Path

from sqlalchemy import select

from judging.extensions import db
from judging.models import OutgoingMail
from judging.services.accounts import create_user
from judging.services.notifications import send_invitation
from judging.services.outbox import queue_mail

from .fixtures.domain import csrf_token
from .fixtures.mail import deliver_mail
from .servers import free_port


def test_an_invitation_arrives_by_smtp_with_a_working_link(app, client, smtp_server, seeded_award):
    user = create_user("new.juror@example.org", "New Juror", "juror", actor=None)
    link = send_invitation(user, awards=[seeded_award.title])
    db.session.commit()
    assert smtp_server.messages == []  # queued only

    assert deliver_mail(app).sent == 1
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "new.juror@example.org"
    assert message["Subject"] == "Your invitation to the awards' jury"
    body = message.get_payload(decode=True).decode()
    assert "Dear New Juror" in body
    assert seeded_award.title in body
    assert link in body
    path = "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 200


def test_an_unreachable_mail_server_is_a_clear_error_on_the_message(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    queue_mail("a@example.org", "Hello", "Body", kind="announcement")
    db.session.commit()
    run = deliver_mail(app)
    assert (run.sent, run.retrying, run.failed) == (0, 1, 0)
    mail = db.session.scalar(select(OutgoingMail))
    assert mail.status == "queued" and mail.attempts == 1
    assert mail.last_error.startswith("The mail server could not be reached")


def test_without_a_mail_server_messages_go_to_the_outbox(app, caplog):
    queue_mail(
        "someone@example.org",
        "Reset your password",
        "secret link: /password/reset/abc",
        kind="reset",
    )
    db.session.commit()
    assert deliver_mail(app).sent == 1
    files = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "someone@example.org"
    assert "/password/reset/abc" in message.get_content()
    assert str(files[0]) in caplog.text
    # Logs name the domain only: a voter's address is kept nowhere but in the message itself.
    assert "…@example.org" in caplog.text and "someone@example.org" not in caplog.text
    assert "/password/reset/abc" not in caplog.text  # links stay out of the log


def ask_for_reset(client, address: str):
    url = "/password/forgot"
    return client.post(url, data={"email": address, "csrf_token": csrf_token(client, url)})


def test_forgot_password_answers_without_the_mail_server_and_the_mail_still_arrives(
    app, client, smtp_server, make_user
):
    user = make_user()
    smtp_server.accepting.clear()  # a slow mail server: a request waiting on it would hang
    known = ask_for_reset(client, user.email)
    unknown = ask_for_reset(app.test_client(), "nobody@example.org")
    # Neither answer talked to the mail server: each only queued a request for the sender.
    assert smtp_server.messages == []
    assert (known.status_code, known.location) == (unknown.status_code, unknown.location)
    assert known.status_code == 302 and known.location == "/login"

    smtp_server.accepting.set()
    assert deliver_mail(app).sent == 1
    assert [m["To"] for m in smtp_server.messages] == [user.email]  # and none for nobody
    body = smtp_server.messages[0].get_payload(decode=True).decode()
    link = next(word for word in body.split() if "/password/reset/" in word)
    assert client.get("/" + link.split("/", 3)[3]).status_code == 200


def test_forgot_password_for_an_invited_account_queues_the_invitation(
    app, client, smtp_server, make_user
):
    user = make_user(invited=True)
    assert ask_for_reset(client, user.email).status_code == 302
    assert smtp_server.messages == []
    assert deliver_mail(app).sent == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Your invitation to the awards' jury"]


def test_a_mail_server_that_is_down_loses_no_request_and_is_logged(app, client, make_user, caplog):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    user = make_user()
    response = ask_for_reset(client, user.email)
    assert response.status_code == 302 and response.location == "/login"
    assert deliver_mail(app).retrying == 1
    assert "was not sent" in caplog.text and user.email not in caplog.text
