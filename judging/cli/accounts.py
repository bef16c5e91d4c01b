"""flask users: create accounts, and the first administrator's way in."""

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from judging.cli.refusals import or_fail
from judging.extensions import db
from judging.models import ROLES, User
from judging.passwords import app_passwords
from judging.services.accounts import create_user, normalise_email, set_password
from judging.services.notifications import invitation_link

users = AppGroup("users", help="Create accounts and invitation links.")


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
    with or_fail():
        user = create_user(email, name, role, actor=None, award_slugs=tuple(awards))
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            set_password(user, password, app_passwords(), actor=None)
            link = None
        else:
            link = invitation_link(user)
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
        with or_fail():
            user = create_user(email, name, "admin", actor=None)
    link = invitation_link(user)
    db.session.commit()
    click.echo(f"No administrator has logged in yet. {user.email} can set a password here")
    click.echo(f"(the link works once, for 72 hours):\n\n  {link}\n")
