"""The sender: delivers the outbox's queued messages (services/outbox.py), with retries.

`flask mail send` runs it as a long-running worker next to gunicorn (docs/operations.md);
`--once` delivers what is due and exits (cron, tests). `make run` starts it as a thread of the
development server instead (MAIL_SENDER_THREAD), so the embedded setup needs nothing more.
Several senders may run at once: each claims the rows it sends (services/outbox.claim_due).

A request row (services/outbox.py, `queue_request`) is not delivered but answered: the sender
deletes it and, in the same transaction, runs its answer (REQUESTS), which queues the real
message or nothing; a message it queued is due at once and goes in the same run. Forgot-password
works this way, so that the request takes as long for an unknown address as for an account's.

Delivery is at least once: a sender killed after the server took a message but before it
recorded it as sent leaves a claim that expires, and the message is sent again (with the same
Message-ID). The window is the time between the server's answer and one UPDATE.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, current_app

from judging.extensions import db
from judging.mail import MailError, Transport
from judging.services import notifications, outbox

log = logging.getLogger(__name__)

# A request row's kind, and what answers it: given the row's address, it queues a message or
# nothing, in the sender's transaction.
REQUESTS: dict[str, Callable[[str], object]] = {
    notifications.RESET_REQUEST: notifications.send_account_link,
}


@dataclass
class SendRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    # Request rows answered (and deleted); what they queued is counted when it is sent.
    answered: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        return self.sent + self.retrying + self.failed


def send_due(*, now: datetime | None = None) -> SendRun:
    """Claim the messages that are due, a batch at a time, and hand them to the mail server
    until none is left; each outcome is committed as soon as it is known."""
    config = current_app.config
    run = SendRun()
    lease = timedelta(seconds=config["MAIL_CLAIM_SECONDS"])
    with Transport(config, current_app.instance_path) as transport:
        while True:
            claimed = outbox.claim_due(limit=config["MAIL_BATCH"], lease=lease, now=now)
            db.session.commit()
            if not claimed:
                return run
            for message in claimed:
                if message.kind in REQUESTS:
                    run.answered += answer(message)
                    continue
                try:
                    transport.send(message.recipient, message.message, message.subject)
                except MailError as exc:
                    status = outbox.record_failure(message, exc, now=now)
                    db.session.commit()
                    log.warning("mail %s was not sent (%s): %s", message.id, status, exc)
                    run.errors.append(str(exc))
                    if status == "failed":
                        run.failed += 1
                    else:
                        run.retrying += 1
                else:
                    if not outbox.record_sent(message, now=now):
                        log.warning("mail %s was sent after its claim expired", message.id)
                    db.session.commit()
                    run.sent += 1


def answer(request: outbox.Claimed) -> bool:
    """Delete a request row and run its answer, in one transaction: the address is not kept,
    and a sender killed before the commit leaves the row to be answered by the next one.
    False if this sender's claim had lapsed (the sender that took the row over answers it)."""
    if not outbox.take_request(request):
        db.session.rollback()
        log.warning("request %s was left to another sender: its claim expired", request.id)
        return False
    REQUESTS[request.kind](request.recipient)
    db.session.commit()
    return True


def work(stop: threading.Event, *, poll: float | None = None) -> None:
    """Deliver until `stop` is set, looking for due messages every `poll` seconds."""
    poll = poll if poll is not None else current_app.config["MAIL_POLL_SECONDS"]
    while not stop.is_set():
        try:
            run = send_due()
        except Exception:
            # A database that went away for a moment must not end the worker.
            db.session.rollback()
            log.exception("the mail sender failed; trying again in %s s", poll)
            run = SendRun()
        finally:
            db.session.remove()
        if not run.tried:
            stop.wait(poll)


class SenderThread:
    """The sender as a thread of a process that serves pages (the development server, the
    tests' live server)."""

    def __init__(self, app: Flask, *, poll: float | None = None):
        self.app = app
        self.poll = poll
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)

    def _run(self) -> None:
        with self.app.app_context():
            work(self.stop_event, poll=self.poll)

    def start(self) -> "SenderThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)
