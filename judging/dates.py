"""One way to show a date and time: in the deployment's time zone (TIME_ZONE), with its
abbreviation, as in "1 December 2026, 14:30 CET". The database keeps naive UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup, escape

STYLES = ("datetime", "date", "time", "seconds")


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIME_ZONE") or "UTC")


def zone_name(at: datetime | None = None) -> str:
    """The zone's abbreviation at that moment (CET or CEST), for labels such as form fields."""
    return to_local(at or datetime.now(UTC).replace(tzinfo=None)).tzname() or "UTC"


def to_local(value: datetime) -> datetime:
    """A stored (naive UTC) or aware time, in the display zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone())


def from_local(value: datetime | None) -> datetime | None:
    """A time typed in the display zone (naive), as the database keeps it (naive UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=zone()).astimezone(UTC).replace(tzinfo=None)


def as_local_input(value: datetime | None) -> datetime | None:
    """A stored time as a naive time in the display zone, for a datetime-local field."""
    return None if value is None else to_local(value).replace(tzinfo=None)


def format_when(value: datetime | None, style: str = "datetime") -> str:
    """'1 December 2026, 14:30 CET'; 'date': '1 December 2026'; 'time': '14:30 CET';
    'seconds': '1 December 2026, 14:30:05 CET'."""
    if value is None:
        return ""
    local = to_local(value)
    day = f"{local.day} {local:%B %Y}"
    if style == "date":
        return day
    clock = f"{local:%H:%M:%S}" if style == "seconds" else f"{local:%H:%M}"
    if style == "time":
        return f"{clock} {local.tzname()}"
    return f"{day}, {clock} {local.tzname()}"


def when(value: datetime | None, style: str = "datetime") -> Markup:
    """A <time> element: the machine-readable instant and the text of format_when."""
    if value is None:
        return Markup("")
    instant = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    iso = instant.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    return Markup('<time datetime="{}">{}</time>').format(iso, escape(format_when(value, style)))
