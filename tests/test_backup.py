"""Backups: `flask backup PATH` then `flask restore PATH` bring back a scored, published award
whose results still verify against the same digest and whose audit chain still holds.

Each test has a database of its own (SQLite file or PostgreSQL database), since it destroys it.
"""

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from judging import create_app
from judging.extensions import db
from judging.models import AuditEvent, Base, Evaluation, Score, User
from judging.services import demo, publication
from judging.services.audit import record_event
from judging.services.awards import award_by_slug, transition
from judging.services.seeding import read_shortlist, seed_shortlist

from .fixtures.app import FAST_ARGON2
from .fixtures.domain import SHORTLIST

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


@pytest.fixture
def make_published(fresh_database_url, tmp_path):
    """make_published(engine): an app on a database of its own holding the Excellence Award,
    scored by the demo jury, closed and published."""
    made = []

    def make(engine: str):
        app = create_app(
            {
                "SECRET_KEY": "test-secret-key",
                "SQLALCHEMY_DATABASE_URI": fresh_database_url(engine),
                **FAST_ARGON2,
            },
            instance_path=str(tmp_path / "instance"),
        )
        context = app.app_context()
        context.push()
        made.append(context)
        Base.metadata.create_all(db.engine)
        report = seed_shortlist(read_shortlist(SHORTLIST), actor=None)
        award = award_by_slug(report.award)
        transition(award, "open_scoring", actor=None)
        demo.add_demo_data(award)
        transition(award, "close_scoring", actor=None)
        publication.publish(award, actor=None, override_reason="Backup test: demo scores.")
        db.session.commit()
        app.award_slug = award.slug
        return app

    yield make
    for context in made:
        db.session.remove()
        db.engine.dispose()
        context.pop()


@pytest.fixture
def published(database_url, make_published):
    """The published award on the engine of this run (SQLite, then PostgreSQL)."""
    return make_published(make_url(database_url).get_backend_name())


def cli(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def digest(app) -> str:
    code, output = cli(app, "results", app.award_slug, "--verify")
    assert code == 0, output
    assert "OK: the published results match the stored scores" in output
    return re.search(r"published:\s+sha256:([0-9a-f]{64})", output).group(1)


def audit_ok(app) -> str:
    code, output = cli(app, "audit", "verify")
    assert code == 0, output
    return output


def row_counts() -> dict[str, int]:
    db.session.remove()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def destroy(app) -> None:
    """Lose the database: drop every table (PostgreSQL) or delete the file (SQLite)."""
    db.session.remove()
    if db.engine.dialect.name == "sqlite":
        db.engine.dispose()
        path = Path(db.engine.url.database)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
    else:
        Base.metadata.drop_all(db.engine)
        db.engine.dispose()


def test_backup_destroy_restore_gives_the_same_results_and_audit_chain(published, tmp_path):
    app = published
    before_digest = digest(app)
    path = tmp_path / "judging.backup"
    code, output = cli(app, "backup", str(path))
    assert code == 0, output
    assert f"to {path}" in output and path.stat().st_size > 10_000
    counts = row_counts()
    assert counts["score"] > 500 and counts["result_snapshot"] == 1
    # The backup notes itself in the audit log, inside the backup.
    assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)) == (
        "backup.made"
    )
    chain = audit_ok(app)

    destroy(app)
    with pytest.raises(Exception):  # noqa: B017 - the database really is gone
        db.session.scalar(select(func.count()).select_from(Score))
    db.session.remove()

    code, output = cli(app, "restore", str(path), "--yes")
    assert code == 0, output
    assert digest(app) == before_digest
    assert audit_ok(app) == chain  # same number of events, intact
    assert row_counts() == counts


def test_restoring_an_older_backup_sets_the_newer_audit_checkpoint_aside(published, tmp_path):
    """The events after the backup are gone on purpose: verify passes, and the checkpoint that
    named them is kept beside, not deleted."""
    app = published
    path = tmp_path / "judging.backup"
    assert cli(app, "backup", str(path))[0] == 0
    record_event("award.published", "award:another", {}, actor=None)  # a checkpoint event
    db.session.commit()
    newer = (tmp_path / "instance" / "audit_checkpoint").read_text()

    code, output = cli(app, "restore", str(path), "--yes")
    assert code == 0, output
    assert "the audit checkpoint names events the backup does not hold" in output
    assert "chain intact" in audit_ok(app)
    (aside,) = (tmp_path / "instance").glob("audit_checkpoint.before-restore-*")
    assert aside.read_text() == newer


def test_restore_asks_first_and_changes_nothing_when_refused(published, tmp_path):
    app = published
    path = tmp_path / "judging.backup"
    assert cli(app, "backup", str(path))[0] == 0
    db.session.add(User(email="after-backup@example.org", name="Late", role="juror"))
    db.session.commit()

    code, output = cli(app, "restore", str(path), input="n\n")
    assert code != 0
    assert "Replace the whole" in output and "nothing was restored" in output
    db.session.remove()
    assert db.session.scalar(select(User.id).where(User.email == "after-backup@example.org"))

    code, output = cli(app, "restore", str(path), input="y\n")
    assert code == 0, output
    db.session.remove()
    assert not db.session.scalar(select(User.id).where(User.email == "after-backup@example.org"))


def test_restore_refuses_a_file_that_is_not_a_backup_of_this_engine(published, tmp_path):
    app = published
    engine = db.engine.dialect.name
    other = tmp_path / "other.backup"
    if engine == "sqlite":
        other.write_bytes(b"PGDMP\x01\x0f\x00" + b"\x00" * 100)
        expected = "is a backup of a PostgreSQL database; this app runs on SQLite"
    else:
        sqlite3.connect(other).execute("CREATE TABLE award (id INTEGER)").connection.close()
        expected = "is a backup of a SQLite database; this app runs on PostgreSQL"
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n")
    foreign = tmp_path / "foreign.backup"
    if engine == "sqlite":
        connection = sqlite3.connect(foreign)
        connection.execute("CREATE TABLE award (id INTEGER)")
        connection.commit()
        connection.close()
    else:
        foreign = None  # a pg_dump of another app would need another database; SQLite covers it
    before = row_counts()
    before_digest = digest(app)

    code, output = cli(app, "restore", str(other), "--yes")
    assert code != 0 and expected in output and "Nothing was changed" in output
    code, output = cli(app, "restore", str(notes), "--yes")
    assert code != 0 and "is not a backup" in output
    code, output = cli(app, "restore", str(tmp_path / "missing.backup"), "--yes")
    assert code != 0 and "There is no file" in output
    if foreign:
        code, output = cli(app, "restore", str(foreign), "--yes")
        assert code != 0 and "not a backup of this app" in output and "audit_event" in output
    assert row_counts() == before
    assert digest(app) == before_digest


def test_a_failed_backup_leaves_no_file_and_is_recorded(published, tmp_path):
    app = published
    path = tmp_path / "no-such-directory" / "judging.backup"
    code, output = cli(app, "backup", str(path))
    assert code != 0 and "no backup was made" in output
    assert not path.exists() and not list(tmp_path.glob("**/*.partial"))
    db.session.remove()
    last = db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))
    assert last == "backup.failed"


def test_sqlite_backup_taken_while_a_writer_is_busy_is_consistent(make_published, tmp_path):
    """A writer rewrites all of one evaluation's scores in each transaction, slowly; every
    backup taken meanwhile holds all old or all new values, never a mix, and verifies.
    (SQLite only: pg_dump reads one snapshot by design.)"""
    app = make_published("sqlite")
    evaluation_id = db.session.scalar(select(Evaluation.id).order_by(Evaluation.id).limit(1))
    database = db.engine.url.database
    db.session.remove()
    stop, commits, errors = threading.Event(), [0], []

    def writer():
        connection = sqlite3.connect(database, timeout=30, isolation_level=None)
        try:
            value = 1
            while not stop.is_set():
                value = 11 - value  # 1, 10, 1, 10...
                connection.execute("BEGIN IMMEDIATE")
                ids = [
                    r[0]
                    for r in connection.execute(
                        "SELECT id FROM score WHERE evaluation_id = ?", (evaluation_id,)
                    )
                ]
                for score_id in ids:
                    connection.execute("UPDATE score SET value = ? WHERE id = ?", (value, score_id))
                    time.sleep(0.002)  # a wide window for a torn copy
                connection.execute("COMMIT")
                commits[0] += 1
                time.sleep(0.01)  # let the backup's own audit note in between
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not commits[0] and not errors:  # from now on the scores are all 1 or all 10
            time.sleep(0.01)
        seen = set()
        for n in range(6):
            path = tmp_path / f"busy-{n}.backup"
            code, output = cli(app, "backup", str(path))
            assert code == 0, output
            copy = sqlite3.connect(path)
            values = {
                v
                for (v,) in copy.execute(
                    "SELECT value FROM score WHERE evaluation_id = ?", (evaluation_id,)
                )
            }
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            copy.close()
            assert values in ({1}, {10}), f"backup {n} holds a half-written evaluation: {values}"
            seen |= values
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert commits[0] >= 3, "the writer barely ran: the test proved nothing"
    # A restored busy backup still verifies its audit chain.
    db.session.remove()
    assert cli(app, "restore", str(tmp_path / "busy-5.backup"), "--yes")[0] == 0
    audit_ok(app)


def test_the_admin_is_told_to_back_up_before_closing_and_publishing(app, client, logged_in, award):
    """The confirmation for closing scoring and the publish form name the backup command,
    and the time of the last backup once one is recorded."""
    admin_client, _admin = logged_in(role="admin")
    token = re.search(
        r'name="csrf-token" content="([^"]+)"',
        admin_client.get(f"/admin/awards/{award.slug}").get_data(as_text=True),
    ).group(1)
    page = admin_client.post(
        f"/admin/awards/{award.slug}/close_scoring", data={"csrf_token": token}
    ).get_data(as_text=True)
    assert "Make a backup before you close scoring" in page
    assert "flask --app wsgi backup PATH" in page
    assert "No backup has been recorded" in page

    from judging.services.backup import record_backup

    record_backup("/var/backups/judging-1.backup", actor=None)
    db.session.commit()
    admin_client.post(
        f"/admin/awards/{award.slug}/close_scoring", data={"csrf_token": token, "confirmed": "yes"}
    )
    page = admin_client.get(f"/admin/awards/{award.slug}/review").get_data(as_text=True)
    assert "Make a backup before you publish" in page
    assert "flask --app wsgi backup PATH" in page
    assert "Last backup:" in page and "/var/backups/judging-1.backup" in page
