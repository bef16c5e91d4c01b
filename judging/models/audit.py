"""The audit ledger."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from judging.models.base import Base, utcnow


class AuditEvent(Base):
    """One entry of the append-only ledger; each holds the hash of the one before it."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The actor's id and a readable label: the label survives a later anonymisation intact.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    # Unique: two events chained to the same predecessor would be a fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "hmac-sha256": hash is an HMAC under the audit key. NULL: a plain SHA-256 link, written
    # before the chain was keyed (or by that release during the upgrade); see services/audit.py.
    scheme: Mapped[str | None] = mapped_column(String(16))
    # A keyed event's position in the chain (1, 2...), under its HMAC: the checkpoint's count.
    seq: Mapped[int | None] = mapped_column()
