"""The audit ledger is a keyed hash chain: any edit, insertion, reordering or forged append is
detectable without the key, and a deleted tail by a checkpoint kept outside the database."""

import hashlib
import json
from datetime import datetime

import pytest
from sqlalchemy import select, text, update

from judging.extensions import db
from judging.models import AuditEvent
from judging.services.audit import (
    GENESIS,
    Checkpoint,
    checkpoint_path,
    first_broken_event,
    record_event,
)

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


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


# --- Someone who can write the database but does not hold the key --------------------------------
#
# Each attack below is done with SQL alone, as someone holding only the database file (or a
# database login) would do it, then `flask audit verify` runs through the real CLI.


def plain_sha256(row) -> str:
    """The hash the chain used before it was keyed: anyone can compute it."""
    content = {
        "at": row["at"].isoformat(timespec="microseconds"),
        "actor_id": row["actor_id"],
        "actor": row["actor"],
        "action": row["action"],
        "subject": row["subject"],
        "payload": row["payload"],
        "prev_hash": row["prev_hash"],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.fixture
def chain(app):
    """Five events, committed: the instance folder holds the checkpoint 5:<head>."""
    for n in range(5):
        record_event("test.step", f"step:{n}", {"n": n}, actor=None)
    db.session.commit()
    return ledger()


def verify(runner, *args):
    db.session.expire_all()
    result = runner.invoke(args=["audit", "verify", *args])
    return result.exit_code, result.output


def test_verify_passes_and_prints_the_head_as_a_checkpoint(app, runner, chain):
    code, output = verify(runner)
    assert code == 0, output
    assert "OK: 5 audit events, chain intact" in output
    assert f"checkpoint: 5:{chain[-1].hash}" in output
    assert checkpoint_path().read_text().strip() == f"5:{chain[-1].hash}"
    assert verify(runner, "--checkpoint", f"3:{chain[2].hash}")[0] == 0


def test_deleting_the_last_events_fails_verify(app, runner, chain):
    head = chain[-1].hash
    db.session.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": chain[3].id})
    db.session.commit()
    code, output = verify(runner)
    assert code == 1
    assert f"checkpoint 5:{head} names 5 events; the chain has only 3" in output


def test_events_written_after_a_deleted_tail_do_not_hide_it(app, runner, chain, caplog):
    """The app keeps writing after the tail was deleted, more events than were deleted: the
    checkpoint that names the deleted ones stays, and verify still fails."""
    head = chain[-1].hash
    db.session.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": chain[3].id})
    db.session.commit()
    for n in range(4):
        record_event("test.after", f"after:{n}", {}, actor=None)
        db.session.commit()
    assert checkpoint_path().read_text().strip() == f"5:{head}"
    assert "no longer holds the checkpoint" in caplog.text
    code, output = verify(runner)
    assert code == 1
    assert f"checkpoint 5:{head}: event number 5 of the chain has another hash" in output


def test_a_checkpoint_kept_elsewhere_catches_a_deleted_tail(app, runner, chain):
    """The instance folder's copy is gone too (another host, a lost disk): the operator's holds."""
    kept = verify(runner)[1].split("checkpoint: ")[1].split()[0]
    checkpoint_path().unlink()
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": chain[-1].id})
    db.session.commit()
    assert verify(runner)[0] == 0  # nothing else left to compare with
    code, output = verify(runner, "--checkpoint", kept)
    assert code == 1 and "the chain has only 4" in output


def insert_event(values: dict) -> None:
    columns = ", ".join(values)
    db.session.execute(
        text(f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + c for c in values)})"),
        values,
    )
    db.session.commit()


@pytest.mark.parametrize("scheme", [None, "hmac-sha256"])
def test_appending_an_event_with_a_correct_sha256_fails_verify(app, runner, chain, scheme):
    head = chain[-1]
    forged = {
        "at": head.at,
        "actor_id": None,
        "actor": "system",
        "action": "award.published",
        "subject": "award:forged",
        "payload": '{"digest":"0"}',
        "prev_hash": head.hash,
    }
    if scheme:  # else left out, NULL: what the code before the keyed chain wrote
        forged.update(scheme=scheme, seq=6)
    forged["hash"] = plain_sha256(forged)
    insert_event(forged)
    code, output = verify(runner)
    assert code == 1
    assert "broken at event" in output
    reason = "unkeyed event after keyed ones" if scheme is None else "does not match its hash"
    assert reason in output


def rows() -> list[dict]:
    return [
        dict(r._mapping)
        for r in db.session.execute(text("SELECT * FROM audit_event ORDER BY id")).all()
    ]


def rewrite(rows_: list[dict], start: int) -> None:
    """Recompute every hash from rows_[start] on, as an attacker without the key can."""
    db.session.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": rows_[start]["id"]})
    prev = rows_[start - 1]["hash"] if start else "0" * 64
    for row in rows_[start:]:
        row = {**row, "prev_hash": prev}
        row.update({c: None for c in ("scheme", "seq") if c in row})
        if isinstance(row["at"], str):  # SQLite hands back text
            row["at"] = datetime.fromisoformat(row["at"])
        row["hash"] = prev = plain_sha256(row)
        insert_event(row)


def test_editing_an_event_and_rehashing_every_later_one_fails_verify(app, runner, chain):
    edited = rows()
    edited[1]["payload"] = '{"n":99}'
    rewrite(edited, 1)
    code, output = verify(runner)
    assert code == 1 and f"broken at event {chain[1].id}" in output


def test_rewriting_the_whole_chain_without_the_key_fails_verify(app, runner, chain):
    edited = rows()
    edited[0]["payload"] = '{"n":99}'
    rewrite(edited, 0)  # a consistent all-SHA-256 chain from the start, as before the upgrade
    code, output = verify(runner)
    assert code == 1 and "not sealed" in output


def test_reordering_events_fails_verify(app, runner, chain):
    second, third = rows()[1:3]
    fields = [
        f for f in ("at", "action", "subject", "payload", "prev_hash", "hash", "seq") if f in second
    ]
    db.session.execute(
        text("UPDATE audit_event SET prev_hash = 'x', hash = 'y' WHERE id = :id"), second
    )
    for target, source in ((third, second), (second, third)):
        db.session.execute(
            text(
                "UPDATE audit_event SET "
                + ", ".join(f"{f} = :{f}" for f in fields)
                + " WHERE id = :target"
            ),
            {**{f: source[f] for f in fields}, "target": target["id"]},
        )
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"broken at event {chain[1].id}" in output


def test_inserting_an_event_fails_verify(app, runner, chain):
    before, after = rows()[1:3]
    db.session.execute(
        text("UPDATE audit_event SET id = id + 1000 WHERE id >= :id"), {"id": after["id"]}
    )
    forged = {
        "id": after["id"],
        "at": chain[1].at,
        "actor_id": None,
        "actor": "system",
        "action": "award.close_scoring",
        "subject": "award:x",
        "payload": "{}",
        "prev_hash": before["hash"],
    }
    forged["hash"] = plain_sha256(forged)
    db.session.execute(
        text("UPDATE audit_event SET prev_hash = :h WHERE id = :id"),
        {"h": forged["hash"], "id": after["id"] + 1000},
    )
    insert_event(forged)
    code, output = verify(runner)
    assert code == 1 and f"broken at event {after['id']}" in output


def test_the_chain_is_keyed_by_a_secret_not_in_the_database(app, chain, make_app):
    """Another SECRET_KEY (or AUDIT_KEY) cannot verify it: the key is what the hash depends on."""

    def verify_with(**config):
        other = make_app(**config)
        with other.app_context():
            return other.test_cli_runner().invoke(args=["audit", "verify"])

    assert verify_with().exit_code == 0
    refused = verify_with(SECRET_KEY="another-secret-key")
    assert refused.exit_code == 1
    assert "the audit key is not the one it was written with" in refused.output
    assert verify_with(AUDIT_KEY="a-dedicated-audit-key").exit_code == 1


def test_a_rolled_back_event_never_becomes_the_checkpoint(app, runner, chain):
    record_event("test.step", "step:rolled-back", {}, actor=None)
    db.session.rollback()
    assert checkpoint_path().read_text().strip() == f"5:{chain[-1].hash}"
    assert verify(runner)[0] == 0


def test_after_a_rolled_back_batch_the_next_event_chains_to_the_committed_head(app, runner, chain):
    # A transaction that appends several events knows its head after the first; a rollback
    # must leave the next transaction reading the real head again.
    for n in range(3):
        record_event("test.step", f"step:batch-{n}", {}, actor=None)
    db.session.rollback()
    record_event("test.step", "step:after", {}, actor=None)
    record_event("test.step", "step:after-2", {}, actor=None)
    db.session.commit()
    events = ledger()
    assert [e.seq for e in events] == list(range(1, 8))
    assert events[5].prev_hash == chain[-1].hash
    assert verify(runner)[0] == 0


def test_a_malformed_checkpoint_is_refused_with_a_clear_message(app, runner, chain):
    code, output = verify(runner, "--checkpoint", "5:nothex")
    assert code == 2
    assert "expected COUNT:HASH" in output
    assert Checkpoint.parse(f" 5:{chain[-1].hash}\n") == Checkpoint(5, chain[-1].hash)
