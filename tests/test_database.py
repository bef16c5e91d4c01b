"""Invariants the database itself enforces, whatever the code above it does."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from judging.extensions import db
from judging.models import Award, Criterion, Evaluation, Nominee, Recusal, Score

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


def assert_refused(row):
    db.session.add(row)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_one_evaluation_per_juror_and_nominee(seeded_award, make_user, make_evaluation):
    juror = make_user()
    nominee = seeded_award.nominees[0]
    make_evaluation(nominee, juror)
    assert_refused(Evaluation(award_id=seeded_award.id, nominee_id=nominee.id, juror_id=juror.id))


def test_one_score_per_evaluation_and_criterion(seeded_award, make_user, make_evaluation):
    evaluation = make_evaluation(seeded_award.nominees[0], make_user(), {"impact": 5})
    impact = evaluation.scores[0].criterion
    assert_refused(Score(evaluation_id=evaluation.id, criterion_id=impact.id, value=6))


def test_an_evaluation_cannot_name_a_nominee_of_another_award(seeded_award, make_user):
    other = Award(slug="other", title="Other award")
    db.session.add(other)
    db.session.commit()
    assert_refused(
        Evaluation(
            award_id=other.id, nominee_id=seeded_award.nominees[0].id, juror_id=make_user().id
        )
    )


@pytest.mark.parametrize("value", [-1, 101])
def test_a_score_outside_every_scale_is_refused(seeded_award, make_user, make_evaluation, value):
    evaluation = make_evaluation(seeded_award.nominees[0], make_user())
    criterion = seeded_award.criteria[0]
    assert_refused(Score(evaluation_id=evaluation.id, criterion_id=criterion.id, value=value))


@pytest.mark.parametrize(
    "change",
    [
        {"status": "finished"},
        {"aggregation_method": "vibes"},
        {"jury_weight": 60, "vote_weight": 30},
    ],
)
def test_award_columns_are_checked(seeded_award, change):
    for name, value in change.items():
        setattr(seeded_award, name, value)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    ("scale_min", "scale_max", "weight"), [(5, 5, 10), (1, 10, 0), (0, 101, 1)]
)
def test_criterion_scale_and_weight_are_checked(seeded_award, scale_min, scale_max, weight):
    assert_refused(
        Criterion(
            award_id=seeded_award.id,
            slug="x",
            name="X",
            weight=weight,
            scale_min=scale_min,
            scale_max=scale_max,
        )
    )


def test_an_evaluated_nominee_cannot_be_deleted(seeded_award, make_user, make_evaluation):
    nominee = seeded_award.nominees[0]
    make_evaluation(nominee, make_user(), {"impact": 4})
    with pytest.raises(IntegrityError):
        db.session.execute(db.delete(Nominee).where(Nominee.id == nominee.id))
    db.session.rollback()
    assert db.session.get(Nominee, nominee.id) is not None


def test_deleting_an_award_nobody_judged_removes_its_nominees_and_criteria(seeded_award):
    db.session.execute(db.delete(Award).where(Award.id == seeded_award.id))
    db.session.commit()
    assert db.session.scalars(select(Nominee)).all() == []
    assert db.session.scalars(select(Criterion)).all() == []


def test_a_recusal_needs_a_reason(seeded_award, make_user):
    assert_refused(
        Recusal(nominee_id=seeded_award.nominees[0].id, juror_id=make_user().id, reason="")
    )
