"""The outbox: messages queued in the transaction of the change that causes them, claimed and
delivered afterwards by a sender (judging/sender.py), retried with a growing delay.

`queue_mail` only adds a row and flushes: the caller's commit sends it on its way, and a
rollback takes it back with the change (an invitation is never created without its mail, and
a refused change mails nothing). The sender's steps (`claim_due`, `record_sent`,
`record_failure`) are services too; the sender commits between them.

A request (`queue_request`) is a row that is not yet a message: it holds an address and no
text, and the sender answers it (judging/sender.py, REQUESTS) by queuing the real message or
nothing, and deletes it (`take_request`). Forgot-password queues one for every address, so that
the request does the same work whether or not the address has an account.

Personal data: a row holds the recipient's address and the message (with its one-time link)
only until it is sent; then both are blanked. A request row is deleted when the sender answers
it. What stays (kind, subject, domain, attempts,
times) is deleted by `flask purge` after RETENTION_DAYS_OUTBOX days, failed rows too.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from judging.extensions import db
from judging.mail import MailError, build_message, domain_of
from judging.models import OutgoingMail, User, utcnow
from judging.services.audit import record_event
from judging.services.errors import ServiceError


class OutboxError(ServiceError):
    """A refused outbox action; nothing was changed."""


def queue_mail(
    to: str, subject: str, body: str, *, kind: str, user: User | None = None
) -> OutgoingMail:
    """Queue one plain-text message to `to`, in the caller's transaction."""
    message = build_message(current_app.config, to, subject, body)
    mail = OutgoingMail(
        kind=kind,
        user_id=user.id if user is not None else None,
        recipient=to,
        recipient_domain=domain_of(to),
        subject=str(message["Subject"]),
        message=message.as_bytes(),
        status="queued",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(mail)
    db.session.flush()
    return mail


def queue_request(to: str, subject: str, *, kind: str) -> None:
    """Queue a request about the address `to` for the sender to answer, in the caller's
    transaction: a row with the address, its domain and a subject (for the admin page), no
    message and no account."""
    db.session.add(
        OutgoingMail(
            kind=kind,
            recipient=to,
            recipient_domain=domain_of(to),
            subject=subject,
            status="queued",
            attempts=0,
            next_attempt_at=utcnow(),
        )
    )
    db.session.flush()


# --- The sender's steps ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A message a sender holds until `claim` expires."""

    id: int
    kind: str
    recipient: str
    message: bytes
    subject: str
    attempts: int
    claim: str


def _due(now: datetime):
    return (
        (OutgoingMail.status == "queued")
        & (OutgoingMail.next_attempt_at <= now)
        & or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now)
    )


def claim_due(*, limit: int, lease: timedelta, now: datetime | None = None) -> list[Claimed]:
    """Claim up to `limit` due messages for `lease`: no other sender takes them meanwhile.

    On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so several senders never
    wait on each other nor claim a row twice (picked first, then updated by id: inside an
    UPDATE's IN (...) the planner may run a LIMIT ... SKIP LOCKED subquery more than once and
    claim more than `limit`). SQLite runs one writer at a time: one UPDATE picks and claims.
    A claim left by a sender that was killed expires after `lease`, and the message is sent by
    the next run.
    """
    now = now or utcnow()
    claim = uuid.uuid4().hex
    picked = (
        select(OutgoingMail.id)
        .where(_due(now))
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(limit)
    )
    ids: Any
    if db.session.get_bind().dialect.name == "postgresql":
        ids = list(db.session.scalars(picked.with_for_update(skip_locked=True)))
        if not ids:
            return []
    else:
        ids = picked.scalar_subquery()
    db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id.in_(ids), _due(now))
        .values(claimed_until=now + lease, claimed_by=claim),
        execution_options={"synchronize_session": False},
    )
    rows = db.session.execute(
        select(
            OutgoingMail.id,
            OutgoingMail.kind,
            OutgoingMail.recipient,
            OutgoingMail.message,
            OutgoingMail.subject,
            OutgoingMail.attempts,
        )
        .where(OutgoingMail.claimed_by == claim)
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
    ).all()
    return [
        Claimed(r.id, r.kind, r.recipient or "", r.message or b"", r.subject, r.attempts, claim)
        for r in rows
    ]


def _held(claimed: Claimed):
    """The row, if this sender's claim still holds it (a claim that expired may be retaken)."""
    return (OutgoingMail.id == claimed.id) & (OutgoingMail.claimed_by == claimed.claim)


def record_sent(claimed: Claimed, *, now: datetime | None = None) -> bool:
    """The server took the message: mark it sent and blank the address and the message."""
    result = db.session.execute(
        update(OutgoingMail)
        .where(_held(claimed))
        .values(
            status="sent",
            attempts=OutgoingMail.attempts + 1,
            sent_at=now or utcnow(),
            recipient=None,
            message=None,
            last_error=None,
            claimed_until=None,
            claimed_by=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult


def take_request(claimed: Claimed) -> bool:
    """Delete a request row this sender holds, before answering it in the same transaction:
    its address is kept no longer. False if the claim lapsed (another sender answers it)."""
    result = db.session.execute(
        delete(OutgoingMail).where(_held(claimed)),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult


def retry_delay(attempts: int, config) -> timedelta:
    """How long after its `attempts`-th failure a message is tried again: doubling from
    MAIL_RETRY_SECONDS, at most MAIL_RETRY_MAX_SECONDS."""
    seconds = config["MAIL_RETRY_SECONDS"] * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, config["MAIL_RETRY_MAX_SECONDS"]))


def record_failure(claimed: Claimed, error: MailError, *, now: datetime | None = None) -> str:
    """The message did not go: try again later, or give up ("failed") after MAIL_MAX_ATTEMPTS
    attempts or a permanent refusal. Returns the new status."""
    now = now or utcnow()
    config = current_app.config
    attempts = claimed.attempts + 1
    failed = error.permanent or attempts >= config["MAIL_MAX_ATTEMPTS"]
    status = "failed" if failed else "queued"
    db.session.execute(
        update(OutgoingMail)
        .where(_held(claimed))
        .values(
            status=status,
            attempts=attempts,
            # The error names the server's answer, never the address (it is not in the text).
            last_error=str(error)[:1000],
            next_attempt_at=now + retry_delay(attempts, config),
            claimed_until=None,
            claimed_by=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return status


# --- What the admin page shows and does --------------------------------------------------------


def counts() -> dict[str, int]:
    """How many messages are queued, sent and failed."""
    found = dict(
        db.session.execute(
            select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)
        ).all()
    )
    return {status: found.get(status, 0) for status in ("queued", "failed", "sent")}


def listing(status: str, *, limit: int = 100) -> list[OutgoingMail]:
    """The newest messages with `status`."""
    return list(
        db.session.scalars(
            select(OutgoingMail)
            .where(OutgoingMail.status == status)
            .order_by(OutgoingMail.created_at.desc(), OutgoingMail.id.desc())
            .limit(limit)
        )
    )


def retry(mail: OutgoingMail, *, actor: User) -> None:
    """Send a failed message again at the sender's next run (one more attempt), audited."""
    if mail.status != "failed":
        raise OutboxError("Only a message that failed can be retried.")
    if mail.message is None:
        raise OutboxError("This message is no longer kept, so it cannot be retried.")
    mail.status = "queued"
    mail.next_attempt_at = utcnow()
    record_event(
        "mail.retried",
        f"mail:{mail.id}",
        {"kind": mail.kind, "attempts": mail.attempts},
        actor=actor,
    )
    db.session.flush()
