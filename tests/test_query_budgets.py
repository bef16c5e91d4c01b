"""Query budgets: each busy page reads the database a fixed number of times, whatever the
number of nominees and jurors (no N+1). A page that grows a query per row fails here."""

import pytest
from sqlalchemy import event

from judging.extensions import db
from judging.models import Nominee
from judging.services import publication
from judging.services.awards import transition

from .conftest import log_in
from .test_evaluations import draft, put_evaluation

ALL = {"innovation": 6, "impact": 7, "person-centred": 8, "sustainability": 5, "transferability": 6}


@pytest.fixture
def queries(app):
    """count(fn) -> how many SQL statements fn ran (in the app's engine, on any thread)."""
    seen = []

    def listener(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", listener)

    def count(fn) -> int:
        seen.clear()
        fn()
        return len(seen)

    yield count
    event.remove(db.engine, "before_cursor_execute", listener)


def grow(award, make_user, make_evaluation, *, nominees: int, jurors: int):
    """Add nominees and jurors, every juror scoring every nominee (submitted)."""
    start = len(award.nominees)
    for i in range(nominees):
        db.session.add(
            Nominee(
                award_id=award.id,
                slug=f"extra-{start + i}",
                title=f"Extra {i}",
                organisation="Org",
                city="City",
                country="Country",
                position=start + i,
            )
        )
    db.session.commit()
    db.session.refresh(award)
    for _ in range(jurors):
        juror = make_user(awards=[award])
        for nominee in award.nominees:
            make_evaluation(nominee, juror, ALL, submitted=True)


def measure(app, award, make_user, make_evaluation, queries, page):
    """The page's query count at two sizes of the award; both must be equal."""
    counts = []
    for size in ({"nominees": 0, "jurors": 1}, {"nominees": 10, "jurors": 3}):
        grow(award, make_user, make_evaluation, **size)
        client = app.test_client()
        setup = page(client)
        counts.append(queries(setup))
    return counts


def test_the_public_award_page(app, seeded_award, make_user, make_evaluation, queries):
    def page(client):
        return lambda: client.get("/awards/excellence-award")

    small, large = measure(app, seeded_award, make_user, make_evaluation, queries, page)
    assert small == large <= 2


def test_the_juror_evaluation_page_and_autosave(
    app, seeded_award, make_user, make_evaluation, queries
):
    seeded_award.status = "scoring"
    db.session.commit()

    def page(client):
        juror = make_user(awards=[seeded_award])
        log_in(client, juror)
        return lambda: client.get("/jury/awards/excellence-award/nominees/evikomp")

    small, large = measure(app, seeded_award, make_user, make_evaluation, queries, page)
    assert small == large <= 11

    def autosave(client):
        juror = make_user(awards=[seeded_award])
        log_in(client, juror)
        return lambda: put_evaluation(client, draft({"impact": 5}), nominee="evikomp")

    small, large = measure(app, seeded_award, make_user, make_evaluation, queries, autosave)
    assert small == large <= 18  # the read of the page that holds the CSRF token included


def test_the_admin_leaderboard(app, seeded_award, make_user, make_evaluation, queries):
    def page(client):
        log_in(client, make_user(role="admin"))
        return lambda: client.get("/admin/awards/excellence-award/leaderboard")

    small, large = measure(app, seeded_award, make_user, make_evaluation, queries, page)
    assert small == large <= 14


def test_the_published_results_page_and_json(
    app, seeded_award, make_user, make_evaluation, queries
):
    grow(seeded_award, make_user, make_evaluation, nominees=0, jurors=2)
    transition(seeded_award, "open_scoring", actor=None)
    transition(seeded_award, "close_scoring", actor=None)
    publication.publish(seeded_award, actor=None, override_reason="test")
    db.session.commit()
    client = app.test_client()
    # Served from the frozen snapshot: nothing is recomputed.
    assert queries(lambda: client.get("/awards/excellence-award/results")) <= 2
    assert queries(lambda: client.get("/api/v1/awards/excellence-award/results")) <= 2
