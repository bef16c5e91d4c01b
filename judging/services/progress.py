"""What administrators watch: each juror's and each nominee's progress, the declared conflicts of
interest, and reminders to the jurors who have not finished."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from judging.extensions import db
from judging.models import Assignment, Award, Evaluation, Nominee, Recusal, User
from judging.services import queries
from judging.services.audit import record_event
from judging.services.errors import ServiceError
from judging.services.notifications import send_reminder


@dataclass
class JurorProgress:
    """One juror's counts, of the nominees they are to judge (assigned, not withdrawn, not
    recused): the same numbers their own dashboard shows."""

    juror: User
    submitted: int
    drafts: int
    recused: int
    scoreable: int
    last_activity: datetime | None

    @property
    def to_do(self) -> int:
        """Not started yet."""
        return self.scoreable - self.submitted - self.drafts

    @property
    def left(self) -> int:
        """Not submitted yet, drafts included: what a reminder counts."""
        return self.scoreable - self.submitted

    @property
    def finished(self) -> bool:
        return self.left == 0


@dataclass
class NomineeProgress:
    nominee: Nominee
    jurors: int  # assigned to it (or the whole jury, when every juror scores every nominee)
    recused: int  # of those, with a conflict of interest
    submitted: int  # evaluations submitted by the jurors expected to judge it
    drafts: int

    @property
    def expected(self) -> int:
        return self.jurors - self.recused


@dataclass
class AwardProgress:
    jurors: list[JurorProgress]
    nominees: list[NomineeProgress]
    # Per (juror id, nominee id): assigned, declared a conflict, "submitted" or "draft".
    assigned: set[tuple[int, int]] = field(default_factory=set)
    recused: set[tuple[int, int]] = field(default_factory=set)
    evaluations: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def submitted(self) -> int:
        return sum(n.submitted for n in self.nominees)

    @property
    def expected(self) -> int:
        return sum(n.expected for n in self.nominees)

    @property
    def unfinished(self) -> list[JurorProgress]:
        return [j for j in self.jurors if not j.finished]


def award_progress(award: Award) -> AwardProgress:
    """Every juror's and every nominee's counts, assignments and withdrawals respected, in five
    queries whatever the size of the jury."""
    return count_progress(_load(award))


@dataclass
class ProgressFacts:
    """What the counts are made from, as loaded: plain data, so counting needs no database."""

    nominees: list[Nominee]  # in the running (not withdrawn), in the award's order
    jurors: list[User]
    every_juror_all: bool  # every juror judges every nominee (no assignments)
    assigned: set[tuple[int, int]]  # (juror id, nominee id)
    recused: set[tuple[int, int]]  # active conflicts of interest
    evaluations: dict[tuple[int, int], str]  # "submitted" or "draft"
    last_activity: dict[int, datetime]  # juror id: their latest save


class _NomineeId(NamedTuple):
    """A nominee as the jurors' counts need it: its id alone (jury_progress)."""

    id: int


def _load(award: Award, *, nominee_ids_only: bool = False) -> ProgressFacts:
    """The facts; with `nominee_ids_only`, the nominees as their ids, not hydrated as models
    (the large award's 5,000 models were half of its leaderboard's time)."""
    in_running = (Nominee.award_id == award.id, Nominee.withdrawn_at.is_(None))
    nominees: list[Any] = (
        [_NomineeId(i) for i in db.session.scalars(select(Nominee.id).where(*in_running))]
        if nominee_ids_only
        else list(db.session.scalars(select(Nominee).where(*in_running).order_by(Nominee.position)))
    )
    jurors = list(db.session.scalars(queries.jurors_of(award).order_by(User.name, User.id)))
    assigned = {
        (juror_id, nominee_id)
        for juror_id, nominee_id in db.session.execute(
            select(Assignment.juror_id, Assignment.nominee_id)
            .join(Nominee, Nominee.id == Assignment.nominee_id)
            .where(Nominee.award_id == award.id)
        )
    }
    recused = {
        (juror_id, nominee_id)
        for juror_id, nominee_id in db.session.execute(queries.active_recusals(award))
    }
    evaluations: dict[tuple[int, int], str] = {}
    last_activity: dict[int, datetime] = {}
    for juror_id, nominee_id, submitted_at, updated_at in db.session.execute(
        select(
            Evaluation.juror_id,
            Evaluation.nominee_id,
            Evaluation.submitted_at,
            Evaluation.updated_at,
        ).where(Evaluation.award_id == award.id)
    ):
        evaluations[juror_id, nominee_id] = "submitted" if submitted_at else "draft"
        if juror_id not in last_activity or updated_at > last_activity[juror_id]:
            last_activity[juror_id] = updated_at
    every_juror_all = award.assignment_mode != "assigned"
    return ProgressFacts(
        nominees, jurors, every_juror_all, assigned, recused, evaluations, last_activity
    )


def count_progress(facts: ProgressFacts, *, jurors_only: bool = False) -> AwardProgress:
    """The counts of `award_progress`, from the loaded facts alone (`jurors_only`: no
    nominee rows)."""
    # Counted from the assignments, conflicts and evaluations that exist, not by visiting every
    # (juror, nominee) pair: 300 jurors x 5,000 nominees took seconds (bench/README.md).
    judged = _judged_pairs(facts)
    theirs_by_juror: Counter[int] = Counter()
    theirs_by_nominee: Counter[int] = Counter()
    if not facts.every_juror_all:
        for j, n in judged(facts.assigned):
            theirs_by_juror[j] += 1
            theirs_by_nominee[n] += 1
    recused_by_juror: Counter[int] = Counter()
    recused_by_nominee: Counter[int] = Counter()
    for j, n in judged(facts.recused):
        recused_by_juror[j] += 1
        recused_by_nominee[n] += 1
    by_juror: Counter[tuple[int, str]] = Counter()
    by_nominee: Counter[tuple[int, str]] = Counter()
    for j, n in judged(facts.evaluations):
        if (j, n) not in facts.recused:
            by_juror[j, facts.evaluations[j, n]] += 1
            by_nominee[n, facts.evaluations[j, n]] += 1

    juror_rows = [
        JurorProgress(
            juror,
            submitted=by_juror[juror.id, "submitted"],
            drafts=by_juror[juror.id, "draft"],
            recused=recused_by_juror[juror.id],
            scoreable=(len(facts.nominees) if facts.every_juror_all else theirs_by_juror[juror.id])
            - recused_by_juror[juror.id],
            last_activity=facts.last_activity.get(juror.id),
        )
        for juror in facts.jurors
    ]
    nominee_rows = [
        NomineeProgress(
            nominee,
            jurors=len(facts.jurors) if facts.every_juror_all else theirs_by_nominee[nominee.id],
            recused=recused_by_nominee[nominee.id],
            submitted=by_nominee[nominee.id, "submitted"],
            drafts=by_nominee[nominee.id, "draft"],
        )
        for nominee in ([] if jurors_only else facts.nominees)
    ]
    return AwardProgress(juror_rows, nominee_rows, facts.assigned, facts.recused, facts.evaluations)


def _judged_pairs(
    facts: ProgressFacts,
) -> Callable[[Iterable[tuple[int, int]]], list[tuple[int, int]]]:
    """A filter keeping the (juror, nominee) pairs that count: a juror of the award judging a
    nominee in the running (and assigned to it, when the award assigns)."""
    nominee_ids = {n.id for n in facts.nominees}
    juror_ids = {j.id for j in facts.jurors}

    def judged(pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        return [
            (j, n)
            for j, n in pairs
            if j in juror_ids
            and n in nominee_ids
            and (facts.every_juror_all or (j, n) in facts.assigned)
        ]

    return judged


def jury_progress(award: Award) -> list[JurorProgress]:
    """Every juror of the award with their counts."""
    return count_progress(_load(award, nominee_ids_only=True), jurors_only=True).jurors


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


class ReminderError(ServiceError):
    """No reminder can be sent (the award is not in scoring, the juror is not on its jury)."""


@dataclass
class Reminders:
    sent: list[JurorProgress] = field(default_factory=list)
    # Left out: finished, or not able to log in (invited or deactivated).
    finished: list[JurorProgress] = field(default_factory=list)
    cannot_log_in: list[JurorProgress] = field(default_factory=list)


def remind_jurors(award: Award, *, actor: User, juror: User | None = None) -> Reminders:
    """Email every unfinished juror of the award (or just `juror`) how many evaluations they
    have left, with a link to their dashboard; each message queued is audited.

    A juror who has finished gets nothing.
    """
    if award.status != "scoring":
        raise ReminderError("Reminders can be sent only while the jury is scoring.")
    rows = jury_progress(award)
    if juror is not None:
        rows = [row for row in rows if row.juror.id == juror.id]
        if not rows:
            raise ReminderError(f"{juror.name} is not on the jury of this award.")
    report = Reminders()
    for row in rows:
        if row.finished:
            report.finished.append(row)
        elif row.juror.status != "active":
            report.cannot_log_in.append(row)
        else:
            send_reminder(row.juror, award, left=row.left, drafts=row.drafts)
            report.sent.append(row)
            record_event(
                "jury.reminded",
                f"user:{row.juror.id}",
                {"award": award.slug, "left": row.left, "drafts": row.drafts},
                actor=actor,
            )
    return report
