"""flask commands: seed, and (in later issues) users, award, votes, results, audit."""

import click
from flask import Flask, current_app

from judging.extensions import db
from judging.services.seeding import SeedError, read_shortlist, seed_shortlist


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


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
