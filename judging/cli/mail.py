"""flask mail: the outbox's sender, and what is queued."""

import signal
import threading

import click
from flask.cli import AppGroup

from judging import sender
from judging.extensions import db
from judging.services import outbox

mail = AppGroup("mail", help="Outgoing mail: the outbox and its sender.")


@mail.command("send")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (cron, tests).")
@click.option(
    "--poll",
    type=float,
    default=None,
    help="Seconds between looks for new messages (default MAIL_POLL_SECONDS).",
)
def send_command(once: bool, poll: float | None) -> None:
    """Deliver queued mail, retrying failures with a growing delay; runs until stopped.

    Run it as a service next to gunicorn (docs/operations.md); several may run at once.
    SIGTERM or Ctrl-C stops it after the message in hand.
    """
    if once:
        run = sender.send_due()
        click.echo(
            f"sent {run.sent}; {run.retrying} to retry later; {run.failed} failed; "
            f"{run.answered} reset request{'' if run.answered == 1 else 's'} answered"
        )
        if run.retrying or run.failed:
            raise SystemExit(1)
        return
    stop = threading.Event()

    def stop_on(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, stop_on)
    signal.signal(signal.SIGINT, stop_on)
    click.echo("mail sender running (SIGTERM or Ctrl-C stops it)")
    sender.work(stop, poll=poll)
    click.echo("mail sender stopped")


@mail.command("status")
def status_command() -> None:
    """How many messages are queued, failed and sent (failed ones: the admin's Mail page)."""
    for status, count in outbox.counts().items():
        click.echo(f"{count:>6} {status}")
    db.session.rollback()
