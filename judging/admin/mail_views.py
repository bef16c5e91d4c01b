"""Outgoing mail: what the outbox holds, what failed and why, and "retry now" for a failure.

Recipients are shown by the account's name when the message went to one (jurors and
administrators, whom the People page lists anyway), else by their domain only: a voter's
address is never shown, not even to administrators. A forgot-password request (kind
"reset_request") names no account, so it shows by domain only whether or not the address has
one: the page does not tell an administrator which typed addresses are accounts' either. Bodies
hold one-time links and are never shown.
"""

from flask import redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from judging.admin import blueprint
from judging.extensions import db
from judging.forms import EmptyForm
from judging.models import OutgoingMail, User
from judging.outcome import commit_or_explain
from judging.services import outbox


@blueprint.get("/mail")
def mail():
    """The outbox: how many messages are queued, failed and sent, and the newest of each."""
    lists = {status: outbox.listing(status) for status in ("failed", "queued", "sent")}
    ids = {m.user_id for rows in lists.values() for m in rows if m.user_id is not None}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    return render_template(
        "admin/mail.html",
        counts=outbox.counts(),
        lists=lists,
        names=names,
        form=EmptyForm(),
    )


@blueprint.post("/mail/<int:mail_id>/retry")
def mail_retry(mail_id: int):
    """Send a failed message again at the sender's next run."""
    message = db.get_or_404(OutgoingMail, mail_id)
    if EmptyForm().validate_on_submit():
        with commit_or_explain(f"The message “{message.subject}” is queued again."):
            outbox.retry(message, actor=current_user)
    return redirect(url_for("admin.mail"))
