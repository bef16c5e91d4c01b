"""Outgoing email: over SMTP when MAIL_SERVER is set, else into instance/outbox/ for local runs.

`send_mail` sends within the request and raises MailError, for the pages that must say whether
a message left (invitations, the voting link). `outgoing.put(job)` runs work that sends mail in a
sender thread of the process, after the response: a request that must not reveal whether it
sends anything (forgot-password) hands over the address and answers at once, in the same time
whatever the address, however slow the database or the mail server. Work still queued when the
process exits is done before it exits (it waits up to 30 seconds); a failure is logged, never
retried.
"""

import atexit
import logging
import os
import queue
import smtplib
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


class MailError(Exception):
    """The message could not be handed to the mail server."""


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = formataddr((config["MAIL_SENDER_NAME"], config["MAIL_FROM"]))
    message["To"] = to
    # One line, whatever a title held: a line break in a header is refused by the email package
    # (and would start a new header if it were not). Titles are checked on entry too.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text message; raise MailError if the server refuses it."""
    message = build_message(to, subject, body)
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        _write_to_outbox(message)
        return
    try:
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
        with smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail to %s (%s) was not sent: %s", _masked(to), subject, exc)
        raise MailError(f"The mail server did not accept the message: {exc}") from exc
    log.info("mail sent to %s: %s", _masked(to), subject)


def _masked(address: str) -> str:
    """The address as logs may show it: its domain only (a voter's address is never kept)."""
    return "…@" + address.rpartition("@")[2]


def _write_to_outbox(message: EmailMessage) -> None:
    outbox = Path(current_app.instance_path) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    # Named by time first, so that a listing shows the messages in the order they were sent.
    path = outbox / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(message.as_bytes())
    # The body holds one-time links: the log says where it is, not what it says.
    log.warning(
        "no MAIL_SERVER set: mail to %s (%s) written to %s",
        _masked(message["To"]),
        message["Subject"],
        path,
    )


class MailQueue:
    """Work that sends mail, done by one sender thread per process after the response; the
    thread starts on first use (after gunicorn has forked its workers)."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def put(self, job: Callable[[], None]) -> None:
        """Run `job` in the sender thread, in a context of the current app (links come from
        BASE_URL: judging/links.py)."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
                self._thread.start()
        self._queue.put((app, job))

    def _run(self) -> None:
        while True:
            app, job = self._queue.get()
            try:
                with app.app_context():
                    job()
            except MailError:
                pass  # send_mail() has logged it, with the domain only
            except Exception:
                log.exception("a job of the mail sender failed")
            finally:
                self._queue.task_done()

    def wait(self, timeout: float) -> bool:
        """Wait until every queued job is done or has failed; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


outgoing = MailQueue()


@atexit.register
def _send_what_is_queued() -> None:
    outgoing.wait(timeout=30)
