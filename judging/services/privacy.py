"""Personal data: a person's own data as a download, anonymising a juror, retention and purge.

What is personal here: a user's email address, name, password and second-factor secrets, their
evaluations' comments; voters' addresses (stored as a keyed hash only, and in the outbox only
until their link is sent: services/outbox.py), and the keyed hashes of voters' IP addresses
and browsers. What must stay for published results to remain
verifiable: scores, evaluations, recusals, ballots' choices and their voiding, the snapshots
and the audit chain. Anonymising and purging remove the first without touching the second.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)

from judging.extensions import db
from judging.models import (
    AccountToken,
    AuditEvent,
    Award,
    Ballot,
    CastingDecision,
    Criterion,
    Evaluation,
    JuryMember,
    Nominee,
    OutgoingMail,
    RecoveryCode,
    Recusal,
    ResultSnapshot,
    Score,
    User,
    VotingCredential,
    utcnow,
)
from judging.services.audit import record_event
from judging.services.errors import ServiceError


class PrivacyError(ServiceError):
    """A refused privacy action; the message says why, and nothing was changed."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


# --- A person's own data -----------------------------------------------------------------------


def my_data(user: User) -> dict:
    """Everything the application holds about `user`, as they may download it.

    Never a hash or a secret (password, second factor, links), and nobody else's data: other
    jurors' work and the administrators who acted on theirs are not named.
    """
    awards = {a.id: a.slug for a in db.session.scalars(select(Award))}
    return {
        "exported_at": _iso(utcnow()),
        "profile": _profile(user),
        "jury_memberships": _jury_memberships(user),
        "evaluations": _evaluations(user, awards),
        "recusals": _recusals(user, awards),
        "casting_decisions": _casting_decisions(user, awards),
        # Every save of an evaluation is an event: these are the evaluations' versions too.
        "audit_events": _audit_events(user),
    }


def _profile(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "status": user.status,
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
        "password_changed_at": _iso(user.password_changed_at),
        "two_factor": user.has_two_factor,
    }


def _jury_memberships(user: User) -> list[dict]:
    memberships = db.session.execute(
        select(Award.slug, Award.title, JuryMember.added_at)
        .join(JuryMember, JuryMember.award_id == Award.id)
        .where(JuryMember.user_id == user.id)
        .order_by(Award.slug)
    ).all()
    return [
        {"award": slug, "title": title, "added_at": _iso(added)}
        for slug, title, added in memberships
    ]


def _evaluations(user: User, awards: dict[int, str]) -> list[dict]:
    """The user's evaluations, each with its scores and comments (`awards`: id to slug)."""
    evaluations = db.session.scalars(
        select(Evaluation).where(Evaluation.juror_id == user.id).order_by(Evaluation.id)
    ).all()
    scores = db.session.execute(
        select(Score.evaluation_id, Criterion.slug, Criterion.name, Score.value, Score.comment)
        .join(Criterion, Criterion.id == Score.criterion_id)
        .join(Evaluation, Evaluation.id == Score.evaluation_id)
        .where(Evaluation.juror_id == user.id)
        .order_by(Score.evaluation_id, Criterion.position)
    ).all()
    by_evaluation: dict[int, list[dict]] = {}
    for evaluation_id, slug, name, value, comment in scores:
        by_evaluation.setdefault(evaluation_id, []).append(
            {"criterion": slug, "criterion_name": name, "value": value, "comment": comment}
        )
    return [
        {
            "award": awards[e.award_id],
            "nominee": e.nominee.slug,
            "nominee_title": e.nominee.title,
            "comment": e.comment,
            "submitted_at": _iso(e.submitted_at),
            "version": e.version,
            "created_at": _iso(e.created_at),
            "updated_at": _iso(e.updated_at),
            "scores": by_evaluation.get(e.id, []),
        }
        for e in evaluations
    ]


def _recusals(user: User, awards: dict[int, str]) -> list[dict]:
    recusals = db.session.execute(
        select(Recusal, Nominee.slug, Nominee.award_id)
        .join(Nominee, Nominee.id == Recusal.nominee_id)
        .where(Recusal.juror_id == user.id)
        .order_by(Recusal.id)
    ).all()
    return [
        {
            "award": awards[award_id],
            "nominee": nominee,
            "reason": r.reason,
            "declared_at": _iso(r.declared_at),
            "lifted_at": _iso(r.lifted_at),
            "lifted_reason": r.lifted_reason,
        }
        for r, nominee, award_id in recusals
    ]


def _casting_decisions(user: User, awards: dict[int, str]) -> list[dict]:
    decisions = db.session.scalars(
        select(CastingDecision)
        .where(CastingDecision.decided_by_id == user.id)
        .order_by(CastingDecision.id)
    ).all()
    return [
        {
            "award": awards[d.award_id],
            "method": d.method,
            "order": json.loads(d.nominee_order),
            "reason": d.reason,
            "decided_at": _iso(d.decided_at),
        }
        for d in decisions
    ]


def _audit_events(user: User) -> list[dict]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id)
    ).all()
    return [
        {
            "id": e.id,
            "at": _iso(e.at),
            "action": e.action,
            "subject": e.subject,
            "payload": json.loads(e.payload),
        }
        for e in events
    ]


# --- Anonymising a juror -----------------------------------------------------------------------


def anonymised_email(user_id: int) -> str:
    # .invalid is reserved (RFC 2606): no mail can ever be delivered there.
    return f"anonymised-{user_id}@invalid"


def anonymise_blockers(user: User) -> list[str]:
    """Why `user` cannot be anonymised yet, in words an administrator acts on (empty: they can)."""
    if user.anonymised_at is not None:
        return [f"{user.name} is already anonymised."]
    if user.is_admin:
        return ["Only jurors are anonymised. Make the account a juror first."]
    unpublished = db.session.scalars(
        select(Award.title)
        .where(
            Award.status != "published",
            exists().where(Evaluation.award_id == Award.id, Evaluation.juror_id == user.id),
        )
        .order_by(Award.title)
    ).all()
    if unpublished:
        return [
            "Their evaluations are still part of results that are not published: "
            + "; ".join(unpublished)
            + ". Anonymise them once these results are published."
        ]
    return []


def anonymise(user: User, *, actor: User) -> None:
    """Replace a juror's identity by a placeholder, for good; their evaluations stay, unnamed.

    The results do not change (published results name jurors J1, J2... by id), and the audit
    chain records the anonymisation. Past audit events keep the label they were written with.
    """
    if user.id == actor.id:
        raise PrivacyError("You cannot anonymise your own account.")
    if blockers := anonymise_blockers(user):
        raise PrivacyError(" ".join(blockers))
    user.email = anonymised_email(user.id)
    user.name = f"Anonymised juror {user.id}"
    user.password_hash = None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.last_login_at = None
    user.password_changed_at = None
    user.active = False
    user.anonymised_at = utcnow()
    user.session_version += 1  # every session of theirs ends at its next request
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    record_event("user.anonymised", f"user:{user.id}", {}, actor=actor)
    db.session.flush()


# --- Retention and purge -----------------------------------------------------------------------


@dataclass
class Purge:
    """What a purge removed (or, in a dry run, would remove), by kind."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


PURGED = "purged:"  # no keyed hash (64 hex digits) can begin so


def _published_before(cutoff: datetime):
    """Ids of the awards whose results were published before `cutoff`."""
    return select(ResultSnapshot.award_id).where(ResultSnapshot.published_at < cutoff)


def purge(config: dict, *, outbox: Path | None = None, dry_run: bool = False) -> Purge:
    """Remove personal data past its retention period; never what results are verified from.

    - ballots of awards published more than RETENTION_DAYS_AFTER_PUBLICATION ago lose their
      IP and browser hashes (their choice, receipt and voiding stay: the tally is unchanged);
    - those awards' voting credentials lose their keyed hash (an address's or a code's); an
      unused credential is deleted;
    - account links (invitation, reset) expired or used RETENTION_DAYS_ACCOUNT_TOKENS ago, and
      recovery codes used that long ago, are deleted;
    - copies of sent mail in the local outbox older than RETENTION_DAYS_OUTBOX are deleted, and
      so are the outbox table's sent and failed rows queued that long ago (a sent row holds no
      address nor message any more; a failed one still does, its links long expired).
    """
    due = _due(config, outbox)
    result = _count(due)
    if dry_run:
        return result
    _remove(due)
    if result.total:
        record_event("data.purged", "retention", result.counts, actor=None)
    db.session.flush()
    return result


@dataclass
class _Due:
    """What is past its retention period: the rows, as conditions, and the outbox files."""

    ballots: ColumnElement[bool]  # with network hashes, of awards published long enough ago
    credentials: ColumnElement[bool]  # of those awards, not purged yet
    used: ColumnElement[bool]  # a credential a ballot was cast with
    tokens: ColumnElement[bool]
    codes: ColumnElement[bool]
    mail_rows: ColumnElement[bool]
    old_mail: list[Path]


def _due(config: dict, outbox: Path | None) -> _Due:
    now = utcnow()
    published = _published_before(now - timedelta(days=config["RETENTION_DAYS_AFTER_PUBLICATION"]))
    token_cutoff = now - timedelta(days=config["RETENTION_DAYS_ACCOUNT_TOKENS"])
    old_mail = []
    mail_cutoff = now - timedelta(days=config["RETENTION_DAYS_OUTBOX"])
    if outbox is not None and outbox.is_dir():
        limit = mail_cutoff.timestamp()
        old_mail = [p for p in sorted(outbox.glob("*.eml")) if p.stat().st_mtime < limit]
    return _Due(
        ballots=Ballot.award_id.in_(published)
        & or_(Ballot.ip_hash != "", Ballot.user_agent_hash != ""),
        credentials=VotingCredential.award_id.in_(published)
        & ~VotingCredential.secret_hash.startswith(PURGED),
        used=exists().where(Ballot.credential_id == VotingCredential.id),
        tokens=or_(AccountToken.expires_at < token_cutoff, AccountToken.used_at < token_cutoff),
        codes=RecoveryCode.used_at < token_cutoff,
        mail_rows=(OutgoingMail.status != "queued") & (OutgoingMail.created_at < mail_cutoff),
        old_mail=old_mail,
    )


def _count(due: _Due) -> Purge:
    def count(model, where) -> int:
        return db.session.execute(select(func.count()).select_from(model).where(where)).scalar_one()

    return Purge(
        {
            "ballot network hashes": count(Ballot, due.ballots),
            "used voting credentials": count(VotingCredential, due.credentials & due.used),
            "unused voting credentials": count(VotingCredential, due.credentials & ~due.used),
            "account links": count(AccountToken, due.tokens),
            "used recovery codes": count(RecoveryCode, due.codes),
            "outbox messages": len(due.old_mail),
            "sent or failed mail records": count(OutgoingMail, due.mail_rows),
        }
    )


def _remove(due: _Due) -> None:
    bulk = {"synchronize_session": False}
    db.session.execute(
        update(Ballot).where(due.ballots).values(ip_hash="", user_agent_hash=""),
        execution_options=bulk,
    )
    # The row stays (its ballot points at it); the hash goes, replaced by a value unique per
    # award that no address or code can hash to.
    db.session.execute(
        update(VotingCredential)
        .where(due.credentials & due.used)
        .values(secret_hash=literal(PURGED) + cast(VotingCredential.id, String)),
        execution_options=bulk,
    )
    db.session.execute(
        delete(VotingCredential).where(due.credentials & ~due.used), execution_options=bulk
    )
    db.session.execute(delete(AccountToken).where(due.tokens), execution_options=bulk)
    db.session.execute(delete(RecoveryCode).where(due.codes), execution_options=bulk)
    db.session.execute(delete(OutgoingMail).where(due.mail_rows), execution_options=bulk)
    for path in due.old_mail:
        path.unlink(missing_ok=True)
