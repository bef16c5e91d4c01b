"""The audit ledger: an append-only chain of every state change, keyed so that it is tamper-evident.

Each event holds the hash of the event before it (`prev_hash`) and its own `hash`: an
HMAC-SHA256 of its content and that link, under the audit key (AUDIT_KEY, or a key derived from
SECRET_KEY; never stored in the database). Someone who can write the database but does not hold
the key cannot edit, insert, reorder or append events without `verify_chain` noticing. Deleting
the newest events leaves a shorter chain that still holds: checkpoints of the head (count and
hash), kept outside the database, catch that. docs/audit.md tells the whole story.

Events written before the chain was keyed (scheme NULL: plain SHA-256 links) still verify, but
only as a prefix: a keyed `audit.sealed` event covers them, and no unkeyed event is accepted
after the first keyed event that is not a seal.
"""

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, bindparam, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, aliased

from judging.extensions import db
from judging.models import AuditEvent, User, utcnow

GENESIS = "0" * 64
KEYED = "hmac-sha256"  # AuditEvent.scheme of a keyed event; NULL: a legacy SHA-256 link
SEALED = "audit.sealed"
# The label that makes the audit key differ from every other key derived from SECRET_KEY.
KEY_LABEL = b"judging audit chain v1"
# After every commit the head of the chain is written to the instance folder; after these, to the
# log as well.
CHECKPOINT_ACTIONS = frozenset(
    {"award.close_scoring", "award.close_voting", "award.published", SEALED}
)
CHECKPOINT_FILE = "audit_checkpoint"

log = logging.getLogger(__name__)


def audit_key(config=None) -> bytes:
    """AUDIT_KEY if set, else HMAC-SHA256(SECRET_KEY, KEY_LABEL)."""
    config = config if config is not None else current_app.config
    if own := config.get("AUDIT_KEY"):
        return own.encode()
    return hmac.new(config["SECRET_KEY"].encode(), KEY_LABEL, hashlib.sha256).digest()


def _content(event: AuditEvent) -> bytes:
    content = {
        "at": event.at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    if event.scheme is not None:
        content["scheme"] = event.scheme
        content["seq"] = event.seq
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return canonical.encode()


def _digest(event: AuditEvent, key: bytes) -> str:
    if event.scheme == KEYED:
        return hmac.new(key, _content(event), hashlib.sha256).hexdigest()
    return hashlib.sha256(_content(event)).hexdigest()


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


def _append(
    action: str,
    subject: str,
    payload: dict,
    actor: User | None,
    prev: str,
    seq: int,
    *,
    diverged: bool = False,
) -> AuditEvent:
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor=actor_label(actor),
        action=action,
        subject=subject,
        payload=json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        prev_hash=prev,
        scheme=KEYED,
        seq=seq,
    )
    event.hash = _digest(event, audit_key())
    db.session.add(event)
    db.session.flush()
    # The new head becomes the instance folder's checkpoint once (and only if) it is committed,
    # unless the chain no longer holds the checkpoint kept there: that evidence stays.
    pending = db.session.info.get("audit_checkpoint", {})
    db.session.info["audit_checkpoint"] = {
        "checkpoint": Checkpoint(seq, event.hash),
        "instance_path": current_app.instance_path,
        "logged": pending.get("logged", False) or action in CHECKPOINT_ACTIONS,
        "diverged": pending.get("diverged", False) or diverged,
    }
    return event


def _head_statement(*extra: ColumnElement[Any]) -> Select[Any]:
    columns = (AuditEvent.hash, AuditEvent.scheme, AuditEvent.seq, *extra)
    return select(*columns).order_by(AuditEvent.id.desc()).limit(1)


# The head of the chain, and with it where the event of the kept checkpoint stands now: built
# once (every recorded event asks), the checkpoint's hash bound at each run.
_held = aliased(AuditEvent)
_HEAD = _head_statement()
_HEAD_AND_KEPT = _head_statement(
    select(_held.seq).where(_held.hash == bindparam("kept_hash")).scalar_subquery().label("kept_at")
)


def record_event(action: str, subject: str, payload: dict, *, actor: User | None) -> AuditEvent:
    """Append a keyed event to the ledger, chained to the latest one."""
    pending = db.session.info.get("audit_checkpoint")
    if pending is not None and db.session().get_nested_transaction() is None:
        # This transaction appended already, so it holds the writers' lock (PostgreSQL's
        # advisory lock, SQLite's write lock) until it ends, and the head is its own last
        # event: no other writer can have moved it. An import of 1,000 nominees appends 1,000
        # events without reading the head and the checkpoint file 1,000 times.
        head = pending["checkpoint"]
        return _append(action, subject, payload, actor, head.hash, head.count + 1)
    _serialise_writers()
    kept = _kept_checkpoint()
    if kept is None:
        latest = db.session.execute(_HEAD).first()
    else:  # in the same statement: where the kept checkpoint's event stands now
        latest = db.session.execute(_HEAD_AND_KEPT, {"kept_hash": kept.hash}).first()
    diverged = kept is not None and (latest is None or latest.kept_at != kept.count)
    if diverged:
        log.error(
            "the audit chain no longer holds the checkpoint %s kept in %s: events were deleted or "
            "rewritten; the checkpoint is kept as evidence (flask --app wsgi audit verify)",
            kept,
            checkpoint_path(),
        )
    if latest is None:
        return _append(action, subject, payload, actor, GENESIS, 1, diverged=diverged)
    if latest.scheme == KEYED and latest.seq is not None:
        return _append(
            action, subject, payload, actor, latest.hash, latest.seq + 1, diverged=diverged
        )
    count = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    prev = latest.hash
    if latest.scheme is None and _in_upgrade_window():
        # Unkeyed events after the upgrade's seal and before any keyed work: the previous
        # release wrote them while the upgrade ran. A seal covers them before anything else.
        legacy = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.scheme.is_(None))
        )
        seal_payload = {"legacy_events": legacy, "legacy_head": prev}
        count += 1
        prev = _append(SEALED, "audit", seal_payload, None, prev, count, diverged=diverged).hash
    return _append(action, subject, payload, actor, prev, count + 1, diverged=diverged)


def _kept_checkpoint() -> "Checkpoint | None":
    try:
        return read_checkpoint()
    except (ValueError, OSError):
        return None


def _in_upgrade_window() -> bool:
    """Whether the upgrade sealed the chain (migration 0009) and no keyed work came since.

    Only then are unkeyed events at the head sealed: after it, they can only be forgeries, and
    the chain must show them as such.
    """
    kinds = db.session.execute(
        select(AuditEvent.action == SEALED).where(AuditEvent.scheme == KEYED).distinct()
    ).scalars()
    return set(kinds) == {True}


@dataclass(frozen=True)
class Checkpoint:
    """The head of the chain at some moment: how many events, and the last one's hash."""

    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash}"

    @classmethod
    def parse(cls, value: str) -> "Checkpoint":
        """COUNT:HASH, as `audit verify` prints it; ValueError with a clear message if not."""
        found = re.fullmatch(r"\s*(\d+):([0-9a-f]{64})\s*", value or "")
        if not found:
            raise ValueError(
                f"{value.strip()!r} is not a checkpoint: expected COUNT:HASH, "
                "a number, a colon and 64 hexadecimal digits, as `audit verify` prints it"
            )
        return cls(int(found.group(1)), found.group(2))


def checkpoint_path(instance_path: str | None = None) -> Path:
    return Path(instance_path or current_app.instance_path) / CHECKPOINT_FILE


def read_checkpoint(instance_path: str | None = None) -> Checkpoint | None:
    """The checkpoint kept in the instance folder, or None if there is none yet."""
    path = checkpoint_path(instance_path)
    try:
        return Checkpoint.parse(path.read_text())
    except FileNotFoundError:
        return None


def write_checkpoint(
    checkpoint: Checkpoint, instance_path: str | None = None, *, logged: bool = True
) -> None:
    """Keep the checkpoint in the instance folder (unless a later one is there); log it too at
    closes and publications."""
    path = checkpoint_path(instance_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        kept = read_checkpoint(instance_path)
    except ValueError:
        kept = None  # an unreadable file: replace it
    if kept is None or kept.count < checkpoint.count:
        # A name of its own per writer: threads of one process may write at the same moment.
        candidate = path.with_name(f".{CHECKPOINT_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        candidate.write_text(f"{checkpoint}\n")
        os.replace(candidate, path)  # atomic: a reader sees the old or the new one, whole
    if logged:
        log.info("audit checkpoint %s (keep a copy away from this server)", checkpoint)


@sa_event.listens_for(Session, "after_commit")
def _checkpoint_after_commit(session) -> None:
    """Write the checkpoint only once its event is committed: never one of a rolled-back event."""
    pending = session.info.pop("audit_checkpoint", None)
    if pending is None or pending["diverged"]:
        return
    try:
        write_checkpoint(pending["checkpoint"], pending["instance_path"], logged=pending["logged"])
    except OSError as exc:  # the event is committed; a missing file must not fail a request
        log.error("audit checkpoint %s could not be written: %s", pending["checkpoint"], exc)


@sa_event.listens_for(Session, "after_rollback")
def _forget_checkpoint(session) -> None:
    session.info.pop("audit_checkpoint", None)


@dataclass
class ChainReport:
    """What verifying the chain found."""

    count: int = 0
    legacy: int = 0  # unkeyed (SHA-256) events, all covered by a seal when the chain holds
    head: Checkpoint | None = None
    broken: AuditEvent | None = None  # the first event that does not verify
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(events, checkpoints=(), key: bytes | None = None) -> ChainReport:
    """Check every link and MAC, the legacy prefix and its seals, then each checkpoint."""
    key = key if key is not None else audit_key()
    report = ChainReport()
    prev, unsealed, keyed_work = GENESIS, 0, False
    hashes, last = [], None
    for event in events:
        last = event
        report.count += 1
        hashes.append(event.hash)
        problem = None
        if event.prev_hash != prev:
            problem = "its link to the event before it does not match (an event was deleted, "
            problem += "inserted or moved)"
        elif not hmac.compare_digest(_digest(event, key), event.hash or ""):
            problem = "its content does not match its hash (it was edited)"
            if event.scheme == KEYED:
                problem += ", or the audit key is not the one it was written with"
        elif event.scheme is None:
            if keyed_work:
                problem = "an unkeyed event after keyed ones: anyone could have written it"
            unsealed += 1
            report.legacy += 1
        elif event.scheme != KEYED:
            problem = f"unknown scheme {event.scheme!r}"
        elif event.seq != report.count:
            problem = f"it says it is event number {event.seq} of the chain, not {report.count}"
        elif event.action == SEALED and not _seals(event, prev, report.legacy):
            problem = "a seal that does not name the events before it"
        elif unsealed and event.action != SEALED:
            problem = "the unkeyed events before it are not sealed"
        else:
            unsealed = 0
            keyed_work = keyed_work or event.action != SEALED
        if problem:
            report.broken = event
            report.problems.append(f"event {event.id} ({event.action}, {event.at}): {problem}")
            return report
        prev = event.hash
    if unsealed:
        report.broken = last
        report.problems.append(
            f"the last {unsealed} event(s) are unkeyed and not sealed: written by the previous "
            "release during an upgrade (the app seals them when it next records an event), or "
            "forged"
        )
    if report.count:
        report.head = Checkpoint(report.count, prev)
    for checkpoint in checkpoints:
        if checkpoint.count > report.count:
            report.problems.append(
                f"checkpoint {checkpoint} names {checkpoint.count} events; the chain has only "
                f"{report.count}: events were deleted"
            )
        elif checkpoint.count and hashes[checkpoint.count - 1] != checkpoint.hash:
            report.problems.append(
                f"checkpoint {checkpoint}: event number {checkpoint.count} of the chain has "
                "another hash: the chain was rewritten"
            )
    return report


def _seals(event: AuditEvent, prev: str, legacy: int) -> bool:
    if event.action != SEALED:
        return False
    payload = json.loads(event.payload)
    return payload.get("legacy_head") == prev and payload.get("legacy_events") == legacy


def ledger_report(checkpoints=()) -> ChainReport:
    """Verify the whole ledger, with the instance folder's checkpoint and any given ones."""
    try:
        kept = read_checkpoint()
        unreadable = None
    except ValueError as exc:
        kept, unreadable = None, f"{checkpoint_path()} is unreadable: {exc}"
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    report = verify_chain(events, ([kept] if kept else []) + list(checkpoints))
    if unreadable:
        report.problems.append(unreadable)
    return report


def set_checkpoint_aside_after_restore() -> Path | None:
    """After a restore from an older backup the chain is legitimately shorter than the kept
    checkpoint: move the checkpoint aside (renamed, never deleted) and return where to.

    Only when the restored chain verifies on its own; a broken chain keeps its checkpoint.
    """
    path = checkpoint_path()
    try:
        kept = read_checkpoint()
    except ValueError:
        kept = Checkpoint(0, "")
    if kept is None:
        return None
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    if verify_chain(events, [kept]).ok or not verify_chain(events).ok:
        return None
    aside = path.with_name(f"{CHECKPOINT_FILE}.before-restore-{utcnow():%Y%m%dT%H%M%S}")
    os.replace(path, aside)
    log.warning("audit checkpoint %s set aside to %s after a restore", kept, aside)
    return aside


def first_broken_event(events) -> AuditEvent | None:
    """The first event whose content or link no longer matches its hash, or None."""
    return verify_chain(list(events)).broken
