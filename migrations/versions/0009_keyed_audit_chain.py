"""Keyed audit chain: a scheme per event, and a seal over the events written before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Reviewed by hand. Two nullable columns. audit_event.scheme: NULL for every existing event (a plain
SHA-256 link, as before) and for any event the previous release writes while the upgrade runs;
"hmac-sha256" for events the new code writes, whose hash is an HMAC under the audit key.
audit_event.seq: a keyed event's position in the chain (1, 2...), under its HMAC.

Then a keyed `audit.sealed` event is appended. Its payload names how many unkeyed events there
are and the hash of the last one, and its HMAC covers that link: from here on, editing or adding
an unkeyed event breaks the chain. The key comes from the app's configuration (AUDIT_KEY, else
derived from SECRET_KEY): run `flask db upgrade` with the production environment. The seal's
checkpoint (count:hash) is written to instance/audit_checkpoint and logged.

The hashing below is a frozen copy of judging/services/audit.py's, as it was for this revision;
tests/test_migrations.py proves that the app verifies what it writes. Downgrading removes the
seal and every keyed event's scheme with the column: keyed events would no longer verify, so
downgrading refuses once keyed events other than the seal exist.
"""

import hashlib
import hmac
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op
from flask import current_app

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

KEYED = "hmac-sha256"
GENESIS = "0" * 64

audit_event = sa.table(
    'audit_event',
    sa.column('id', sa.Integer),
    sa.column('at', sa.DateTime),
    sa.column('actor_id', sa.Integer),
    sa.column('actor', sa.String),
    sa.column('action', sa.String),
    sa.column('subject', sa.String),
    sa.column('payload', sa.Text),
    sa.column('prev_hash', sa.String),
    sa.column('hash', sa.String),
    sa.column('scheme', sa.String),
    sa.column('seq', sa.Integer),
)


def _key() -> bytes:
    config = current_app.config
    if config.get("AUDIT_KEY"):
        return config["AUDIT_KEY"].encode()
    return hmac.new(
        config["SECRET_KEY"].encode(), b"judging audit chain v1", hashlib.sha256
    ).digest()


def _mac(row: dict, key: bytes) -> str:
    content = {
        "at": row["at"].isoformat(timespec="microseconds"),
        "actor_id": row["actor_id"],
        "actor": row["actor"],
        "action": row["action"],
        "subject": row["subject"],
        "payload": row["payload"],
        "prev_hash": row["prev_hash"],
        "scheme": row["scheme"],
        "seq": row["seq"],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def _write_checkpoint(count: int, head: str) -> None:
    path = Path(current_app.instance_path) / "audit_checkpoint"
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".audit_checkpoint.{os.getpid()}")
    candidate.write_text(f"{count}:{head}\n")
    os.replace(candidate, path)
    logging.getLogger("judging.services.audit").info(
        "audit checkpoint %s:%s (keep a copy away from this server)", count, head
    )


def upgrade():
    if context.is_offline_mode():
        raise RuntimeError("0009 seals the audit chain with the app's key: run it online")
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        # The app's ledger lock, before the table's: no append until the seal is committed.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7340202)"))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheme', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))

    count = connection.scalar(sa.select(sa.func.count()).select_from(audit_event))
    head = connection.scalar(
        sa.select(audit_event.c.hash).order_by(audit_event.c.id.desc()).limit(1)
    )
    seal = {
        "at": datetime.now(UTC).replace(tzinfo=None),
        "actor_id": None,
        "actor": "system",
        "action": "audit.sealed",
        "subject": "audit",
        "payload": json.dumps(
            {"legacy_events": count, "legacy_head": head or GENESIS},
            sort_keys=True,
            separators=(",", ":"),
        ),
        "prev_hash": head or GENESIS,
        "scheme": KEYED,
        "seq": count + 1,
    }
    seal["hash"] = _mac(seal, _key())
    connection.execute(audit_event.insert().values(**seal))
    _write_checkpoint(count + 1, seal["hash"])


def downgrade():
    connection = op.get_bind()
    keyed_work = connection.scalar(
        sa.select(sa.func.count())
        .select_from(audit_event)
        .where(audit_event.c.scheme == KEYED, audit_event.c.action != "audit.sealed")
    )
    if keyed_work:
        raise RuntimeError(
            f"{keyed_work} keyed audit events exist: the previous release could not verify them. "
            "Restore a backup from before the upgrade instead."
        )
    connection.execute(audit_event.delete().where(audit_event.c.scheme == KEYED))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('seq')
        batch_op.drop_column('scheme')
