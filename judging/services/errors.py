"""The one shape of a refusal: every use case that says no raises a `ServiceError`.

A refused use case has written nothing that may stay: the caller rolls back. Pages do that
through `judging.outcome.commit_or_explain`, the API through its blueprint's error handler,
the command line by printing the message; none of them inspects which subclass it got
unless it needs to (a 409's current state, say).
"""

from __future__ import annotations


class ServiceError(Exception):
    """Refused, in words a user reads.

    `message` says why. `field` names the one form field at fault, `errors` maps several
    fields to their messages; neither when the refusal is about the whole request (the
    award's state, say). `status` is the HTTP status that says why (422 by default; a
    subclass may set its own, and a raise may override it).
    """

    status: int = 422

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors: dict[str, list[str]] = errors or {}
        if status is not None:
            self.status = status

    def field_messages(self) -> dict[str, list[str]]:
        """Every message that belongs to a named field: `errors`, plus `field`'s message."""
        messages = {name: list(values) for name, values in self.errors.items()}
        if self.field is not None:
            messages.setdefault(self.field, []).append(self.message)
        return messages
