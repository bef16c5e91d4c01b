"""The Alembic revisions build exactly the schema the models describe, on every engine."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from judging import create_app
from judging.extensions import db
from judging.models import Base

from .fixtures.engines import ENGINES

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


@pytest.fixture(params=ENGINES)
def empty_app(request, fresh_database_url, tmp_path):
    app = create_app(
        {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": fresh_database_url(request.param)},
        instance_path=str(tmp_path),
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_upgrade_from_empty_matches_the_models(empty_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_downgrade_to_base_removes_every_table(empty_app):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_each_revision_upgrades_a_database_holding_data(empty_app):
    """New NOT NULL columns must fill in existing rows (the seeded award, at least)."""
    from sqlalchemy import text

    upgrade(revision="0004")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO award (slug, title, description, status, aggregation_method, quorum,"
                " jury_weight, vote_weight, created_at)"
                " VALUES ('a', 'A', '', 'draft', 'mean', 3, 100, 0, '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO nominee (award_id, slug, title, organisation, city, country, summary,"
                " position) SELECT id, 'n', 'N', 'O', 'C', 'X', '', 0 FROM award"
            )
        )
    upgrade()
    with db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT blind, assignment_mode, require_comment FROM award")
        ).one()
        assert (bool(row.blind), row.assignment_mode, bool(row.require_comment)) == (
            True,
            "all",
            False,
        )
        # The award's nominee survived SQLite's copy-and-drop of the award table.
        assert connection.execute(text("SELECT withdrawn_reason FROM nominee")).all() == [("",)]


def legacy_sha256(row) -> str:
    """How 0008's code hashed an event (a frozen copy): plain SHA-256, no key."""
    import hashlib
    import json

    content = {
        "at": row["at"].isoformat(timespec="microseconds"),
        **{k: row[k] for k in ("actor_id", "actor", "action", "subject", "payload", "prev_hash")},
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _events(connection) -> list[dict]:
    from datetime import datetime

    from sqlalchemy import text

    rows = [
        dict(r._mapping)
        for r in connection.execute(text("SELECT * FROM audit_event ORDER BY id")).all()
    ]
    for row in rows:
        if isinstance(row["at"], str):  # SQLite hands back text
            row["at"] = datetime.fromisoformat(row["at"])
    return rows


def _insert_event(connection, row: dict) -> None:
    from sqlalchemy import text

    names = [c for c in row if c != "id"]
    connection.execute(
        text(
            f"INSERT INTO audit_event ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + c for c in names)})"
        ),
        {c: row[c] for c in names},
    )


def published_the_old_way(app) -> str:
    """A database at 0008 holding a published award and its SHA-256 chain, as 0008's code
    left it: built with today's code, then every event rewritten the way 0008 hashed it."""
    from sqlalchemy import text

    from judging.services import demo, publication
    from judging.services.awards import award_by_slug, transition
    from judging.services.seeding import read_shortlist, seed_shortlist

    from .fixtures.domain import SHORTLIST

    upgrade()
    report = seed_shortlist(read_shortlist(SHORTLIST), actor=None)
    award = award_by_slug(report.award)
    transition(award, "open_scoring", actor=None)
    demo.add_demo_data(award)
    transition(award, "close_scoring", actor=None)
    publication.publish(award, actor=None, override_reason="Migration test: demo scores.")
    db.session.commit()
    slug = award.slug
    db.session.remove()
    with db.engine.begin() as connection:
        rows = [r for r in _events(connection) if r["action"] != "audit.sealed"]
        connection.execute(text("DELETE FROM audit_event"))
        prev = "0" * 64
        for row in rows:
            row.update(prev_hash=prev, scheme=None, seq=None)
            row["hash"] = prev = legacy_sha256(row)
            _insert_event(connection, row)
    downgrade(revision="0008")
    return slug


def cli(app, *args):
    db.session.remove()
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_upgrading_keys_the_chain_and_published_results_still_verify(empty_app, tmp_path):
    from sqlalchemy import text

    slug = published_the_old_way(empty_app)
    with db.engine.begin() as connection:  # 0008's code writes one more event, the old way
        head = _events(connection)[-1]
        later = {**head, "action": "test.old", "subject": "x", "payload": "{}"}
        later["prev_hash"] = head["hash"]
        later["hash"] = legacy_sha256(later)
        _insert_event(connection, later)
        legacy = len(_events(connection))
    upgrade()

    code, output = cli(empty_app, "audit", "verify")
    assert code == 0, output
    assert f"OK: {legacy + 1} audit events ({legacy} unkeyed" in output
    assert (tmp_path / "audit_checkpoint").read_text().startswith(f"{legacy + 1}:")
    code, output = cli(empty_app, "results", slug, "--verify")
    assert code == 0, output
    assert "the scores match the digest recorded at closing" in output

    # Still with the database only: a legacy-style event appended, then one edited and the
    # whole SHA-256 prefix rehashed. Each fails.
    with db.engine.begin() as connection:
        head = _events(connection)[-1]
        forged = {**head, "action": "test.forged", "scheme": None, "seq": None}
        forged["prev_hash"] = head["hash"]
        forged["hash"] = legacy_sha256(forged)
        _insert_event(connection, forged)
    code, output = cli(empty_app, "audit", "verify")
    assert code == 1 and "unkeyed and not sealed" in output
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE action = 'test.forged'"))
        rows = _events(connection)
        connection.execute(text("DELETE FROM audit_event"))
        rows[1]["payload"] = "{}"
        prev = "0" * 64
        for row in rows[:legacy]:
            row["prev_hash"] = prev
            row["hash"] = prev = legacy_sha256(row)
            _insert_event(connection, row)
        for row in rows[legacy:]:
            _insert_event(connection, row)
    code, output = cli(empty_app, "audit", "verify")
    assert code == 1 and "(audit.sealed," in output  # the seal no longer covers the prefix
    code, output = cli(empty_app, "results", slug, "--verify")
    assert code == 1 and "the audit chain does not verify" in output


def test_events_the_old_release_writes_during_the_upgrade_are_sealed_then_refused(empty_app):
    from judging.services.audit import record_event

    published_the_old_way(empty_app)
    upgrade()

    def old_release_writes(action):
        with db.engine.begin() as connection:
            head = _events(connection)[-1]
            row = {**head, "action": action, "scheme": None, "seq": None}
            row["prev_hash"] = head["hash"]
            row["hash"] = legacy_sha256(row)
            _insert_event(connection, row)

    old_release_writes("test.during-upgrade")
    code, output = cli(empty_app, "audit", "verify")
    assert code == 1 and "the last 1 event(s) are unkeyed and not sealed" in output
    record_event("test.new-release", "x", {}, actor=None)  # the first write of the new code
    db.session.commit()
    code, output = cli(empty_app, "audit", "verify")
    assert code == 0, output
    old_release_writes("test.forged-later")  # from now on, an unkeyed event is a forgery
    record_event("test.new-release", "y", {}, actor=None)
    db.session.commit()
    code, output = cli(empty_app, "audit", "verify")
    assert code == 1 and "an unkeyed event after keyed ones" in output


def test_at_0011_the_outbox_table_comes_and_goes_and_keeps_no_dangling_account(empty_app):
    """A new table only: the accounts already there stay as they were; a message to an account
    that is deleted keeps its row, without the account."""
    from sqlalchemy import text

    upgrade(revision="0010")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO user_account (email, name, role, active, created_at,"
                " session_version) VALUES ('jo@example.org', 'Jo', 'juror', true,"
                " '2026-01-01', 1)"
            )
        )
    upgrade()
    with db.engine.begin() as connection:
        user_id = connection.execute(text("SELECT id FROM user_account")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO outgoing_mail (kind, user_id, recipient, recipient_domain, subject,"
                " message, status, attempts, created_at, next_attempt_at) VALUES ('reminder',"
                " :user, 'jo@example.org', 'example.org', 'Reminder', :message, 'queued', 0,"
                " '2026-01-01', '2026-01-01')"
            ),
            {"user": user_id, "message": b"To: jo@example.org\n\nHello"},
        )
        connection.execute(text("DELETE FROM user_account"))
        row = connection.execute(text("SELECT user_id, message FROM outgoing_mail")).one()
        assert row.user_id is None and bytes(row.message).endswith(b"Hello")
    downgrade(revision="0010")
    assert "outgoing_mail" not in inspect(db.engine).get_table_names()


def test_at_0012_the_outbox_takes_reset_requests_and_keeps_its_messages(empty_app):
    """Only the kinds change: a queued message survives SQLite's copy of the table, a request
    row fits after the upgrade and not before, and a downgrade deletes the request rows."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    def insert(connection, kind: str) -> None:
        connection.execute(
            text(
                "INSERT INTO outgoing_mail (kind, recipient, recipient_domain, subject, message,"
                " status, attempts, created_at, next_attempt_at) VALUES (:kind,"
                " 'jo@example.org', 'example.org', 'S', :message, 'queued', 0, '2026-01-01',"
                " '2026-01-01')"
            ),
            {"kind": kind, "message": None if kind == "reset_request" else b"Hello"},
        )

    upgrade(revision="0011")
    with db.engine.begin() as connection:
        insert(connection, "reminder")
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        insert(connection, "reset_request")
    upgrade()
    with db.engine.begin() as connection:
        insert(connection, "reset_request")
        kinds = connection.execute(text("SELECT kind FROM outgoing_mail ORDER BY id")).all()
        assert [k for (k,) in kinds] == ["reminder", "reset_request"]
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        insert(connection, "no_such_kind")
    downgrade(revision="0011")
    with db.engine.begin() as connection:
        rows = connection.execute(text("SELECT kind, message FROM outgoing_mail")).all()
        assert [(kind, bytes(message)) for kind, message in rows] == [("reminder", b"Hello")]
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        insert(connection, "reset_request")


def test_at_0010_awards_past_draft_or_seeded_stay_public_and_admin_drafts_do_not(empty_app):
    """What was visible for a reason stays visible: awards past draft, and awards a seed file
    loaded (the shipped one); a draft only made in the admin pages was listed by mistake."""
    from sqlalchemy import text

    upgrade(revision="0008")
    with db.engine.begin() as connection:
        for slug, status in [
            ("seeded", "draft"),
            ("admin-draft", "draft"),
            ("scoring", "scoring"),
            ("published", "published"),
        ]:
            connection.execute(
                text(
                    "INSERT INTO award (slug, title, description, status, aggregation_method,"
                    " quorum, jury_weight, vote_weight, created_at, require_comment, blind,"
                    " assignment_mode, live_tally, online_vote)"
                    " VALUES (:slug, :slug, '', :status, 'mean', 3, 100, 0, '2026-01-01',"
                    " false, true, 'all', false, false)"
                ),
                {"slug": slug, "status": status},
            )
        for n, (action, subject) in enumerate(
            [("award.seeded", "award:seeded"), ("award.created", "award:admin-draft")]
        ):
            connection.execute(
                text(
                    "INSERT INTO audit_event (at, actor, action, subject, payload, prev_hash,"
                    " hash) VALUES ('2026-01-01', 'system', :action, :subject, '{}', :prev,"
                    " :hash)"
                ),
                {
                    "action": action,
                    "subject": subject,
                    "prev": str(n) * 64,
                    "hash": "h" * 63 + str(n),
                },
            )
    upgrade()
    with db.engine.connect() as connection:
        public = dict(connection.execute(text("SELECT slug, public FROM award")).all())
    assert {slug: bool(value) for slug, value in public.items()} == {
        "seeded": True,
        "admin-draft": False,
        "scoring": True,
        "published": True,
    }
    downgrade(revision="0009")
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM award")).scalar() == 4
