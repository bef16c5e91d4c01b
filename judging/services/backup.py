"""Backups of the whole database, and restoring one: SQLite through its online backup API,
PostgreSQL through pg_dump and pg_restore.

Both are consistent while the app is serving: SQLite's backup copies every page inside one read
transaction, and pg_dump reads one snapshot. A backup file names its engine by its first bytes
(SQLite's header, or pg_dump's "PGDMP"); restore refuses a file of the other engine, or one
that holds no judging tables, before it changes anything.
"""

import glob
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import URL, make_url

from judging.models import AuditEvent, User
from judging.services.audit import record_event
from judging.services.errors import ServiceError

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
# Tables every judging database has: a file without them is not a backup of this app.
REQUIRED_TABLES = ("award", "audit_event", "evaluation", "score")
PG_TIMEOUT_S = 30 * 60


class BackupError(ServiceError):
    """A backup or restore that could not be done; nothing was changed."""


@dataclass
class LastBackup:
    at: datetime
    ok: bool
    path: str


def engine_of(url: str | URL) -> str:
    """ "sqlite" or "postgresql", the only engines the app runs on."""
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {backend}.")
    return backend


def engine_of_file(path: str | Path) -> str | None:
    """The engine a backup file was made from, by its first bytes; None if neither."""
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_HEADER))
    if head == SQLITE_HEADER:
        return "sqlite"
    if head.startswith(PG_DUMP_HEADER):
        return "postgresql"
    return None


def record_backup(path: str | Path, *, actor: User | None) -> AuditEvent:
    """Note in the audit log that a backup is being made (so the backup holds its own note)."""
    return record_event("backup.made", "database", {"path": str(path)}, actor=actor)


def record_failure(path: str | Path, reason: str, *, actor: User | None) -> AuditEvent:
    return record_event(
        "backup.failed", "database", {"path": str(path), "reason": reason[:500]}, actor=actor
    )


def last_backup(session) -> LastBackup | None:
    """The latest backup attempt recorded in the audit log, made or failed."""
    event = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action.in_(("backup.made", "backup.failed")))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if event is None:
        return None
    return LastBackup(
        at=event.at, ok=event.action == "backup.made", path=json.loads(event.payload)["path"]
    )


# --- Making a backup ---------------------------------------------------------------------------


def make_backup(url: str | URL, path: str | Path) -> int:
    """Write a consistent copy of the database at `url` to `path`; return its size in bytes.

    The copy is written beside `path` and moved into place only when complete, so a failed
    backup never leaves a truncated file under the name of a good one.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        if engine_of(url) == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
        else:
            _run([_tool("pg_dump"), "--format=custom", "--file", str(partial), _libpq(url)], url)
        os.replace(partial, path)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"cannot write {path}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


def _sqlite_file(url: str | URL) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"There is no database at {source}.")
    src = sqlite3.connect(source, timeout=60)
    dst = sqlite3.connect(target)
    try:
        # All pages in one step: one read transaction, so writers in other processes cannot
        # slip a half-done change between two pages (they wait on busy_timeout, or WAL lets
        # them go on beside the read snapshot).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


# --- Restoring one ----------------------------------------------------------------------------


def check_backup(url: str | URL, path: str | Path) -> None:
    """Refuse, with a clear reason, a file that is not a backup of this app on this engine."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"There is no file at {path}.")
    engine, found = engine_of(url), engine_of_file(path)
    if found is None:
        raise BackupError(
            f"{path} is not a backup: it is neither an SQLite database nor a pg_dump archive."
        )
    if found != engine:
        raise BackupError(
            f"{path} is a backup of a {_name(found)} database; this app runs on {_name(engine)}. "
            "Nothing was changed."
        )
    tables = _sqlite_tables(path) if engine == "sqlite" else _pg_tables(path, url)
    if missing := [t for t in REQUIRED_TABLES if t not in tables]:
        raise BackupError(
            f"{path} is not a backup of this app: it has no {', '.join(missing)} table(s). "
            "Nothing was changed."
        )


def restore_backup(url: str | URL, path: str | Path) -> None:
    """Replace the whole database at `url` with the backup at `path`, in one transaction.

    Call check_backup first. Other processes may stay connected: SQLite's backup API writes
    the pages under its write lock, and pg_restore --single-transaction commits all or nothing.
    """
    if engine_of(url) == "sqlite":
        target = _sqlite_file(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(path)
        dst = sqlite3.connect(target, timeout=60)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()
            src.close()
        return
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            _libpq(url),
            str(path),
        ],
        url,
    )


def _sqlite_tables(path: Path) -> set[str]:
    try:
        connection = sqlite3.connect(path)
        try:
            if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (SQLite's quick_check failed).")
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {name for (name,) in rows}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read as an SQLite database: {exc}") from None


def _pg_tables(path: Path, url: str | URL) -> set[str]:
    listing = _run([_tool("pg_restore"), "--list", str(path)], url)
    tables = set()
    for line in listing.splitlines():
        # "215; 1259 16390 TABLE public award postgres"
        parts = line.split()
        if len(parts) >= 6 and not line.startswith(";") and parts[3] == "TABLE":
            tables.add(parts[5])
    return tables


# --- PostgreSQL's tools ---------------------------------------------------------------------


def _name(engine: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[engine]


def _tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest in Debian's /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not candidates:
        raise BackupError(f"{name} is not installed (it comes with the PostgreSQL client tools).")
    return candidates[-1]


def _libpq(url: str | URL) -> str:
    """The URL in libpq's form, without the password (passed in PGPASSWORD instead)."""
    url = make_url(url).set(drivername="postgresql", password=None)
    return url.render_as_string(hide_password=False)


def _run(command: list[str], url: str | URL) -> str:
    env = dict(os.environ)
    if password := make_url(url).password:
        env["PGPASSWORD"] = str(password)
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{Path(command[0]).name} took longer than {PG_TIMEOUT_S} s.") from None
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout
