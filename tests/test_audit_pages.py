"""The audit log page for administrators, and a juror's own evaluation history."""

from sqlalchemy import text

from judging.extensions import db
from judging.services.audit import record_event

from .fixtures.domain import log_in
from .fixtures.scoring import draft, put_evaluation


def test_the_audit_page_lists_filters_and_checks_the_chain(app, logged_in):
    for n in range(3):
        record_event("test.step", f"step:{n}", {"n": n}, actor=None)
    record_event("award.created", "award:other", {}, actor=None)
    db.session.commit()
    client, _ = logged_in(role="admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "the chain is <strong>intact</strong>" in page
    assert page.count("<code>test.step</code>") == 3
    filtered = client.get("/admin/audit?action=award.").get_data(as_text=True)
    assert "<code>test.step</code>" not in filtered and "award:other" in filtered

    db.session.execute(
        text("UPDATE audit_event SET payload = '{\"n\": 9}' WHERE subject = 'step:1'")
    )
    db.session.commit()
    assert "The chain is broken at event" in client.get("/admin/audit").get_data(as_text=True)


def test_a_juror_sees_every_saved_version_of_their_own_evaluation(
    app, logged_in, make_user, seeded_award
):
    seeded_award.status = "scoring"
    db.session.commit()
    client, _ = logged_in(awards=[seeded_award])
    first = put_evaluation(client, draft({"impact": 3})).json
    put_evaluation(client, draft({"impact": 8}, version=first["version"]))
    page = client.get("/jury/awards/excellence-award/nominees/gaming-club/history").get_data(
        as_text=True
    )
    assert page.index('<td class="num">8</td>') < page.index('<td class="num">3</td>')
    other = app.test_client()
    log_in(other, make_user(awards=[seeded_award]))
    assert '<td class="num">8</td>' not in other.get(
        "/jury/awards/excellence-award/nominees/gaming-club/history"
    ).get_data(as_text=True)


def test_the_audit_page_shows_a_deleted_tail_and_the_unkeyed_count(app, logged_in):
    for n in range(3):
        record_event("test.step", f"step:{n}", {"n": n}, actor=None)
    db.session.commit()
    client, _ = logged_in(role="admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "the chain is <strong>intact</strong> (3 events; checkpoint <code>3:" in page

    db.session.execute(text("DELETE FROM audit_event WHERE subject = 'step:2'"))
    db.session.commit()
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "does not match its checkpoint" in page
    assert "names 3 events; the chain has only 2: events were deleted" in page
