"""Migrations never rewrite history: a released migration is never edited or deleted, and the
revisions form one straight line, so `flask db upgrade` means the same thing on every server.

migrations/released.sha256 lists each released migration with its SHA-256, in `sha256sum`
format (`cd migrations && sha256sum -c released.sha256` checks it by hand). A migration not yet
listed is allowed only at the newest end of the chain: the one being written for the next
release. When a release ships, its new migrations are added to the list (docs/operations.md).
"""

import hashlib
import warnings
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from .conftest import ROOT

pytestmark = pytest.mark.one_engine

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


def test_the_migration_history_is_one_line_and_released_migrations_are_untouched():
    assert history_problems(MIGRATIONS) == []


def test_every_migration_up_to_0007_is_listed_as_released():
    listed = _released(MIGRATIONS)
    for n in range(1, 8):
        assert any(path.startswith(f"versions/{n:04d}_") for path in listed), n


@pytest.fixture
def copy_of_migrations(tmp_path) -> Path:
    copy = tmp_path / "migrations"
    copy.mkdir()
    for path in [MIGRATIONS / "released.sha256", *MIGRATIONS.glob("versions/*.py")]:
        target = copy / path.relative_to(MIGRATIONS)
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(path.read_bytes())
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
