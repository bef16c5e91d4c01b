"""A juror's conflicts of interest: declared by the juror, lifted by an administrator.

An active recusal keeps the juror from scoring the nominee and takes their scores for it out of
every aggregate (the saving rules in `services/evaluations.py` refuse it).
"""

from sqlalchemy import select

from judging.extensions import db
from judging.models import Award, Nominee, Recusal, User, utcnow
from judging.services.audit import record_event
from judging.services.evaluations import EvaluationError, ScoringClosed, require_juror


def declare_recusal(award: Award, nominee: Nominee, *, juror: User, reason: str) -> Recusal:
    """The juror will not judge this nominee; their scores for it leave every aggregate."""
    require_juror(award, juror)
    reason = reason.strip()
    if not reason:
        raise EvaluationError("Say briefly why, for the record.", errors={"reason": ["Required."]})
    if len(reason) > 2000:
        raise EvaluationError(
            "Keep the reason under 2,000 characters.",
            errors={"reason": ["At most 2000 characters."]},
        )
    if award.status not in ("draft", "scoring"):
        raise ScoringClosed("Scoring has closed; ask the administrator to record the conflict.")
    recusal = db.session.scalar(
        select(Recusal).where(Recusal.nominee_id == nominee.id, Recusal.juror_id == juror.id)
    )
    if recusal is None:
        recusal = Recusal(nominee_id=nominee.id, juror_id=juror.id, reason=reason)
        db.session.add(recusal)
    elif recusal.lifted_at is None:
        raise EvaluationError("You have already declared a conflict with this nominee.")
    else:
        recusal.reason, recusal.declared_at = reason, utcnow()
        recusal.lifted_at = recusal.lifted_by_id = None
        recusal.lifted_reason = ""
    db.session.flush()
    record_event(
        "recusal.declared",
        f"recusal:{recusal.id}",
        {"award": award.slug, "nominee": nominee.slug, "juror": juror.id, "reason": reason},
        actor=juror,
    )
    return recusal


def lift_recusal(recusal: Recusal, *, reason: str, actor: User) -> None:
    """An administrator decides the conflict does not stand; the juror may score again."""
    reason = reason.strip()
    if not reason:
        raise EvaluationError("Give the reason for lifting it.", errors={"reason": ["Required."]})
    if recusal.lifted_at is not None:
        raise EvaluationError("This conflict of interest was already lifted.")
    if recusal.nominee.award.status == "published":
        raise ScoringClosed("The results are published; the conflicts of interest stand.")
    recusal.lifted_at, recusal.lifted_by_id, recusal.lifted_reason = utcnow(), actor.id, reason
    record_event(
        "recusal.lifted",
        f"recusal:{recusal.id}",
        {"nominee": recusal.nominee.slug, "juror": recusal.juror_id, "reason": reason},
        actor=actor,
    )
