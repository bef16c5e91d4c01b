"""What the commands share: a refused change fails the command, an unknown award too."""

from collections.abc import Iterator
from contextlib import contextmanager

import click

from judging.extensions import db
from judging.models import Award
from judging.services.awards import award_by_slug, transition
from judging.services.errors import ServiceError
from judging.services.notifications import notify_jury


@contextmanager
def or_fail() -> Iterator[None]:
    """Run a service's change; if it refuses, roll back and fail the command with its message."""
    try:
        yield
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None


def award_or_fail(slug: str) -> Award:
    found = award_by_slug(slug)
    if found is None:
        raise click.ClickException(f"No award with slug {slug}.")
    return found


def run_transition(slug: str, step: str) -> None:
    """Take the award one step through its lifecycle (services/awards.py, TRANSITIONS)."""
    found = award_or_fail(slug)
    told = None
    with or_fail():
        transition(found, step, actor=None)
        if step == "open_scoring":  # queued with the step: both commit, or neither
            told = notify_jury(found, "scoring_opened")
    db.session.commit()
    click.echo(f"{found.slug} is now {found.status}")
    if told is not None:
        say_told(told)


def say_told(queued: int) -> None:
    click.echo(f"queued an email to {queued} juror(s) (`flask mail send` delivers it)")
