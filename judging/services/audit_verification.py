"""The audit page's verification: how much to verify on a view, and the last full verification,
kept beside the checkpoint in the instance folder (outside the database it vouches for).

The chain itself, how an event is written and what verifying it means, is services/audit.py.
"""

import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import AuditEvent, utcnow
from judging.services.audit import Checkpoint, ledger_report

# The outcome of the last full verification, kept beside the checkpoint (outside the database,
# which is what it vouches for).
VERIFIED_FILE = "audit_verified"
# Verifying costs about a tenth of a millisecond per event: up to this many events the audit page
# verifies the whole chain on every view; beyond, it shows the last verification and verifies on
# demand.
VERIFY_ON_VIEW = 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokenEvent:
    """The first event that did not verify, as the audit page names it."""

    id: int
    action: str
    at: datetime


@dataclass(frozen=True)
class Verification:
    """A verification of the whole ledger: when, what it covered and what it found."""

    at: datetime
    count: int
    legacy: int
    head: Checkpoint | None
    problems: list[str]
    broken: BrokenEvent | None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> str:
        broken = self.broken
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "count": self.count,
                "legacy": self.legacy,
                "head": str(self.head) if self.head else None,
                "problems": self.problems,
                "broken": {"id": broken.id, "action": broken.action, "at": broken.at.isoformat()}
                if broken
                else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "Verification":
        data = json.loads(text)
        broken = data["broken"]
        return cls(
            at=datetime.fromisoformat(data["at"]),
            count=int(data["count"]),
            legacy=int(data["legacy"]),
            head=Checkpoint.parse(data["head"]) if data["head"] else None,
            problems=[str(p) for p in data["problems"]],
            broken=BrokenEvent(broken["id"], broken["action"], datetime.fromisoformat(broken["at"]))
            if broken
            else None,
        )


def ledger_size() -> int:
    """How many events the ledger holds (a count, nothing verified)."""
    return db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def verify_ledger() -> Verification:
    """Verify the whole ledger now (as `audit verify` does) and keep the outcome as the last
    verification, in the instance folder."""
    report = ledger_report()
    broken = report.broken
    verification = Verification(
        at=utcnow(),
        count=report.count,
        legacy=report.legacy,
        head=report.head,
        problems=list(report.problems),
        broken=BrokenEvent(broken.id, broken.action, broken.at) if broken else None,
    )
    path = Path(current_app.instance_path) / VERIFIED_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{VERIFIED_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        candidate.write_text(verification.as_json() + "\n")
        os.replace(candidate, path)  # atomic: a reader sees the old or the new one, whole
    except OSError as exc:  # the answer stands; only its record is missing
        log.error("the audit verification could not be kept in %s: %s", path, exc)
    return verification


def last_verification() -> Verification | None:
    """The last verification kept in the instance folder, or None (none yet, or unreadable)."""
    path = Path(current_app.instance_path) / VERIFIED_FILE
    try:
        return Verification.from_json(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the last audit verification in %s is unreadable: %s", path, exc)
        return None
