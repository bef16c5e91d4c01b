"""The audit log page for administrators, and a juror's own evaluation history."""

from sqlalchemy import text

from judging.extensions import db
from judging.services import audit_verification
from judging.services.audit import record_event

from .fixtures.domain import csrf_token, log_in, text_of
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


def test_a_long_chain_is_verified_on_demand_and_the_page_says_how_old_that_is(
    app, logged_in, monkeypatch
):
    monkeypatch.setattr(
        audit_verification, "VERIFY_ON_VIEW", 2
    )  # a "long" chain: more than 2 events
    for n in range(3):
        record_event("test.step", f"step:{n}", {"n": n}, actor=None)
    db.session.commit()
    client, _ = logged_in(role="admin")
    page = text_of(client.get("/admin/audit"))
    assert "has not been verified on this server yet" in page and "intact" not in page
    assert "Verify the chain now" in page

    # The button needs the form's token; with it, the whole chain is verified now.
    assert client.post("/admin/audit/verify").status_code == 400
    token = csrf_token(client, "/admin/audit")
    done = client.post("/admin/audit/verify", data={"csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/audit"
    page = text_of(client.get("/admin/audit"))
    assert "The chain is intact: all 3 events verified just now." in page
    assert "When last verified" in page and "the chain was intact (3 events; checkpoint 3:" in page

    # Later events are not claimed: the page says they are not verified yet.
    record_event("test.step", "step:3", {"n": 3}, actor=None)
    db.session.commit()
    page = text_of(client.get("/admin/audit"))
    assert "The 1 events recorded since are not verified yet" in page

    # A past event changed since: the plain view cannot know, the next verification says so.
    db.session.execute(
        text("UPDATE audit_event SET payload = '{\"n\": 9}' WHERE subject = 'step:1'")
    )
    db.session.commit()
    assert "The chain is broken" not in text_of(client.get("/admin/audit"))
    client.post("/admin/audit/verify", data={"csrf_token": token})
    page = text_of(client.get("/admin/audit"))
    assert "The chain does not verify" in page and "The chain is broken at event" in page
    assert "Found by the verification of" in page


def test_a_short_chain_is_verified_on_every_view_and_the_outcome_is_kept(app, logged_in):
    record_event("test.step", "step:0", {"n": 0}, actor=None)
    db.session.commit()
    client, _ = logged_in(role="admin")
    page = text_of(client.get("/admin/audit"))
    assert "the chain is intact (1 events" in page and "Verify the chain now" not in page
    with app.test_request_context():
        kept = audit_verification.last_verification()
    assert kept is not None and kept.ok and kept.count == 1
