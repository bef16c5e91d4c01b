"""Messages to people: invitations, password resets, reminders, scoring opened, results out."""

from collections.abc import Sequence

from flask import current_app

from judging.dates import format_when
from judging.links import external_url
from judging.mail import MailError, send_mail
from judging.models import Award, User
from judging.services.accounts import issue_token

SIGNATURE = "\n-- \nThis message was sent by the awards' judging application."


def invitation_link(user: User) -> str:
    """A fresh invitation link for `user` (any earlier one stops working)."""
    token = issue_token(user, "invitation", current_app.config["INVITATION_LIFETIME"])
    return external_url("auth.accept_invitation", token=token)


def send_invitation(user: User, *, awards: Sequence[str] = ()) -> str:
    """Email `user` an invitation link and return it."""
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
    send_mail(
        user.email,
        "Your invitation to the awards' jury"
        if not user.is_admin
        else "Your administrator account for the awards",
        body,
    )
    return link


def send_password_reset(user: User) -> str:
    """Email `user` a link to choose a new password."""
    token = issue_token(user, "reset", current_app.config["RESET_LIFETIME"])
    link = external_url("auth.reset_password", token=token)
    body = (
        f"Dear {user.name},\n\n"
        f"Someone, probably you, asked to reset the password of your account.\n\n"
        f"Open this link within one hour to choose a new password:\n\n  {link}\n\n"
        f"If you did not ask for this, ignore this message: your password stays as it is.\n"
        f"{SIGNATURE}"
    )
    send_mail(user.email, "Reset your password", body)
    return link


def send_account_link(address: str) -> None:
    """Forgot-password's work, done by the mail sender after the response (mail.outgoing): a
    reset link to the active account with that (normalised) address, or an invitation link if
    it has no password yet; nothing for an unknown address. The new link is kept only if the
    mail server took the message."""
    from sqlalchemy import select

    from judging.extensions import db

    user = db.session.scalar(select(User).where(User.email == address, User.active))
    if user is None:
        return
    try:
        if user.password_hash is None:
            send_invitation(user)
        else:
            send_password_reset(user)
        db.session.commit()
    except MailError:
        db.session.rollback()
        current_app.logger.warning("password reset mail for user %s failed", user.id)


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
    send_mail(juror.email, f"Reminder: {evaluations} left for {award.title}", body)


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


def notify_jury(award: Award, kind: str) -> tuple[int, list[str]]:
    """Tell every juror of the award that scoring has opened ("scoring_opened") or that the
    results are published ("published"). Returns (messages sent, addresses that failed): a
    mail server that is down never undoes the step itself."""
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
    sent, failed = 0, []
    for juror in _jurors(award):
        try:
            send_mail(juror.email, subject, f"Dear {juror.name},\n\n{text}\n{SIGNATURE}")
        except MailError:
            failed.append(juror.email)
        else:
            sent += 1
    return sent, failed
