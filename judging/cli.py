"""flask commands: seed, users, award, votes, results, audit, remind, purge, demo, backup,
restore. Each calls the same services as the pages."""

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from judging.extensions import db
from judging.models import ROLES, User
from judging.passwords import app_passwords
from judging.scoring import ranking
from judging.services import audit as audit_service
from judging.services import backup, deadlines, demo, publication, results, voting
from judging.services.accounts import AccountError, create_user, normalise_email, set_password
from judging.services.awards import TransitionError, award_by_slug, transition
from judging.services.notifications import invitation_link, notify_jury
from judging.services.seeding import SeedError, read_shortlist, seed_shortlist

users = AppGroup("users", help="Create accounts and invitation links.")
award = AppGroup("award", help="Move an award through its lifecycle.")
votes = AppGroup("votes", help="The vote: open and close it, and print access codes.")


@click.command("seed")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def seed_command(path: str | None) -> None:
    """Load an award, its criteria and nominees from PATH (default: seed/shortlist.json).

    Running it again changes only what the file changed. One transaction: on any error
    nothing is written.
    """
    path = path or current_app.config["SEED_PATH"]
    try:
        data = read_shortlist(path)
        report = seed_shortlist(data, actor=None)
    except SeedError as exc:
        db.session.rollback()
        click.echo(f"Nothing was seeded: {path} has {len(exc.messages)} problem(s):", err=True)
        for message in exc.messages:
            click.echo(f"  - {message}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    for line in report.created:
        click.echo(f"created {line}")
    for line in report.updated:
        click.echo(f"updated {line}")
    for line in report.removed:
        click.echo(f"removed {line}")
    for line in report.kept:
        click.echo(f"warning: {line}", err=True)
    if not report.changed:
        click.echo(f"award {report.award} is up to date; nothing changed")


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option(
    "--award",
    "awards",
    multiple=True,
    metavar="SLUG",
    help="Make the juror a member of this award's jury (repeatable).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a password from standard input instead of printing an invitation link.",
)
def create_user_command(email, name, role, awards, password_stdin) -> None:
    """Create an account and print its one-time invitation link (valid 72 hours)."""
    try:
        user = create_user(email, name, role, actor=None, award_slugs=tuple(awards))
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            set_password(user, password, app_passwords(), actor=None)
            link = None
        else:
            link = invitation_link(user)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")
    if link:
        click.echo(f"Invitation link (works once, for 72 hours):\n  {link}")


@users.command("first-admin")
@click.option("--email", required=True)
@click.option("--name", default="Administrator", show_default=True)
def first_admin_command(email, name) -> None:
    """Make sure an administrator can get in: print an invitation link if none has logged in yet.

    Does nothing once an administrator has set a password, so `make run` can call it every time.
    """
    admins = list(db.session.scalars(select(User).where(User.role == "admin", User.active)))
    if any(a.password_hash for a in admins):
        return
    user = next((a for a in admins if a.email == normalise_email(email)), None)
    if user is None:
        try:
            user = create_user(email, name, "admin", actor=None)
        except AccountError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
    link = invitation_link(user)
    db.session.commit()
    click.echo(f"No administrator has logged in yet. {user.email} can set a password here")
    click.echo(f"(the link works once, for 72 hours):\n\n  {link}\n")


def _transition(slug: str, step: str) -> None:
    found = award_by_slug(slug)
    if found is None:
        raise click.ClickException(f"No award with slug {slug}.")
    try:
        transition(found, step, actor=None)
    except TransitionError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{found.slug} is now {found.status}")
    if step == "open_scoring":
        _tell_jury(found, "scoring_opened")


def _tell_jury(found, kind: str) -> None:
    sent, failed = notify_jury(found, kind)
    click.echo(f"told {sent} juror(s) by email")
    if failed:
        click.echo(f"warning: no mail could be sent to {', '.join(failed)}", err=True)


@click.command("remind")
def remind_command() -> None:
    """Remind jurors with work left, 48 hours before scoring closes (safe to run from cron)."""
    run = deadlines.send_deadline_reminders()
    click.echo(f"sent {len(run.sent)} reminder(s); {run.already} already reminded")
    if run.failed:
        click.echo(f"warning: not sent to {', '.join(run.failed)}", err=True)
        raise SystemExit(1)


@award.command("open")
@click.argument("slug")
def open_command(slug: str) -> None:
    """Open scoring: jurors can score (from draft, or reopening a closed award)."""
    _transition(slug, "open_scoring")


@award.command("close")
@click.argument("slug")
def close_command(slug: str) -> None:
    """Close scoring: no more scores are accepted."""
    _transition(slug, "close_scoring")


@award.command("publish")
@click.argument("slug")
@click.option(
    "--override-reason",
    default="",
    help="Publish despite the review's blockers, for this recorded reason.",
)
def publish_command(slug: str, override_reason: str) -> None:
    """Publish the results: a frozen snapshot with its SHA-256 digest."""
    found = award_by_slug(slug)
    if found is None:
        raise click.ClickException(f"No award with slug {slug}.")
    try:
        snapshot = publication.publish(found, actor=None, override_reason=override_reason)
    except publication.PublishError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{slug} is published; digest sha256:{snapshot.digest}")
    _tell_jury(found, "published")


@votes.command("open")
@click.argument("slug")
def votes_open_command(slug: str) -> None:
    """Open the vote (after scoring has closed)."""
    _transition(slug, "open_voting")


@votes.command("close")
@click.argument("slug")
def votes_close_command(slug: str) -> None:
    """Close the vote: no more ballots are accepted."""
    _transition(slug, "close_voting")


def _top_n(value: str) -> int | None:
    """'all' -> None, 'top:N' -> N."""
    if value == "all":
        return None
    kind, _, n = value.partition(":")
    if kind != "top" or not n.isdigit() or int(n) < 1:
        raise click.BadParameter(
            "give 'all' or 'top:N' with N a whole number from 1, e.g. top:5",
            param_hint="'--shortlist'",
        )
    return int(n)


@votes.command("rules")
@click.argument("slug")
@click.option(
    "--vote-weight",
    type=click.IntRange(0, 100),
    required=True,
    help="The vote's weight in percent (the jury's is the rest of 100).",
)
@click.option(
    "--shortlist",
    default=None,
    help="all (every nominee in the running) or top:N (the jury's top N). Default: unchanged.",
)
@click.option(
    "--online/--no-online",
    default=None,
    help="Also an online public vote by verified email address. Default: unchanged.",
)
def votes_rules_command(slug: str, vote_weight: int, shortlist: str | None, online) -> None:
    """Declare the vote's rules, before voting opens (refused from then on)."""
    top_n = None if shortlist is None else _top_n(shortlist)
    found = award_by_slug(slug)
    if found is None:
        raise click.ClickException(f"No award with slug {slug}.")
    try:
        changed = voting.set_rules(
            found,
            vote_top_n=found.vote_top_n if shortlist is None else top_n,
            vote_weight=vote_weight,
            online_vote=found.online_vote if online is None else online,
            actor=None,
        )
    except voting.VoteError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    top = (
        f"the jury's top {found.vote_top_n}" if found.vote_top_n else "all nominees in the running"
    )
    click.echo(
        f"{found.slug}: {'saved' if changed else 'nothing changed'}: jury {found.jury_weight} %, "
        f"vote {found.vote_weight} %; on the ballot: {top} ({len(voting.shortlist(found))}); "
        f"online vote {'on' if found.online_vote else 'off'}"
    )


@votes.command("codes")
@click.argument("slug")
@click.option("--count", type=int, required=True, help="How many one-time access codes.")
def votes_codes_command(slug: str, count: int) -> None:
    """Print COUNT new one-time access codes, one per line (only their hashes are kept)."""
    found = award_by_slug(slug)
    if found is None:
        raise click.ClickException(f"No award with slug {slug}.")
    try:
        codes = voting.generate_codes(found, count, actor=None)
    except voting.VoteError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    for code in codes:
        click.echo(code)


@click.command("results")
@click.argument("slug")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--method",
    type=click.Choice(ranking.METHODS),
    default=None,
    help="How to aggregate (default: the award's own method).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Recompute the published results from the stored scores and compare the digests.",
)
def results_command(slug: str, fmt: str, method: str | None, verify: bool) -> None:
    """Print the award's ranking with its statistics and flags (or --verify the published).

    With a vote the ranking is the final one, jury and vote combined as published, and each
    nominee also shows its jury-only rank and score."""
    found = award_by_slug(slug)
    if found is None:
        raise click.ClickException(f"No award with slug {slug}.")
    if verify:
        _verify(found)
        return
    document = results.ranking_document(found, method)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(results.as_csv(document), nl=False)
    else:
        click.echo(results.as_table(document), nl=False)


def _verify(found) -> None:
    try:
        check = publication.verify(found)
    except publication.PublishError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"published:  sha256:{check.stored}")
    click.echo(f"sealed:     sha256:{check.sealed}" if check.sealed else "sealed:     none found")
    click.echo(f"recomputed: sha256:{check.recomputed}")
    for note in check.notes:
        click.echo(f"  {note}")
    if not check.ok:
        for line in check.differences:
            click.echo(f"  - {line}", err=True)
        raise click.ClickException(
            "the published results do NOT match the stored scores and the audit chain"
        )
    click.echo("OK: the published results match the stored scores and the audit chain")


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
    from pathlib import Path

    from judging.services import privacy

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


@click.command("demo")
@click.argument("slug")
@click.option("--remove", is_flag=True, help="Take the demo data off again.")
def demo_command(slug: str, remove: bool) -> None:
    """Fill an award without real evaluations with 12 demo jurors' scores (or --remove them)."""
    found = award_by_slug(slug)
    if found is None:
        raise click.ClickException(f"No award with slug {slug}.")
    try:
        count = demo.remove_demo_data(found) if remove else demo.add_demo_data(found)
    except demo.DemoError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    if remove:
        click.echo(f"removed {count} demo evaluations from {slug}")
    else:
        click.echo(f"added {count} demo evaluations by {demo.DEMO_JURORS} demo jurors to {slug}")
        click.echo(f"remove them with: flask --app wsgi demo {slug} --remove")


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
    except (backup.BackupError, OSError) as exc:
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
    try:
        backup.check_backup(url, path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
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
    except backup.BackupError as exc:
        raise click.ClickException(f"nothing was restored: {exc}") from None
    click.echo(f"restored the database from {path}")
    if aside := audit_service.set_checkpoint_aside_after_restore():
        click.echo(f"the audit checkpoint names events the backup does not hold; moved to {aside}")
    click.echo("check it with: flask --app wsgi audit verify")


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(users)
    app.cli.add_command(award)
    app.cli.add_command(votes)
    app.cli.add_command(results_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(audit)
    app.cli.add_command(remind_command)
    app.cli.add_command(purge_command)
