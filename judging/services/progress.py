"""What administrators watch: each juror's progress and the declared conflicts of interest."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from judging.extensions import db
from judging.models import Award, Evaluation, JuryMember, Nominee, Recusal, User


@dataclass
class JurorProgress:
    juror: User
    submitted: int
    drafts: int
    recused: int
    scoreable: int
    last_activity: datetime | None


def jury_progress(award: Award) -> list[JurorProgress]:
    """Every juror of the award with their counts, in a fixed number of queries."""
    nominees = db.session.scalar(
        select(func.count()).select_from(Nominee).where(Nominee.award_id == award.id)
    )
    jurors = list(
        db.session.scalars(
            select(User)
            .join(JuryMember, JuryMember.user_id == User.id)
            .where(JuryMember.award_id == award.id)
            .order_by(User.name)
        )
    )
    recused = dict(
        db.session.execute(
            select(Recusal.juror_id, func.count())
            .join(Nominee, Nominee.id == Recusal.nominee_id)
            .where(Nominee.award_id == award.id, Recusal.lifted_at.is_(None))
            .group_by(Recusal.juror_id)
        ).all()
    )
    active = (
        select(Recusal.id)
        .where(
            Recusal.nominee_id == Evaluation.nominee_id,
            Recusal.juror_id == Evaluation.juror_id,
            Recusal.lifted_at.is_(None),
        )
        .exists()
    )
    counts = {
        juror_id: (submitted, drafts, last)
        for juror_id, submitted, drafts, last in db.session.execute(
            select(
                Evaluation.juror_id,
                func.sum(case((Evaluation.submitted_at.is_not(None), 1), else_=0)),
                func.sum(case((Evaluation.submitted_at.is_(None), 1), else_=0)),
                func.max(Evaluation.updated_at),
            )
            .where(Evaluation.award_id == award.id, ~active)
            .group_by(Evaluation.juror_id)
        )
    }
    rows = []
    for juror in jurors:
        submitted, drafts, last = counts.get(juror.id, (0, 0, None))
        rows.append(
            JurorProgress(
                juror,
                int(submitted),
                int(drafts),
                recused.get(juror.id, 0),
                nominees - recused.get(juror.id, 0),
                last,
            )
        )
    return rows


def recusals_of(award: Award) -> list[Recusal]:
    """The award's conflicts of interest, active ones first."""
    return list(
        db.session.scalars(
            select(Recusal)
            .join(Nominee, Nominee.id == Recusal.nominee_id)
            .where(Nominee.award_id == award.id)
            .order_by(Recusal.lifted_at.is_not(None), Recusal.declared_at.desc())
        )
    )
