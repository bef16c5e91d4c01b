"""Emails to the jury: scoring opens, the reminder 48 hours before closing (once), results."""

from datetime import timedelta

from judging.extensions import db
from judging.models import utcnow
from judging.services.awards import transition

from .fixtures.mail import deliver_mail, outbox

ALL = {"innovation": 7, "impact": 7, "person-centred": 7, "sustainability": 7, "transferability": 7}


def test_opening_scoring_tells_every_juror_who_can_log_in(app, runner, seeded_award, make_user):
    ready = make_user(awards=[seeded_award])
    make_user(awards=[seeded_award], invited=True)  # gets the invitation instead
    make_user(awards=[seeded_award], active=False)
    result = runner.invoke(args=["award", "open", "excellence-award"])
    assert "queued an email to 1 juror(s)" in result.output
    assert deliver_mail(app).sent == 1
    [message] = outbox(app)
    assert message["To"] == ready.email
    assert message["Subject"].strip() == f"Scoring is open: {seeded_award.title}"
    assert "/jury/" in message.get_content()


def test_publishing_tells_the_jury_where_the_results_are(
    app, runner, seeded_award, make_user, make_evaluation
):
    juror = make_user(awards=[seeded_award])
    for nominee in seeded_award.nominees:
        make_evaluation(nominee, juror, ALL, submitted=True)
    seeded_award.status, seeded_award.quorum = "closed", 1
    db.session.commit()
    runner.invoke(args=["award", "publish", "excellence-award", "--override-reason", "test"])
    assert deliver_mail(app).sent == 1
    [message] = outbox(app)
    assert message["Subject"].strip() == f"Results published: {seeded_award.title}"
    assert "/awards/excellence-award/results" in message.get_content()


def test_the_deadline_reminder_goes_once_to_jurors_with_work_left(
    app, runner, seeded_award, make_user, make_evaluation
):
    transition(seeded_award, "open_scoring", actor=None)
    seeded_award.scoring_closes_at = utcnow() + timedelta(hours=30)
    behind, done = make_user(awards=[seeded_award]), make_user(awards=[seeded_award])
    for nominee in seeded_award.nominees:
        make_evaluation(nominee, done, ALL, submitted=True)
    make_evaluation(seeded_award.nominees[0], behind, ALL)  # one draft, twelve not started
    db.session.commit()

    first = runner.invoke(args=["remind"])
    assert "queued 1 reminder(s); 0 already reminded" in first.output
    assert deliver_mail(app).sent == 1
    [message] = outbox(app)
    assert message["To"] == behind.email
    assert "13 evaluations left" in message["Subject"]
    again = runner.invoke(args=["remind"])
    assert "queued 0 reminder(s); 1 already reminded" in again.output
    assert deliver_mail(app).sent == 0
    assert len(outbox(app)) == 1


def test_no_reminder_while_the_deadline_is_far(app, runner, seeded_award, make_user):
    transition(seeded_award, "open_scoring", actor=None)
    seeded_award.scoring_closes_at = utcnow() + timedelta(days=5)
    make_user(awards=[seeded_award])
    db.session.commit()
    assert "queued 0 reminder(s)" in runner.invoke(args=["remind"]).output
    assert deliver_mail(app).sent == 0
    assert outbox(app) == []
