"""Closing, reviewing and publishing results: a frozen snapshot anyone can verify.

The snapshot is the results document (as `flask results --format json` prints it, with jurors
anonymised) plus the criteria, counts, casting decisions, publication time and application
version, serialised canonically (sorted keys, no spaces) and hashed with SHA-256; the
`award.published` event seals that digest in the keyed audit chain. Verifying checks the seal,
the scores against the digest recorded when scoring closed, and recomputes the document.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from flask_babel import format_date, get_locale
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import (
    AuditEvent,
    Award,
    CastingDecision,
    Criterion,
    Evaluation,
    Nominee,
    Recusal,
    ResultSnapshot,
    Score,
    User,
    utcnow,
)
from judging.services import queries, results
from judging.services.audit import ledger_report, record_event
from judging.services.errors import ServiceError


def app_version() -> str:
    try:
        return version("judging")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def canonical(document: dict | list) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PublishError(ServiceError):
    pass


@dataclass
class Blocker:
    kind: str  # status | quorum | tie | drafts | recusal
    message: str


def scores_digest(award: Award) -> str:
    """A digest of every score of the award, to record the state at closing."""
    rows = db.session.execute(
        select(
            Evaluation.id,
            Evaluation.juror_id,
            Evaluation.nominee_id,
            Evaluation.submitted_at,
            Evaluation.version,
            Score.criterion_id,
            Score.value,
        )
        .outerjoin(Score, Score.evaluation_id == Evaluation.id)
        .where(Evaluation.award_id == award.id)
        .order_by(Evaluation.id, Score.criterion_id)
    ).all()
    return sha256(canonical([[str(v) if v is not None else None for v in row] for row in rows]))


def review(award: Award) -> list[Blocker]:
    """What stands in the way of publishing, in words an administrator acts on."""
    blockers = []
    if award.status not in ("closed", "voting_closed"):
        blockers.append(Blocker("status", "Scoring (and voting, if any) must be closed first."))
    computed = results.compute(award)
    result, nominees = computed.result, computed.nominees
    low = [nominees[r.nominee].title for r in result.results if r.coverage < award.quorum]
    if low:
        blockers.append(
            Blocker(
                "quorum",
                f"{len(low)} nominee(s) have fewer than {award.quorum} submitted "
                f"evaluations: {'; '.join(low)}.",
            )
        )
    for flag in result.flags:
        if flag.kind == "tie":
            names = "; ".join(nominees[s].title for s in flag.subjects)
            blockers.append(
                Blocker(
                    "tie", f"Unresolved tie: {names}. Record a casting decision on the leaderboard."
                )
            )
    drafts = db.session.scalar(
        select(func.count())
        .select_from(Evaluation)
        .join(Nominee, Nominee.id == Evaluation.nominee_id)
        .where(
            Evaluation.award_id == award.id,
            Evaluation.submitted_at.is_(None),
            Nominee.withdrawn_at.is_(None),
        )
    )
    if drafts:
        blockers.append(
            Blocker("drafts", f"{drafts} evaluation(s) were never submitted; they do not count.")
        )
    late = db.session.scalar(
        select(func.count())
        .select_from(Recusal)
        .join(
            Evaluation,
            (Evaluation.nominee_id == Recusal.nominee_id)
            & (Evaluation.juror_id == Recusal.juror_id),
        )
        .where(Evaluation.award_id == award.id, queries.recusal_is_active())
    )
    if late:
        blockers.append(
            Blocker(
                "recusal",
                f"{late} conflict(s) of interest were declared after "
                "the juror had started scoring; those evaluations "
                "are left out. Lift the conflict if it does not "
                "stand.",
            )
        )
    return blockers


def document(
    award: Award, *, published_at: str | None, version_: str | None, override_reason: str
) -> dict:
    """The full results document of the award as it stands in the database now (computed
    afresh, never from the cache: what is published and verified is ranked from the rows)."""
    computed = results.compute(award, cached=False)
    result = computed.result
    # Jurors are anonymised in published results: J1, J2... by a stable order (their ids).
    jurors = {
        juror_id: f"J{n}"
        for n, juror_id in enumerate(sorted(j.juror for j in result.jurors), start=1)
    }
    doc = results.as_json(award, computed, jurors)
    criteria = db.session.scalars(
        select(Criterion).where(Criterion.award_id == award.id).order_by(Criterion.position)
    )
    doc["criteria"] = [
        {
            "slug": c.slug,
            "name": c.name,
            "weight": c.weight,
            "scale_min": c.scale_min,
            "scale_max": c.scale_max,
        }
        for c in criteria
    ]
    doc["counts"] = {
        "nominees": len(doc["nominees"]),
        "jurors": len(jurors),
        "evaluations": sum(j["evaluations"] for j in doc["statistics"]["jurors"]),
    }
    doc["casting_decisions"] = [
        {"method": d.method, "order": json.loads(d.nominee_order), "reason": d.reason}
        for d in db.session.scalars(
            select(CastingDecision)
            .where(CastingDecision.award_id == award.id)
            .order_by(CastingDecision.decided_at, CastingDecision.id)
        )
    ]
    results.combine_with_vote(award, doc)
    doc["published_at"] = published_at
    doc["app_version"] = version_
    doc["override_reason"] = override_reason
    return doc


def long_date(iso: str | None) -> str:
    """'2026-05-12T18:30:00Z' as '12 May 2026', as every page writes dates; no date
    (provisional results) is today's. In the page's language, the long form of its own
    (Babel's: '12. Mai 2026', '2026 m. gegužės 12 d.'); English keeps the day first."""
    when = datetime.fromisoformat(iso) if iso else datetime.now(UTC)
    locale = get_locale()
    if locale is None or locale.language == "en":
        return f"{when.day} {when:%B %Y}"
    return format_date(when, format="long", rebase=False)  # the day in UTC, as in English


def publish(award: Award, *, actor: User | None, override_reason: str = "") -> ResultSnapshot:
    """Freeze the results: store the snapshot and its digest; the award becomes published."""
    if award.status not in ("closed", "voting_closed"):
        raise PublishError("Close scoring (and voting, if any) before publishing.")
    override_reason = override_reason.strip()
    blockers = review(award)
    if blockers and not override_reason:
        raise PublishError(
            "Publication is blocked: "
            + " ".join(b.message for b in blockers)
            + " Resolve these, or publish anyway with a written reason."
        )
    now = utcnow()
    doc = document(
        award,
        published_at=now.isoformat(timespec="seconds") + "Z",
        version_=app_version(),
        override_reason=override_reason,
    )
    text = canonical(doc)
    snapshot = ResultSnapshot(
        award_id=award.id,
        published_at=now,
        published_by_id=actor.id if actor else None,
        method=doc["method"],
        document=text,
        digest=sha256(text),
        override_reason=override_reason,
    )
    db.session.add(snapshot)
    award.status = "published"
    db.session.flush()
    head = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    record_event(
        "award.published",
        f"award:{award.slug}",
        {
            "digest": snapshot.digest,
            "chain_head": head,
            "override_reason": override_reason,
            "blockers": [b.message for b in blockers],
        },
        actor=actor,
    )
    return snapshot


def snapshot_of(award: Award) -> ResultSnapshot | None:
    return db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.award_id == award.id))


@dataclass
class Verification:
    ok: bool
    stored: str
    recomputed: str
    differences: list[str]
    sealed: str | None = None  # the digest the award.published audit event holds
    notes: list[str] = field(default_factory=list)


def _last_event(action: str, award: Award, before_id: int | None = None) -> AuditEvent | None:
    query = select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.subject == f"award:{award.slug}"
    )
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return db.session.scalar(query.order_by(AuditEvent.id.desc()).limit(1))


def verify(award: Award) -> Verification:
    """Check the published results four ways; any difference fails.

    1. The stored snapshot still matches its own digest.
    2. That digest is the one sealed in the keyed audit chain at publication (so a snapshot
       rebuilt, consistently, from changed scores is caught), and the chain holds.
    3. The scores are those whose digest was recorded in the chain when scoring closed.
    4. The results recomputed from the stored scores give the same document and digest.
    """
    snapshot = snapshot_of(award)
    if snapshot is None:
        raise PublishError("This award's results are not published.")
    stored = json.loads(snapshot.document)
    fresh = document(
        award,
        published_at=stored["published_at"],
        version_=stored["app_version"],
        override_reason=stored["override_reason"],
    )
    recomputed = sha256(canonical(fresh))
    # The stored text must also still match its own digest: an edited row is caught here.
    intact = sha256(snapshot.document) == snapshot.digest
    differences = [] if intact else ["the stored snapshot no longer matches its own digest"]

    published, sealed, unsealed = _seal(award, snapshot)
    differences += unsealed
    changed, notes = _scores_since_closing(award, published)
    differences += changed

    differences += [
        f"{key} differs"
        for key in sorted(set(stored) | set(fresh))
        if stored.get(key) != fresh.get(key)
    ]
    return Verification(
        ok=not differences and recomputed == snapshot.digest,
        stored=snapshot.digest,
        recomputed=recomputed,
        differences=differences,
        sealed=sealed,
        notes=notes,
    )


def _seal(
    award: Award, snapshot: ResultSnapshot
) -> tuple[AuditEvent | None, str | None, list[str]]:
    """The award.published event, the digest it sealed, and what is wrong with either (checks
    1 and 2 of `verify`): the chain must hold and seal this snapshot's digest."""
    differences = []
    chain = ledger_report()
    if not chain.ok:
        differences += [
            "the audit chain does not verify, so the digests it holds cannot be trusted:",
            *chain.problems,
        ]
    published = _last_event("award.published", award)
    sealed = json.loads(published.payload).get("digest") if published else None
    if published is None or sealed is None:
        differences.append("no award.published event in the audit chain holds a digest")
    elif sealed != snapshot.digest:
        differences.append(
            f"the snapshot's digest is not the one sealed in the audit chain at publication "
            f"(event {published.id}: sha256:{sealed}): the snapshot was replaced"
        )
    return published, sealed, differences


def _scores_since_closing(
    award: Award, published: AuditEvent | None
) -> tuple[list[str], list[str]]:
    """Check 3 of `verify`: the differences, and the notes, from comparing today's scores
    with the digest recorded when scoring (last) closed before publication."""
    closed = _last_event("award.close_scoring", award, published.id if published else None)
    at_close = json.loads(closed.payload).get("scores_digest") if closed else None
    if closed is None or at_close is None:
        return [], ["no digest of the scores was recorded when scoring closed; not compared"]
    if at_close != scores_digest(award):
        return [
            f"the scores are not those recorded when scoring closed (event {closed.id}): "
            "a score or an evaluation was changed, added or removed since"
        ], []
    return [], [f"the scores match the digest recorded at closing (event {closed.id})"]


def visible_results(award: Award, *, viewer) -> tuple[dict, bool] | None:
    """(the results document, provisional?) for `viewer`, or None if they may not see it.

    Published results are the frozen snapshot, for everyone. Before publication only
    administrators see results, computed live and marked provisional.
    """
    snapshot = snapshot_of(award)
    if snapshot is not None:
        return published_document(snapshot), False
    return provisional_results(award, viewer=viewer)


def published_document(snapshot: ResultSnapshot) -> dict:
    """The frozen results document of a snapshot, with its digest."""
    published = json.loads(snapshot.document)
    published["digest"] = snapshot.digest
    return published


def provisional_results(award: Award, *, viewer) -> tuple[dict, bool] | None:
    """Results computed live and marked provisional, for administrators only; else None."""
    if getattr(viewer, "is_authenticated", False) and viewer.is_admin:
        live = document(award, published_at=None, version_=None, override_reason="")
        live["digest"] = None
        return live, True
    return None
