"""The Jinja filters every page shares: one way to show a time, addresses that wrap cleanly."""

import re
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup, escape

from judging import dates


def breakable_email(address: str) -> Markup:
    """An address that may wrap only before its "@", never in mid-word."""
    parts = re.split(r"(?=@)", str(address))
    return Markup("<wbr>").join(escape(part) for part in parts)


def register(app: Flask) -> None:
    ZoneInfo(app.config.get("TIME_ZONE") or "UTC")  # a misspelt zone stops the app at start
    app.jinja_env.filters["when"] = dates.when
    app.jinja_env.filters["breakable_email"] = breakable_email
    app.jinja_env.globals["time_zone"] = lambda: str(dates.zone())
