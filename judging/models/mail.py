"""Outgoing mail: the transactional outbox. A message is a row written in the same transaction
as the change that causes it, and a sender (`flask mail send`) delivers it afterwards."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from judging.models.base import Base, one_of, utcnow

MAIL_STATUSES = ("queued", "sent", "failed")
# "reset_request" is not a message: forgot-password's request, holding only the address it
# names; the sender looks the account up and queues the real message, or deletes the row.
MAIL_KINDS = ("invitation", "reset", "reminder", "announcement", "vote_link", "reset_request")


class OutgoingMail(Base):
    """One message to one recipient, queued until a sender delivers it.

    `recipient` and `message` (the whole RFC 822 bytes, one-time links included) are blanked
    once the message is sent: what stays is its kind, subject, the recipient's domain and the
    delivery's history, for the admin page, until `flask purge` deletes the row.
    """

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        CheckConstraint(one_of("status", MAIL_STATUSES), name="status"),
        CheckConstraint(one_of("kind", MAIL_KINDS), name="kind"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # What a sender asks for: the queued rows that are due, oldest first.
        Index("ix_outgoing_mail_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The account it was written to, if any: the admin page names the person, not the address.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[str | None] = mapped_column(String(254))
    recipient_domain: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender's claim: until claimed_until no other sender takes the row; a sender killed
    # mid-delivery leaves a claim that expires, and the message is sent later.
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
