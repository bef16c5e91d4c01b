"""Two-factor authentication with time-based one-time codes (TOTP) and recovery codes."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
from sqlalchemy import delete, select

from judging.extensions import db
from judging.models import RecoveryCode, User, utcnow
from judging.services.audit import record_event
from judging.services.errors import ServiceError


class TwoFactorError(ServiceError):
    """The code given to turn on two-factor authentication is not right; nothing changed."""


RECOVERY_CODES = 10
ISSUER = "judging"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, *, after: int | None = None) -> int | None:
    """The 30-second step whose code this is: the current one or a neighbour (clock drift
    either way), and later than `after`, so that a code already used cannot be replayed."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_is_valid(secret: str, code: str) -> bool:
    return matching_step(secret, code) is not None


def _recovery_hash(code: str) -> str:
    return hashlib.sha256("".join(code.lower().split()).replace("-", "").encode()).hexdigest()


def enable(user: User, secret: str, code: str, *, actor: User) -> list[str]:
    """Turn on 2FA if `code` proves the authenticator holds `secret`; return recovery codes."""
    step = matching_step(secret, code)
    if step is None:
        raise TwoFactorError("That code is not right. Check the time on your device and try again.")
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = new_recovery_codes(user)
    record_event("user.two_factor_enabled", f"user:{user.id}", {}, actor=actor)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; the plain codes are shown once, only hashes kept."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(c)) for c in codes)
    db.session.flush()
    return codes


def disable(user: User, *, actor: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record_event("user.two_factor_disabled", f"user:{user.id}", {}, actor=actor)


def verify_second_factor(user: User, code: str) -> bool:
    """A current TOTP code not used before, or an unused recovery code (then used up)."""
    if user.totp_secret:
        step = matching_step(user.totp_secret, code, after=user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            return True
    recovery = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if recovery is None:
        return False
    recovery.used_at = utcnow()
    record_event("user.recovery_code_used", f"user:{user.id}", {}, actor=user)
    return True


def unused_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
