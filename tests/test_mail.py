"""Email goes out over real SMTP (aiosmtpd on loopback) or, unconfigured, into the outbox."""

import email
from email import policy
from pathlib import Path

import pytest

from judging.extensions import db
from judging.mail import MailError, send_mail
from judging.services.accounts import create_user
from judging.services.notifications import send_invitation

from .servers import free_port


def test_an_invitation_arrives_by_smtp_with_a_working_link(app, client, smtp_server, seeded_award):
    user = create_user("new.juror@example.org", "New Juror", "juror", actor=None)
    link = send_invitation(user, awards=[seeded_award.title])
    db.session.commit()

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


def test_an_unreachable_mail_server_is_a_clear_error(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    with pytest.raises(MailError, match="did not accept"):
        send_mail("a@example.org", "Hello", "Body")


def test_without_a_mail_server_messages_go_to_the_outbox(app, caplog):
    send_mail("someone@example.org", "Reset your password", "secret link: /password/reset/abc")
    files = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "someone@example.org"
    assert "/password/reset/abc" in message.get_content()
    assert str(files[0]) in caplog.text
    # Logs name the domain only: a voter's address is kept nowhere but in the message itself.
    assert "…@example.org" in caplog.text and "someone@example.org" not in caplog.text
    assert "/password/reset/abc" not in caplog.text  # links stay out of the log
