"""Messages to people: invitations, password resets, reminders, scoring opened, results out.

Each is queued in the outbox (services/outbox.py) in the caller's transaction, never sent here:
the caller's commit sends it on its way, its rollback takes it back.
"""

from collections.abc import Sequence

from flask import current_app

from judging.dates import format_when
from judging.links import external_url
from judging.models import Award, User
from judging.services.accounts import issue_token
from judging.services.outbox import queue_mail, queue_request

SIGNATURE = "\n-- \nThis message was sent by the awards' judging application."


def invitation_link(user: User) -> str:
    """A fresh invitation link for `user` (any earlier one stops working)."""
    token = issue_token(user, "invitation", current_app.config["INVITATION_LIFETIME"])
    return external_url("auth.accept_invitation", token=token)


def send_invitation(user: User, *, awards: Sequence[str] = ()) -> str:
    """Queue an email with an invitation link to `user` and return the link."""
    link = invitation_link(user)
    hours = int(current_app.config["INVITATION_LIFETIME"].total_seconds() // 3600)
    what = (
        f"to the jury of {', '.join(awards)}"
        if awards
        else "as an administrator"
        if user.is_admin
        else "as a juror"
    )
    body = (
        f"Dear {user.name},\n\n"
        f"You have been invited {what}.\n\n"
        f"Open this link to choose your password and sign in:\n\n  {link}\n\n"
        f"The link works once, for {hours} hours. If it has expired, ask the award's "
        f"administrator for a new one.\n{SIGNATURE}"
    )
    queue_mail(
        user.email,
        "Your invitation to the awards' jury"
        if not user.is_admin
        else "Your administrator account for the awards",
        body,
        kind="invitation",
        user=user,
    )
    return link


def send_password_reset(user: User) -> str:
    """Queue an email to `user` with a link to choose a new password."""
    token = issue_token(user, "reset", current_app.config["RESET_LIFETIME"])
    link = external_url("auth.reset_password", token=token)
    body = (
        f"Dear {user.name},\n\n"
        f"Someone, probably you, asked to reset the password of your account.\n\n"
        f"Open this link within one hour to choose a new password:\n\n  {link}\n\n"
        f"If you did not ask for this, ignore this message: your password stays as it is.\n"
        f"{SIGNATURE}"
    )
    queue_mail(user.email, "Reset your password", body, kind="reset", user=user)
    return link


# The outbox kind of forgot-password's request (services/outbox.py, queue_request).
RESET_REQUEST = "reset_request"


def request_account_link(address: str) -> None:
    """Forgot-password's request: queue the (normalised) address for the sender, whatever it
    is. The request looks no account up and makes no link, so it does the same work, and takes
    as long, for every address; the sender answers it with `send_account_link`."""
    queue_request(address, "Password reset request", kind=RESET_REQUEST)


def send_account_link(address: str) -> bool:
    """The answer to a forgot-password request (the sender's work): a reset link to the active
    account with that (normalised) address, or an invitation link if it has no password yet,
    queued; nothing for an unknown address (nor a deactivated account). True if a message was
    queued (the page never says so)."""
    from sqlalchemy import select

    from judging.extensions import db

    user = db.session.scalar(select(User).where(User.email == address, User.active))
    if user is None:
        return False
    if user.password_hash is None:
        send_invitation(user)
    else:
        send_password_reset(user)
    return True


def send_reminder(juror: User, award: Award, *, left: int, drafts: int) -> None:
    """Remind a juror how many evaluations of `award` they have left, with their dashboard link."""
    evaluations = f"{left} evaluation{'' if left == 1 else 's'}"
    saved = (
        f" ({drafts} of them saved as a draft: open it and submit it)"
        if drafts > 1
        else " (one of them saved as a draft: open it and submit it)"
        if drafts == 1
        else ""
    )
    deadline = (
        f"Scoring closes on {format_when(award.scoring_closes_at)}.\n\n"
        if award.scoring_closes_at
        else ""
    )
    body = (
        f"Dear {juror.name},\n\n"
        f"You have {evaluations} left to submit for “{award.title}”{saved}.\n\n"
        f"{deadline}"
        f"Your nominees and your progress are here:\n\n  {external_url('jury.dashboard')}\n\n"
        f"Thank you for your work on the jury.\n{SIGNATURE}"
    )
    queue_mail(
        juror.email,
        f"Reminder: {evaluations} left for {award.title}",
        body,
        kind="reminder",
        user=juror,
    )


def _jurors(award: Award) -> list[User]:
    """The award's jurors who can log in (active, password set)."""
    from judging.extensions import db
    from judging.services import queries

    return [
        user
        for user in db.session.scalars(
            queries.jurors_of(award).where(User.active).order_by(User.id)
        )
        if user.password_hash
    ]


def notify_jury(award: Award, kind: str) -> int:
    """Tell every juror of the award that scoring has opened ("scoring_opened") or that the
    results are published ("published"), in the step's own transaction. Returns how many
    messages were queued."""
    if kind == "scoring_opened":
        deadline = (
            f" It closes on {format_when(award.scoring_closes_at)}."
            if award.scoring_closes_at
            else ""
        )
        subject = f"Scoring is open: {award.title}"
        text = (
            f"Scoring is open for “{award.title}”.{deadline}\n\n"
            f"Your nominees are here:\n\n  {external_url('jury.dashboard')}\n\n"
            "Your work is saved as you go; you can change an evaluation until scoring "
            "closes."
        )
    else:
        subject = f"Results published: {award.title}"
        text = (
            f"The results of “{award.title}” are published:\n\n"
            f"  {external_url('public.results', slug=award.slug)}\n\n"
            "Thank you for your work on the jury."
        )
    jurors = _jurors(award)
    for juror in jurors:
        queue_mail(
            juror.email,
            subject,
            f"Dear {juror.name},\n\n{text}\n{SIGNATURE}",
            kind="announcement",
            user=juror,
        )
    return len(jurors)
