"""Commit or explain: the one way a page carries out a change.

    with commit_or_explain("Settings saved.", form=form) as attempt:
        award_setup.update_award(award, values, actor=current_user)
    if attempt.failed:
        return render_form("admin/award_form.html", form, award=award)
    return redirect(...)

Inside the block, the view calls its service. If the service refuses (`ServiceError`), the
session is rolled back, so nothing of the refused change stays, and the reason is shown: on
the form's fields it names (when a form is given), else as a flashed error. Otherwise the
session is committed and `done` (or `attempt.done`, set inside the block when the message
depends on the result) is flashed. Any other exception propagates as before: the error
handler rolls back and shows the error page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash
from flask_wtf import FlaskForm

from judging.extensions import db
from judging.services.errors import ServiceError


@dataclass
class Attempt:
    done: str | None = None
    error: ServiceError | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def show_on_form(form: FlaskForm, exc: ServiceError) -> bool:
    """Put the refusal's field messages on the form's fields; False if it names none of them.

    A field the form does not have gets its messages among the form's own errors."""
    messages = exc.field_messages()
    if not messages:
        return False
    for name, values in messages.items():
        if name in form:
            form[name].errors = [*form[name].errors, *values]
        else:
            form.form_errors.extend(values)
    return True


@contextmanager
def commit_or_explain(
    done: str | None = None,
    *,
    form: FlaskForm | None = None,
    explain: bool = True,
    refusal: str = "error",
) -> Iterator[Attempt]:
    """Commit the block's change and flash `done`, or roll it back and show why.

    A refusal is flashed in the `refusal` category ("info" when it is news rather than a
    fault: the nominee is already first). `explain=False` leaves showing the refusal to the
    caller, which reads `attempt.error`."""
    attempt = Attempt(done=done)
    try:
        yield attempt
    except ServiceError as exc:
        db.session.rollback()
        attempt.error = exc
        if explain and not (form is not None and show_on_form(form, exc)):
            flash(exc.message, refusal)
        return
    db.session.commit()
    if attempt.done:
        flash(attempt.done, "success")
