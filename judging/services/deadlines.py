"""The reminder before scoring closes: sent once, 48 hours ahead, to jurors with work left.

`flask remind` is meant for cron: run it as often as you like; the audit log remembers who was
reminded for which award, and nobody gets the same reminder twice (the reminder is queued in
the outbox in the transaction that records it).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from judging.extensions import db
from judging.models import AuditEvent, Award, utcnow
from judging.services.audit import record_event
from judging.services.notifications import send_reminder
from judging.services.progress import jury_progress

AHEAD = timedelta(hours=48)
ACTION = "reminder.deadline"


@dataclass
class DeadlineRun:
    sent: list[str] = field(default_factory=list)
    already: int = 0


def _reminded(award: Award) -> set[str]:
    return set(
        db.session.scalars(
            select(AuditEvent.payload).where(
                AuditEvent.action == ACTION, AuditEvent.subject == f"award:{award.slug}"
            )
        )
    )


def send_deadline_reminders(now: datetime | None = None) -> DeadlineRun:
    """Remind unfinished jurors of every award whose scoring closes within 48 hours (queued,
    with the audit events that remember them; the caller commits)."""
    now = now or utcnow()
    run = DeadlineRun()
    awards = db.session.scalars(
        select(Award).where(
            Award.status == "scoring",
            Award.scoring_closes_at.is_not(None),
            Award.scoring_closes_at > now,
            Award.scoring_closes_at <= now + AHEAD,
        )
    )
    for award in awards:
        done = _reminded(award)
        for row in jury_progress(award):
            if row.finished or row.juror.status != "active":
                continue
            marker = f'{{"juror":{row.juror.id}}}'
            if marker in done:
                run.already += 1
                continue
            send_reminder(row.juror, award, left=row.left, drafts=row.drafts)
            record_event(ACTION, f"award:{award.slug}", {"juror": row.juror.id}, actor=None)
            run.sent.append(row.juror.email)
    return run
