"""flask seed, award, remind and demo: an award's setup, lifecycle, reminders and demo data."""

import click
from flask import current_app
from flask.cli import AppGroup

from judging.cli.refusals import award_or_fail, or_fail, run_transition, say_told
from judging.extensions import db
from judging.services import deadlines, demo, notifications, publication
from judging.services.seeding import SeedError, read_shortlist, seed_shortlist

award = AppGroup("award", help="Move an award through its lifecycle.")


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
        # Not or_fail: every problem in the file is listed, one per line.
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


@award.command("open")
@click.argument("slug")
def open_command(slug: str) -> None:
    """Open scoring: jurors can score (from draft, or reopening a closed award)."""
    run_transition(slug, "open_scoring")


@award.command("close")
@click.argument("slug")
def close_command(slug: str) -> None:
    """Close scoring: no more scores are accepted."""
    run_transition(slug, "close_scoring")


@award.command("publish")
@click.argument("slug")
@click.option(
    "--override-reason",
    default="",
    help="Publish despite the review's blockers, for this recorded reason.",
)
def publish_command(slug: str, override_reason: str) -> None:
    """Publish the results: a frozen snapshot with its SHA-256 digest."""
    found = award_or_fail(slug)
    with or_fail():
        snapshot = publication.publish(found, actor=None, override_reason=override_reason)
        told = notifications.notify_jury(found, "published")
    db.session.commit()
    click.echo(f"{slug} is published; digest sha256:{snapshot.digest}")
    say_told(told)


@click.command("remind")
def remind_command() -> None:
    """Remind jurors with work left, 48 hours before scoring closes (safe to run from cron)."""
    run = deadlines.send_deadline_reminders()
    db.session.commit()
    click.echo(f"queued {len(run.sent)} reminder(s); {run.already} already reminded")


@click.command("demo")
@click.argument("slug")
@click.option("--remove", is_flag=True, help="Take the demo data off again.")
def demo_command(slug: str, remove: bool) -> None:
    """Fill an award without real evaluations with 12 demo jurors' scores (or --remove them)."""
    found = award_or_fail(slug)
    with or_fail():
        count = demo.remove_demo_data(found) if remove else demo.add_demo_data(found)
    db.session.commit()
    if remove:
        click.echo(f"removed {count} demo evaluations from {slug}")
    else:
        click.echo(f"added {count} demo evaluations by {demo.DEMO_JURORS} demo jurors to {slug}")
        click.echo(f"remove them with: flask --app wsgi demo {slug} --remove")
