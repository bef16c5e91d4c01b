"""Demo data: a dozen made-up jurors with plausible, varied scores, to see the leaderboard work.

Everything made here is marked: the jurors' addresses end in @demo.invalid and their names
start with "Demo juror". It goes on an award without real evaluations only, and comes off
again completely.
"""

import random
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, select

from judging.extensions import db
from judging.models import (
    Award,
    Criterion,
    Evaluation,
    JuryMember,
    Nominee,
    Recusal,
    Score,
    User,
    utcnow,
)
from judging.services.audit import record_event
from judging.services.errors import ServiceError

DEMO_DOMAIN = "demo.invalid"
DEMO_JURORS = 12


class DemoError(ServiceError):
    pass


def _demo_jurors() -> list[User]:
    return list(db.session.scalars(select(User).where(User.email.like(f"%@{DEMO_DOMAIN}"))))


def add_demo_data(award: Award, *, seed: int = 2026) -> int:
    """Fill the award with demo evaluations; return how many. Refuses real or published data."""
    _refuse_real_data(award)
    remove_demo_data(award, audit=False)
    rnd = random.Random(seed)
    nominees = list(award.nominees)
    criteria = list(award.criteria)
    if not nominees or not criteria:
        raise DemoError("The award needs nominees and criteria first.")
    # A latent quality per nominee; the first two are a near tie at the top.
    quality = {n.id: rnd.uniform(3.5, 7.5) for n in nominees}
    if len(nominees) >= 2:
        quality[nominees[0].id] = 8.2
        quality[nominees[1].id] = 8.15
    # Each juror's habit: one harsh, one lenient, the rest a little either way.
    bias = [-2.3, 2.0] + [rnd.gauss(0, 0.6) for _ in range(DEMO_JURORS - 2)]
    jurors = _demo_jury(award)
    recused = (jurors[4].id, nominees[min(2, len(nominees) - 1)].id)
    db.session.add(
        Recusal(
            nominee_id=recused[1],
            juror_id=recused[0],
            reason="Demo: advised this project in its first year.",
        )
    )
    now, count = utcnow(), 0
    for j, juror in enumerate(jurors):
        for nominee in nominees:
            if (juror.id, nominee.id) == recused:
                continue
            evaluation = Evaluation(
                award_id=award.id,
                nominee_id=nominee.id,
                juror_id=juror.id,
                submitted_at=now,
                comment="Demo evaluation.",
            )
            evaluation.scores = _demo_scores(criteria, quality[nominee.id] + bias[j], rnd)
            db.session.add(evaluation)
            count += 1
    db.session.flush()
    record_event("demo.added", f"award:{award.slug}", {"evaluations": count}, actor=None)
    return count


def _refuse_real_data(award: Award) -> None:
    if award.status == "published":
        raise DemoError("This award's results are published; demo data would falsify them.")
    real = db.session.scalar(
        select(
            exists().where(
                Evaluation.award_id == award.id,
                Evaluation.juror_id.not_in(
                    select(User.id).where(User.email.like(f"%@{DEMO_DOMAIN}"))
                ),
            )
        )
    )
    if real:
        raise DemoError("This award has real evaluations; demo data is only for empty awards.")


def _demo_jury(award: Award) -> list[User]:
    """DEMO_JURORS new demo jurors (inactive: they cannot log in), on the award's jury."""
    jurors = []
    for i in range(DEMO_JURORS):
        juror = User(
            email=f"demo-juror-{i + 1:02}@{DEMO_DOMAIN}",
            name=f"Demo juror {i + 1:02}"
            + (" (harsh)" if i == 0 else " (lenient)" if i == 1 else ""),
            role="juror",
            active=False,
        )
        db.session.add(juror)
        jurors.append(juror)
    db.session.flush()
    db.session.add_all(JuryMember(award_id=award.id, user_id=j.id) for j in jurors)
    return jurors


def _demo_scores(criteria: list[Criterion], quality: float, rnd: random.Random) -> list[Score]:
    """A score per criterion around `quality` (on a 1-10 footing), kept inside its scale."""
    scores = []
    for criterion in criteria:
        span = criterion.scale_max - criterion.scale_min
        centre = criterion.scale_min + span * (quality - 1) / 9
        value = round(rnd.gauss(centre, span / 12))
        scores.append(
            Score(
                criterion_id=criterion.id,
                value=min(criterion.scale_max, max(criterion.scale_min, value)),
            )
        )
    return scores


def remove_demo_data(award: Award, *, audit: bool = True) -> int:
    """Take every demo juror and their evaluations off the award; return evaluations removed."""
    ids = [u.id for u in _demo_jurors()]
    if not ids:
        return 0
    removed = cast(
        "CursorResult[Any]",
        db.session.execute(
            delete(Evaluation).where(Evaluation.award_id == award.id, Evaluation.juror_id.in_(ids))
        ),
    ).rowcount
    db.session.execute(
        delete(Recusal).where(
            Recusal.juror_id.in_(ids),
            Recusal.nominee_id.in_(select(Nominee.id).where(Nominee.award_id == award.id)),
        )
    )
    db.session.execute(
        delete(JuryMember).where(JuryMember.award_id == award.id, JuryMember.user_id.in_(ids))
    )
    still_used = set(
        db.session.scalars(select(JuryMember.user_id).where(JuryMember.user_id.in_(ids)))
    )
    db.session.execute(delete(User).where(User.id.in_(set(ids) - still_used)))
    if audit:
        record_event("demo.removed", f"award:{award.slug}", {"evaluations": removed}, actor=None)
    return removed
