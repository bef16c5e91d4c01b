"""The audit ledger is a hash chain: any edit of a past event is detectable."""

from sqlalchemy import select, update

from judging.extensions import db
from judging.models import AuditEvent
from judging.services.audit import GENESIS, first_broken_event, record_event


def ledger() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_events_are_chained(app, make_user):
    admin = make_user(role="admin")
    for n in range(3):
        record_event("test.step", f"step:{n}", {"n": n}, actor=admin)
    db.session.commit()
    events = ledger()
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    # A pseudonym, not the address: a hashed label can never be anonymised later.
    assert events[1].actor == f"user #{admin.id}"
    assert first_broken_event(events) is None


def test_an_edited_payload_breaks_the_chain_at_that_event(app):
    for n in range(4):
        record_event("test.step", f"step:{n}", {"n": n}, actor=None)
    db.session.commit()
    second = ledger()[1]
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == second.id).values(payload='{"n":99}')
    )
    db.session.commit()
    db.session.expire_all()
    assert first_broken_event(ledger()).id == second.id


def test_a_deleted_event_breaks_the_chain_after_it(app):
    for n in range(4):
        record_event("test.step", f"step:{n}", {"n": n}, actor=None)
    db.session.commit()
    events = ledger()
    db.session.delete(events[2])
    db.session.commit()
    assert first_broken_event(ledger()).id == events[3].id
