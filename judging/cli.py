"""flask commands: seed, users (and in later issues award, votes, results, audit)."""

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from judging.extensions import db
from judging.models import ROLES, User
from judging.passwords import app_passwords
from judging.services.accounts import AccountError, create_user, normalise_email, set_password
from judging.services.notifications import invitation_link
from judging.services.seeding import SeedError, read_shortlist, seed_shortlist

users = AppGroup("users", help="Create accounts and invitation links.")


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


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(users)
