"""The Jinja filters every page shares: one way to show a time, addresses that wrap cleanly."""

from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup

from judging import dates


def breakable_email(address: str) -> Markup:
    """An address that may wrap only before its "@", never in mid-word: its two halves are
    unbreakable boxes (a <wbr> would not do: Chromium breaks at it even under nowrap)."""
    local, at, domain = str(address).partition("@")
    if not at:
        return Markup('<span class="email-part">{}</span>').format(address)
    return Markup('<span class="email-part">{}</span><span class="email-part">@{}</span>').format(
        local, domain
    )


def register(app: Flask) -> None:
    ZoneInfo(app.config.get("TIME_ZONE") or "UTC")  # a misspelt zone stops the app at start
    app.jinja_env.filters["when"] = dates.when
    app.jinja_env.filters["breakable_email"] = breakable_email
    app.jinja_env.globals["time_zone"] = lambda: str(dates.zone())
