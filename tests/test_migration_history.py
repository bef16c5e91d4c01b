"""Migrations never rewrite history: a released migration is never edited or deleted, and the
revisions form one straight line, so `flask db upgrade` means the same thing on every server.

migrations/released.sha256 lists each released migration with its SHA-256, in `sha256sum`
format (`cd migrations && sha256sum -c released.sha256` checks it by hand). A migration not yet
listed is allowed only at the newest end of the chain: the one being written for the next
release. When a release ships, its new migrations are added to the list (docs/operations.md).
"""

import hashlib
import runpy
import shutil
import warnings
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask_migrate import upgrade
from sqlalchemy import inspect

from judging import create_app
from judging.extensions import db

from .fixtures.domain import ROOT

MIGRATIONS = ROOT / "migrations"


def _released(migrations: Path) -> dict[str, str]:
    """{path relative to migrations/: sha256} from released.sha256."""
    released = {}
    for line in (migrations / "released.sha256").read_text().splitlines():
        if line.strip():
            digest, _, path = line.partition("  ")
            released[path.strip()] = digest.strip()
    return released


def history_problems(migrations: Path) -> list[str]:
    """Everything wrong with the migration history in `migrations`, in words; [] if nothing."""
    problems = []
    released = _released(migrations)
    for path, digest in released.items():
        file = migrations / path
        if not file.exists():
            problems.append(
                f"{path} was released and has been deleted or renamed: servers that ran it "
                "would no longer find it. Put it back; undo its effect in a new migration."
            )
        elif hashlib.sha256(file.read_bytes()).hexdigest() != digest:
            problems.append(
                f"{path} was released and has been edited: servers that already ran it will "
                "never run the change. Restore it (git checkout it) and write a new migration."
            )

    # Alembic warns about a revision that follows a missing one: that is a problem too.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            script = ScriptDirectory(str(migrations))
            chain = list(reversed(list(script.walk_revisions())))  # oldest first
            heads, bases = script.get_heads(), script.get_bases()
        except (CommandError, KeyError) as exc:
            return [*problems, f"alembic cannot read the history: {exc}"]
    problems += [f"alembic: {warning.message}" for warning in caught]
    if len(heads) != 1:
        problems.append(f"the migrations have {len(heads)} heads ({', '.join(heads)}), not one")
    if len(bases) != 1:
        problems.append(f"the migrations have {len(bases)} bases ({', '.join(bases)}), not one")
    known = {r.revision for r in chain}
    for revision in chain:
        down = revision.down_revision
        if isinstance(down, tuple | list):
            problems.append(f"{revision.revision} merges {down}: the history must be one line")
        elif down is not None and down not in known:
            problems.append(f"{revision.revision} follows {down}, which does not exist")
    if problems:
        return problems

    files = [Path(r.path).relative_to(migrations).as_posix() for r in chain]
    unreleased = [n for n, path in enumerate(files) if path not in released]
    if unreleased and any(path in released for path in files[unreleased[0] :]):
        problems.append(
            f"{files[unreleased[0]]} is not listed in released.sha256 but comes before "
            "released migrations: only the newest migrations may be unreleased"
        )
    return problems


def _columns() -> dict[str, dict[str, dict]]:
    inspector = inspect(db.engine)
    return {
        table: {column["name"]: column for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def contraction_problems(migrations: Path, tmp_path: Path) -> list[str]:
    """What the unreleased migrations do that the running release could not live with.

    `flask db upgrade` runs while the last release still serves (docs/operations.md), so the
    migrations after it may only expand the schema: every table and column that release knew
    stays, and a column added to an existing table is nullable or has a server default (the
    old code's INSERTs do not name it). A migration that contracts on purpose, a release after
    the code stopped using something, names what it drops: `contracts = ("table.column",)`.
    """
    released = _released(migrations)
    chain = list(reversed(list(ScriptDirectory(str(migrations)).walk_revisions())))
    listed = [r for r in chain if Path(r.path).relative_to(migrations).as_posix() in released]
    newer = chain[chain.index(listed[-1]) + 1 :] if listed else chain
    declared = {name for r in newer for name in runpy.run_path(r.path).get("contracts", ())}
    app = create_app(
        {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'expand.db'}"},
        instance_path=str(tmp_path / "instance"),
    )
    problems = []
    with app.app_context():
        upgrade(directory=str(migrations), revision=listed[-1].revision if listed else "base")
        before = _columns()
        upgrade(directory=str(migrations))
        after = _columns()
        db.engine.dispose()
    for table, columns in before.items():
        if table not in after:
            if table not in declared:
                problems.append(f"table {table} is dropped while the last release still uses it")
            continue
        for name in columns.keys() - after[table].keys():
            if f"{table}.{name}" not in declared:
                problems.append(
                    f"column {table}.{name} is dropped while the last release still uses it"
                )
        for name in after[table].keys() - columns.keys():
            column = after[table][name]
            if not column["nullable"] and column.get("default") is None:
                problems.append(
                    f"column {table}.{name} is NOT NULL without a server default: the last "
                    f"release's INSERTs into {table} would fail"
                )
    return problems


def test_the_migration_history_is_one_line_and_released_migrations_are_untouched():
    assert history_problems(MIGRATIONS) == []


def test_every_migration_up_to_0007_is_listed_as_released():
    listed = _released(MIGRATIONS)
    for n in range(1, 8):
        assert any(path.startswith(f"versions/{n:04d}_") for path in listed), n


@pytest.fixture
def copy_of_migrations(tmp_path) -> Path:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_editing_a_released_migration_is_refused_with_the_reason(copy_of_migrations):
    released = copy_of_migrations / "versions" / "0003_ranking.py"
    released.write_text(released.read_text() + "\n# a harmless-looking fix\n")
    (problem,) = history_problems(copy_of_migrations)
    assert "0003_ranking.py was released and has been edited" in problem
    assert "write a new migration" in problem


def test_deleting_a_released_migration_is_refused(copy_of_migrations):
    (copy_of_migrations / "versions" / "0007_vote.py").unlink()
    problems = history_problems(copy_of_migrations)
    assert any("0007_vote.py was released and has been deleted" in p for p in problems)


def test_a_second_head_is_refused(copy_of_migrations):
    (copy_of_migrations / "versions" / "0099_branch.py").write_text(
        "revision = '0099'\ndown_revision = '0006'\n"
        "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"
    )
    problems = history_problems(copy_of_migrations)
    assert any("2 heads" in p for p in problems), problems


def test_a_new_migration_may_wait_unlisted_only_at_the_newest_end(copy_of_migrations):
    versions = copy_of_migrations / "versions"
    heads = ScriptDirectory(str(copy_of_migrations)).get_heads()
    (versions / "0098_next.py").write_text(
        f"revision = '0098'\ndown_revision = '{heads[0]}'\n"
        "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"
    )
    assert history_problems(copy_of_migrations) == []
    # 0007 taken off the list while the newer 0098 is on it: a gap in the released history.
    listing = copy_of_migrations / "released.sha256"
    lines = [line for line in listing.read_text().splitlines() if "0007_vote" not in line]
    digest = hashlib.sha256((versions / "0098_next.py").read_bytes()).hexdigest()
    listing.write_text("\n".join([*lines, f"{digest}  versions/0098_next.py", ""]))
    (problem,) = history_problems(copy_of_migrations)
    assert "0007_vote.py is not listed" in problem
    assert "only the newest migrations may be unreleased" in problem


def test_unreleased_migrations_only_expand_what_the_running_release_uses(tmp_path):
    assert contraction_problems(MIGRATIONS, tmp_path) == []


def test_a_new_migration_that_drops_a_used_column_is_refused(copy_of_migrations, tmp_path):
    head = ScriptDirectory(str(copy_of_migrations)).get_heads()[0]
    (copy_of_migrations / "versions" / "0098_contract.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = '0098'\ndown_revision = '{head}'\n\n"
        "def upgrade():\n"
        "    with op.batch_alter_table('nominee') as batch_op:\n"
        "        batch_op.drop_column('city')\n"
        "        batch_op.add_column(sa.Column('region', sa.String(80), nullable=False))\n\n"
        "def downgrade():\n    pass\n"
    )
    problems = contraction_problems(copy_of_migrations, tmp_path)
    assert any("column nominee.city is dropped" in p for p in problems), problems
    assert any("nominee.region is NOT NULL without a server default" in p for p in problems)
