"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

A browser that has logged in to an account gets a cookie signed with the app's secret key,
naming the account (by a keyed hash of its email address, never the address) and the device
(a random nonce). At the login form:

- from such a device, wrong passwords are counted per device: five lock that device only;
- from any other client, wrong passwords are counted per account (and per address): five lock
  every client without the cookie, the attacker's included, but not the owner's devices.

The cookie grants nothing by itself: the password (and the second factor) are still needed.
"""

import secrets
from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from judging.services.accounts import normalise_email
from judging.services.voting import keyed_hash

COOKIE = "device"
LIFETIME = timedelta(days=365)


def account_key(email: str) -> str:
    """The account as counters and device cookies name it: a keyed hash of the address."""
    return keyed_hash("login:" + normalise_email(email))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="judging.device-cookie")


def trusted_device(email: str) -> str | None:
    """The nonce of this client's device cookie if it is genuine and for this account."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=int(LIFETIME.total_seconds()))
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("account") != account_key(email):
        return None
    nonce = data.get("device")
    return nonce if isinstance(nonce, str) and nonce else None


def remember_device(response, email: str):
    """Give this client a new device cookie for the account it just logged in to."""
    device = secrets.token_urlsafe(16)
    value = _serializer().dumps({"account": account_key(email), "device": device})
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path="/login",  # sent to the login pages only
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
