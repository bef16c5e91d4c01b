"""Closing, reviewing and publishing: frozen results anyone can verify, and a tamper-evident
audit ledger."""

import hashlib
import json
import time

import pytest
from sqlalchemy import select, text

from judging.extensions import db
from judging.models import AuditEvent, ResultSnapshot, Score
from judging.services import publication
from judging.services.audit import record_event

from .fixtures.domain import csrf_token
from .fixtures.results import SCORES
from .fixtures.scoring import draft, put_evaluation

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


def test_closing_records_a_digest_of_every_score(app, scored):
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "award.close_scoring"))
    payload = json.loads(event.payload)
    assert payload["scores_digest"] == publication.scores_digest(scored)
    score = db.session.scalar(select(Score).where(Score.value < 10).limit(1))
    db.session.execute(text("UPDATE score SET value = 10 WHERE id = :id"), {"id": score.id})
    assert payload["scores_digest"] != publication.scores_digest(scored)


def test_a_clean_award_has_nothing_to_review(app, scored):
    assert publication.review(scored) == []


def test_the_review_names_every_blocker(app, scored, make_user, make_evaluation):
    scored.quorum = 4
    late = make_user(awards=[scored])
    make_evaluation(scored.nominees[0], late, {"impact": 5})  # a draft, never submitted
    db.session.commit()
    kinds = [b.kind for b in publication.review(scored)]
    assert "quorum" in kinds and "drafts" in kinds
    scored.status = "scoring"
    assert "status" in [b.kind for b in publication.review(scored)]


def test_publishing_freezes_a_snapshot_whose_digest_is_its_canonical_json(app, runner, scored):
    result = runner.invoke(args=["award", "publish", "excellence-award"])
    assert result.exit_code == 0, result.output
    snapshot = db.session.scalar(select(ResultSnapshot))
    assert snapshot.digest == hashlib.sha256(snapshot.document.encode()).hexdigest()
    document = json.loads(snapshot.document)
    assert publication.canonical(document) == snapshot.document
    assert {
        "nominees",
        "method",
        "criteria",
        "counts",
        "flags",
        "casting_decisions",
        "app_version",
        "published_at",
        "statistics",
    } <= set(document)
    assert document["nominees"][0]["rank"] == 1 and "criteria" in document["nominees"][0]
    assert document["counts"] == {"nominees": 13, "jurors": 3, "evaluations": 39}
    assert all(j["juror"].startswith("J") for j in document["statistics"]["jurors"])
    assert scored.status == "published"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "award.published"))
    payload = json.loads(event.payload)
    assert payload["digest"] == snapshot.digest and payload["chain_head"] == event.prev_hash


def test_results_verify_passes_then_catches_a_changed_score(app, runner, scored):
    runner.invoke(args=["award", "publish", "excellence-award"])
    ok = runner.invoke(args=["results", "excellence-award", "--verify"])
    assert ok.exit_code == 0 and "OK: the published results match" in ok.output
    score = db.session.scalar(select(Score).where(Score.value < 10).limit(1))
    db.session.execute(text("UPDATE score SET value = 10 WHERE id = :id"), {"id": score.id})
    db.session.commit()
    tampered = runner.invoke(args=["results", "excellence-award", "--verify"])
    assert tampered.exit_code == 1
    assert "do NOT match" in tampered.output


def test_results_verify_catches_an_edited_snapshot(app, runner, scored):
    runner.invoke(args=["award", "publish", "excellence-award"])
    snapshot = db.session.scalar(select(ResultSnapshot))
    edited = snapshot.document.replace('"rank":1,', '"rank":2,', 1)
    db.session.execute(text("UPDATE result_snapshot SET document = :d"), {"d": edited})
    db.session.commit()
    result = runner.invoke(args=["results", "excellence-award", "--verify"])
    assert result.exit_code == 1
    assert "no longer matches its own digest" in result.output


def rebuild_snapshot(award) -> str:
    """What someone with write access to the database does after changing scores: rebuild the
    snapshot document from them and store it with its own correct digest."""
    snapshot = db.session.scalar(select(ResultSnapshot))
    stored = json.loads(snapshot.document)
    fresh = publication.canonical(
        publication.document(
            award,
            published_at=stored["published_at"],
            version_=stored["app_version"],
            override_reason=stored["override_reason"],
        )
    )
    digest = hashlib.sha256(fresh.encode()).hexdigest()
    db.session.execute(
        text("UPDATE result_snapshot SET document = :d, digest = :h"), {"d": fresh, "h": digest}
    )
    db.session.commit()
    return digest


def test_results_verify_catches_a_snapshot_rebuilt_from_changed_scores(app, runner, scored):
    runner.invoke(args=["award", "publish", "excellence-award"])
    sealed = db.session.scalar(select(ResultSnapshot.digest))
    # The last-placed nominee's jurors give it top marks: it wins.
    last = db.session.scalars(select(Score).order_by(Score.value, Score.id)).all()
    db.session.execute(
        text("UPDATE score SET value = 10 WHERE evaluation_id = :e"), {"e": last[0].evaluation_id}
    )
    db.session.commit()
    rebuilt = rebuild_snapshot(scored)
    assert rebuilt != sealed
    result = runner.invoke(args=["results", "excellence-award", "--verify"])
    assert result.exit_code == 1, result.output
    assert f"sealed:     sha256:{sealed}" in result.output
    assert "not the one sealed in the audit chain at publication" in result.output
    assert "the scores are not those recorded when scoring closed" in result.output


def test_results_verify_catches_scores_changed_since_closing(app, runner, scored):
    """Scores changed between closing and publication: the sealed digest alone would not tell."""
    score = db.session.scalar(select(Score).where(Score.value < 10).limit(1))
    db.session.execute(text("UPDATE score SET value = 10 WHERE id = :id"), {"id": score.id})
    db.session.commit()
    runner.invoke(args=["award", "publish", "excellence-award", "--override-reason", "test"])
    result = runner.invoke(args=["results", "excellence-award", "--verify"])
    assert result.exit_code == 1, result.output
    assert "the scores are not those recorded when scoring closed" in result.output


def test_results_verify_fails_when_the_audit_chain_is_broken(app, runner, scored):
    runner.invoke(args=["award", "publish", "excellence-award"])
    db.session.execute(
        text("UPDATE audit_event SET payload = :p WHERE action = 'award.published'"),
        {"p": json.dumps({"digest": "0" * 64})},
    )
    db.session.commit()
    result = runner.invoke(args=["results", "excellence-award", "--verify"])
    assert result.exit_code == 1
    assert "the audit chain does not verify" in result.output


def test_publishing_refuses_an_open_award_and_blockers_without_a_reason(
    app, runner, scored, make_user, make_evaluation
):
    make_evaluation(scored.nominees[0], make_user(awards=[scored]), {"impact": 5})
    refused = runner.invoke(args=["award", "publish", "excellence-award"])
    assert refused.exit_code == 1 and "never submitted" in refused.output
    assert db.session.scalar(select(ResultSnapshot)) is None
    forced = runner.invoke(
        args=[
            "award",
            "publish",
            "excellence-award",
            "--override-reason",
            "The juror left the jury; the board agreed.",
        ]
    )
    assert forced.exit_code == 0
    document = json.loads(db.session.scalar(select(ResultSnapshot.document)))
    assert document["override_reason"] == "The juror left the jury; the board agreed."


def test_after_publication_scores_cannot_change(app, scored, logged_in):
    publication.publish(scored, actor=None)
    db.session.commit()
    client, _ = logged_in(awards=[scored])
    response = put_evaluation(client, draft(SCORES, submitted=True))
    assert response.status_code == 409


def admin_publish(client, **data):
    return client.post(
        "/admin/awards/excellence-award/publish",
        data={"csrf_token": csrf_token(client, "/admin/"), **data},
    )


def test_publishing_from_the_page_needs_a_fresh_login_and_a_confirmation(app, scored, logged_in):
    client, _ = logged_in(role="admin")
    page = client.get("/admin/awards/excellence-award/review").get_data(as_text=True)
    assert "Nothing stands in the way" in page
    unconfirmed = admin_publish(client)
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.get_data(as_text=True)
    with client.session_transaction() as session:
        session["authenticated_at"] = time.time() - 3600
    stale = admin_publish(client, confirm="y")
    assert stale.location.startswith("/reauthenticate")
    assert db.session.scalar(select(ResultSnapshot)) is None
    with client.session_transaction() as session:
        session["authenticated_at"] = time.time()
    done = admin_publish(client, confirm="y")
    assert done.location == "/awards/excellence-award/results"
    assert db.session.scalar(select(ResultSnapshot)) is not None


def test_results_are_public_only_once_published(app, client, scored, logged_in):
    assert client.get("/awards/excellence-award/results").status_code == 404
    assert "See the results" not in client.get("/awards/excellence-award").get_data(as_text=True)
    assert client.get("/api/v1/awards/excellence-award/results").status_code == 404
    admin, _ = logged_in(role="admin")
    provisional = admin.get("/api/v1/awards/excellence-award/results").json
    assert provisional["provisional"] is True and provisional["digest"] is None
    assert "Provisional, not published" in admin.get("/awards/excellence-award/results").get_data(
        as_text=True
    )

    snapshot = publication.publish(scored, actor=None)
    db.session.commit()
    published = client.get("/api/v1/awards/excellence-award/results").json
    assert published["provisional"] is False
    assert published["digest"] == snapshot.digest
    assert published["published_at"].endswith("Z")
    first = published["nominees"][0]
    assert {"rank", "slug", "title", "score", "tied"} <= set(first)
    page = client.get("/awards/excellence-award/results").get_data(as_text=True)
    assert first["title"].replace("’", "&#39;")[:10] in page.replace("’", "&#39;")
    assert f"sha256:{snapshot.digest[:16]}" in page
    # A nominee or visitor on the award's page finds the results from there.
    award_page = client.get("/awards/excellence-award").get_data(as_text=True)
    assert 'href="/awards/excellence-award/results">See the results</a>' in award_page


@pytest.fixture
def ledger(scored):
    for n in range(4):
        record_event("test.step", f"step:{n}", {"n": n}, actor=None)
    db.session.commit()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_audit_verify_names_the_first_broken_event(app, runner, ledger):
    assert "chain intact" in runner.invoke(args=["audit", "verify"]).output
    events = ledger
    db.session.execute(
        text("UPDATE audit_event SET payload = '{}' WHERE id = :id"), {"id": events[1].id}
    )
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[-1].id})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"broken at event {events[1].id}" in result.output


def test_audit_verify_catches_a_deleted_event(app, runner, ledger):
    events = ledger
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[1].id})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"broken at event {events[2].id}" in result.output
