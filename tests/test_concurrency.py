"""Many jurors' autosaves at once, on PostgreSQL: no acknowledged write is lost, no row is
duplicated, and every acknowledged version is distinct (issue 4, item 11).

Real threads, each with its own test client and session, as several tabs, devices and jurors
would be. SQLite serialises every writer, so the race is only worth proving on PostgreSQL.

And the jury page's changes made twice at once (a juror added, a pair assigned): the losing
request is told, and nothing is written twice.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from judging.extensions import db
from judging.models import Assignment, AuditEvent, Evaluation, JuryMember, Score
from judging.services.audit import first_broken_event
from judging.services.juror_view import shuffled_for

from .fixtures.domain import csrf_token, events, log_in, post, text_of
from .fixtures.scoring import NOMINEE, evaluation_url

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL

CRITERIA = ["innovation", "impact", "person-centred", "sustainability", "transferability"]


class Tab:
    """One logged-in browser tab: its own client, cookie and CSRF token."""

    def __init__(self, app, user):
        self.client = app.test_client()
        assert log_in(self.client, user).status_code == 302
        self.token = csrf_token(self.client, "/")
        self.statuses: list[int] = []

    def get(self, nominee: str) -> dict:
        response = self.client.get(evaluation_url(nominee))
        self.statuses.append(response.status_code)
        return response.json

    def put(self, nominee: str, body: dict):
        response = self.client.put(
            evaluation_url(nominee), json=body, headers={"X-CSRFToken": self.token}
        )
        self.statuses.append(response.status_code)
        return response


def content_for(tab: int, save: int) -> dict:
    """A distinct evaluation per (tab, save): partial score sets of varying size, so that
    score rows are inserted, updated and deleted under contention."""
    scores = {
        slug: 1 + (tab + save + k) % 10
        for k, slug in enumerate(CRITERIA)
        if (tab + save + k) % 3 or k == 0
    }
    return {"scores": scores, "comment": f"tab {tab}, save {save}", "submitted": False}


def run_in_threads(work, arguments):
    """Run work(*args) for each args at once (a barrier lines them up) and return the results."""
    barrier = threading.Barrier(len(arguments))

    def start(args):
        barrier.wait(timeout=30)
        return work(*args)

    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        return list(pool.map(start, arguments))


def stored_evaluations() -> list[Evaluation]:
    db.session.expire_all()
    return list(db.session.scalars(select(Evaluation).order_by(Evaluation.id)))


def assert_no_duplicate_rows():
    with db.engine.connect() as connection:
        evaluations = connection.execute(
            select(Evaluation.nominee_id, Evaluation.juror_id, func.count())
            .group_by(Evaluation.nominee_id, Evaluation.juror_id)
            .having(func.count() > 1)
        ).all()
        scores = connection.execute(
            select(Score.evaluation_id, Score.criterion_id, func.count())
            .group_by(Score.evaluation_id, Score.criterion_id)
            .having(func.count() > 1)
        ).all()
    assert evaluations == [] and scores == []


def test_simultaneous_saves_of_one_evaluation_lose_no_acknowledged_write(app, make_user, award):
    tabs_count, saves = 6, 12
    juror = make_user(role="juror", awards=[award])
    tabs = [Tab(app, juror) for _ in range(tabs_count)]

    def autosave(number: int, tab: Tab) -> list[tuple[int, dict]]:
        """Read, modify, write; on a conflict, write again over the version it returned."""
        acknowledged = []
        for save in range(saves):
            content = content_for(number, save)
            version = tab.get(NOMINEE)["version"]
            while True:
                response = tab.put(NOMINEE, {**content, "version": version})
                if response.status_code == 200:
                    acknowledged.append((response.json["version"], content))
                    break
                if response.status_code != 409:
                    return acknowledged  # unexpected; the status check below reports it
                version = response.json["current"]["version"]
        return acknowledged

    results = run_in_threads(autosave, list(enumerate(tabs)))

    statuses = {status for tab in tabs for status in tab.statuses}
    assert statuses <= {200, 409}, statuses
    assert 409 in statuses  # the tabs did race
    acknowledged = dict(ack for result in results for ack in result)
    versions = sorted(version for result in results for version, _ in result)
    total = tabs_count * saves
    assert versions == list(range(1, total + 1))  # distinct, no gaps
    assert len(acknowledged) == total

    [evaluation] = stored_evaluations()
    assert evaluation.version == total
    final = acknowledged[total]
    assert evaluation.comment == final["comment"]
    assert {s.criterion.slug: s.value for s in evaluation.scores} == final["scores"]
    assert_no_duplicate_rows()

    # Every acknowledged write is in the audit log, with exactly what that save held.
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert first_broken_event(events) is None
    saved = [json.loads(e.payload) for e in events if e.action == "evaluation.saved"]
    assert sorted(p["version"] for p in saved) == list(range(1, total + 1))
    for payload in saved:
        expected = acknowledged[payload["version"]]
        assert payload["after"]["scores"] == expected["scores"]
        assert payload["after"]["comment"] == expected["comment"]


def test_simultaneous_saves_of_many_evaluations_are_all_kept(app, make_user, award):
    jurors = [make_user(role="juror", awards=[award]) for _ in range(6)]
    nominees = list(award.nominees)
    # Two tabs per juror, each working through half of the juror's own order.
    work = []
    for juror in jurors:
        order = [n.slug for n in shuffled_for(juror, nominees)]
        work += [(Tab(app, juror), order[0::2]), (Tab(app, juror), order[1::2])]

    def score_all(tab: Tab, slugs: list[str]) -> list[int]:
        versions = []
        for slug in slugs:
            first = tab.put(slug, {"scores": {"impact": 4}, "submitted": False, "version": 0})
            second = tab.put(slug, {"scores": {"impact": 5, "innovation": 6}, "version": 1,
                                    "submitted": False, "comment": f"notes on {slug}"})  # fmt: skip
            whole = {slug: 1 + len(slug) % 10 for slug in CRITERIA}
            third = tab.put(slug, {"scores": whole, "submitted": True, "version": 2,
                                   "comment": f"notes on {slug}"})  # fmt: skip
            versions += [r.json.get("version") for r in (first, second, third)]
        return versions

    results = run_in_threads(score_all, work)

    statuses = {status for tab, _ in work for status in tab.statuses}
    assert statuses == {200}, statuses
    assert all(result == [1, 2, 3] * (len(result) // 3) for result in results)

    evaluations = stored_evaluations()
    assert len(evaluations) == len(jurors) * len(nominees)
    assert {(e.juror_id, e.nominee_id) for e in evaluations} == {
        (j.id, n.id) for j in jurors for n in nominees
    }
    for evaluation in evaluations:
        assert evaluation.version == 3 and evaluation.submitted_at is not None
        assert evaluation.comment == f"notes on {evaluation.nominee.slug}"
        assert {s.criterion.slug for s in evaluation.scores} == set(CRITERIA)
    assert db.session.scalar(select(func.count()).select_from(Score)) == len(evaluations) * 5
    assert_no_duplicate_rows()
    with db.engine.connect() as connection:
        events = list(connection.execute(select(AuditEvent).order_by(AuditEvent.id)))
    assert first_broken_event(events) is None


# --- The jury page: the same change made twice at the same moment ------------------------------


@contextmanager
def committed_first(model, **row):
    """Another administrator's request: it commits `row` just before this request's flush
    writes the same one (after this request's own check found nothing), as in a real race."""

    def insert_first(session, _context, _instances):
        if any(isinstance(o, model) for o in session.new):
            with db.engine.begin() as connection:
                connection.execute(insert(model).values(**row))

    event.listen(Session, "before_flush", insert_first, once=True)
    try:
        yield
    finally:
        if event.contains(Session, "before_flush", insert_first):
            event.remove(Session, "before_flush", insert_first)


def test_a_juror_added_twice_at_once_is_on_the_jury_once(app, make_user, award, admin_client):
    juror = make_user(name="Jo Racer")
    with committed_first(JuryMember, award_id=award.id, user_id=juror.id):
        response = post(admin_client, f"/admin/awards/{award.slug}/jury/add", juror=str(juror.id))
    assert response.status_code == 302  # not a 500: the service named the lost race
    page = text_of(admin_client.get(response.headers["Location"]))
    assert "Jo Racer is already on this jury." in page and "Jo Racer is on the jury." not in page
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(JuryMember).where(JuryMember.user_id == juror.id)
        )
        == 1
    )
    assert events("jury.membership_changed") == []  # the losing request recorded nothing


def test_a_pair_assigned_twice_at_once_is_assigned_once(app, make_user, award, admin_client):
    juror = make_user(name="Jo Racer", awards=[award])
    nominee = award.nominees[0]
    with committed_first(Assignment, nominee_id=nominee.id, juror_id=juror.id):
        response = post(
            admin_client,
            f"/admin/awards/{award.slug}/jury/assignment",
            op="add",
            nominee=str(nominee.id),
            juror=str(juror.id),
        )
    assert response.status_code == 302
    page = text_of(admin_client.get(response.headers["Location"]))
    assert f"Jo Racer is already assigned to “{nominee.title}”." in page
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.juror_id == juror.id)
        )
        == 1
    )
    assert events("assignment.added") == []
