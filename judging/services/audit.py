"""The audit ledger: an append-only hash chain of every state change."""

import hashlib
import json

from sqlalchemy import select, text

from judging.extensions import db
from judging.models import AuditEvent, User, utcnow

GENESIS = "0" * 64


def _digest(event: AuditEvent) -> str:
    content = {
        "at": event.at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# An arbitrary constant naming the ledger's PostgreSQL advisory lock.
_LEDGER_LOCK = 7_340_202


def _serialise_writers() -> None:
    """Make concurrent appends queue up, so that the chain never forks.

    On PostgreSQL a transaction-scoped advisory lock does it. SQLite allows one writer at a time
    already; the unique prev_hash is the last guard on both engines.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LEDGER_LOCK})


def actor_label(actor: User | None) -> str:
    """The label an event is hashed with: a stable pseudonym, never a name or an address.

    Hashed labels cannot change without breaking the chain, so they must not be personal: the
    audit page shows the person's current name through actor_id instead. (Events written before
    this change carry the actor's email address, and keep it.)
    """
    return f"user #{actor.id}" if actor else "system"


def record_event(action: str, subject: str, payload: dict, *, actor: User | None) -> AuditEvent:
    """Append an event to the ledger, chained to the latest one."""
    _serialise_writers()
    latest = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor=actor_label(actor),
        action=action,
        subject=subject,
        payload=json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        prev_hash=latest or GENESIS,
    )
    event.hash = _digest(event)
    db.session.add(event)
    db.session.flush()
    return event


def first_broken_event(events) -> AuditEvent | None:
    """The first event whose content or link no longer matches its hash, or None."""
    prev = GENESIS
    for event in events:
        if event.prev_hash != prev or _digest(event) != event.hash:
            return event
        prev = event.hash
    return None
