"""Outgoing email, the transport: a message built once when it is queued, handed over SMTP when
MAIL_SERVER is set, else written into instance/outbox/ (development and tests).

Nothing here is called inside a request: pages and services queue messages in the outbox table
(services/outbox.py, in the transaction of the change that causes them), and the sender
(judging/sender.py, `flask mail send`) delivers them through a `Transport`.
"""

import contextlib
import logging
import re
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)


class MailError(Exception):
    """The message could not be handed to the mail server. `permanent`: the server refused it
    for good (a 5xx answer), so trying again would not help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def build_message(config, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((config["MAIL_SENDER_NAME"], config["MAIL_FROM"]))
    message["To"] = to
    # One line, whatever a title held: a line break in a header is refused by the email package
    # (and would start a new header if it were not). Titles are checked on entry too.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False)
    # Made once, at queuing: a message sent twice (a sender killed after the server took it)
    # carries the same Message-ID both times, which lets mail clients show it once.
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or None)
    message.set_content(body)
    return message


def _crlf(message: bytes) -> bytes:
    return re.sub(rb"\r\n|\r|\n", b"\r\n", message)


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def masked(address: str) -> str:
    """The address as logs and the admin page may show it: its domain only (a voter's address
    is never kept)."""
    return "…@" + domain_of(address)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


class Transport:
    """One sender run's way out: a single SMTP connection, opened at the first message and
    reused for the next ones; or the local outbox folder when no MAIL_SERVER is set."""

    def __init__(self, config, instance_path: str):
        self.config = config
        self.outbox = Path(instance_path) / "outbox"
        self._smtp: smtplib.SMTP | None = None
        self._broken: MailError | None = None

    def __enter__(self) -> "Transport":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None

    def send(self, recipient: str, message: bytes, subject: str) -> None:
        """Hand one message over; raise MailError if it could not be."""
        if not self.config.get("MAIL_SERVER"):
            self._write_to_outbox(recipient, message, subject)
            return
        if self._broken is not None:
            # The server could not be reached a moment ago: do not wait for it once per message.
            raise self._broken
        try:
            smtp = self._connection()
            # SMTP wants CRLF line ends; smtplib fixes them only in a str, and its dot-stuffing
            # of a line that starts with "." (a wrapped link) is undone only after a CRLF.
            smtp.sendmail(self.config["MAIL_FROM"], [recipient], _crlf(message))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailError(
                f"The mail server refused the recipient: {codes}",
                permanent=all(code >= 500 for code in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise MailError(
                f"The mail server did not accept the message: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._smtp = None
            error = MailError(f"The mail server could not be reached: {exc}")
            if not isinstance(exc, smtplib.SMTPServerDisconnected):
                self._broken = error
            raise error from exc
        log.info("mail sent to %s: %s", masked(recipient), subject)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        config = self.config
        smtp: smtplib.SMTP
        if config["MAIL_USE_SSL"]:
            smtp = smtplib.SMTP_SSL(
                config["MAIL_SERVER"],
                config["MAIL_PORT"],
                timeout=config["MAIL_TIMEOUT"],
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(
                config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
            )
        try:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _write_to_outbox(self, recipient: str, message: bytes, subject: str) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        # Named by time first, so that a listing shows the messages in the order they were sent.
        path = self.outbox / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(message)
        # The body holds one-time links: the log says where it is, not what it says.
        log.warning(
            "no MAIL_SERVER set: mail to %s (%s) written to %s", masked(recipient), subject, path
        )
