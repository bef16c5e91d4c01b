"""Application-wide settings an administrator changes: today, whether every administrator must
use two-factor authentication."""

from __future__ import annotations

from judging.extensions import db
from judging.models import Setting, User
from judging.services.audit import record_event
from judging.services.errors import ServiceError

REQUIRE_ADMIN_2FA = "require_admin_2fa"
TWO_FACTOR_POLICIES = ("on", "off")


class SettingError(ServiceError):
    """A setting refused; nothing was changed."""


def require_admin_2fa() -> str:
    """ "on" when every administrator must use two-factor authentication, else "off"."""
    setting = db.session.get(Setting, REQUIRE_ADMIN_2FA)
    return setting.value if setting else "off"


def set_require_admin_2fa(value: str, *, actor: User) -> None:
    """Require two-factor authentication of every administrator ("on") or leave it to each
    ("off"); a change of value is recorded in the audit log."""
    if value not in TWO_FACTOR_POLICIES:
        raise SettingError(
            "Choose whether administrators need two-factor authentication.",
            field="require_admin_2fa",
        )
    setting = db.session.get(Setting, REQUIRE_ADMIN_2FA)
    if setting is None:
        # No row yet means the default, "off": turning it on the first time is a change too.
        setting = Setting(key=REQUIRE_ADMIN_2FA, value="off")
        db.session.add(setting)
    before, setting.value = setting.value, value
    if before != value:
        record_event(
            "settings.changed",
            f"setting:{REQUIRE_ADMIN_2FA}",
            {"before": before, "after": value},
            actor=actor,
        )
