"""flask audit, purge, backup and restore: the data itself, its ledger, retention and copies."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from judging.cli.refusals import or_fail
from judging.extensions import db
from judging.services import audit as audit_service
from judging.services import backup, privacy
from judging.services.errors import ServiceError

audit = AppGroup("audit", help="The audit ledger.")


def _checkpoint_option(ctx, param, values):
    try:
        return [audit_service.Checkpoint.parse(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    metavar="COUNT:HASH",
    callback=_checkpoint_option,
    help="Also check against a checkpoint kept elsewhere, as this command prints it.",
)
def audit_verify_command(checkpoints) -> None:
    """Check every link and key of the audit chain, and its checkpoints; name what is wrong.

    Checks the checkpoint kept in the instance folder (written at every close and publication)
    and each --checkpoint given. Prints the head as a new checkpoint to keep away from the server.
    """
    report = audit_service.ledger_report(checkpoints)
    kept = audit_service.checkpoint_path()
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)
    if not report.ok:
        where = f" at event {report.broken.id}" if report.broken is not None else ""
        raise click.ClickException(f"the audit chain is broken{where}")
    legacy = f" ({report.legacy} unkeyed, from before the chain was keyed)" if report.legacy else ""
    click.echo(f"OK: {report.count} audit events{legacy}, chain intact")
    if kept.exists():
        click.echo(f"checked the checkpoint in {kept}")
    else:
        click.echo(f"no checkpoint in {kept} yet (one is written at every close and publication)")
    if checkpoints:
        click.echo(f"checked {len(checkpoints)} given checkpoint(s)")
    if report.head is not None:
        click.echo(f"checkpoint: {report.head}")
        click.echo("keep it away from this server; check against it later with")
        click.echo(f"  flask --app wsgi audit verify --checkpoint {report.head}")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def purge_command(dry_run: bool) -> None:
    """Remove personal data past its retention period (RETENTION_DAYS_* settings)."""
    report = privacy.purge(
        current_app.config, outbox=Path(current_app.instance_path) / "outbox", dry_run=dry_run
    )
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "would remove" if dry_run else "removed"
    for kind, count in report.counts.items():
        click.echo(f"{verb} {count:>6} {kind}")
    if not report.total:
        click.echo("nothing is past its retention period")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Write a consistent copy of the whole database to PATH (safe while the app is serving).

    SQLite: through SQLite's backup API. PostgreSQL: pg_dump --format=custom. The backup is
    noted in the audit log first, so the backup itself holds the note.
    """
    url = db.engine.url
    backup.record_backup(path, actor=None)
    db.session.commit()
    try:
        size = backup.make_backup(url, path)
    except (ServiceError, OSError) as exc:
        # Not or_fail: the failure is recorded (and committed) beside the note made above.
        db.session.rollback()
        backup.record_failure(path, str(exc), actor=None)
        db.session.commit()
        raise click.ClickException(f"no backup was made: {exc}") from None
    click.echo(f"backed up the {db.engine.dialect.name} database to {path} ({size:,} bytes)")
    click.echo(f"restore it with: flask --app wsgi restore {path}")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: str, yes: bool) -> None:
    """Replace the WHOLE database with the backup at PATH (everything since it is lost)."""
    url = db.engine.url
    with or_fail():
        backup.check_backup(url, path)
    if not yes and not click.confirm(
        f"Replace the whole {db.engine.dialect.name} database with {path}? "
        "Everything saved since that backup is lost",
        default=False,
    ):
        raise click.ClickException("nothing was restored (not confirmed; --yes skips the question)")
    db.session.close()
    db.engine.dispose()  # this process's connections must not outlive the old tables
    try:
        backup.restore_backup(url, path)
    except ServiceError as exc:
        # Not or_fail: the session is closed already; the message says nothing was restored.
        raise click.ClickException(f"nothing was restored: {exc}") from None
    click.echo(f"restored the database from {path}")
    if aside := audit_service.set_checkpoint_aside_after_restore():
        click.echo(f"the audit checkpoint names events the backup does not hold; moved to {aside}")
    click.echo("check it with: flask --app wsgi audit verify")
