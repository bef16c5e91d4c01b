"""Who may do what: loading the user of a session, role guards, idle timeouts, fresh logins."""

import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from judging.auth.throttle import Counter, count_failure, in_words, seconds_to_wait
from judging.extensions import db, login_manager, signed_in
from judging.models import User
from judging.passwords import app_passwords
from judging.services import settings as app_settings
from judging.services import two_factor


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session, unless their session_version moved on (logout, deactivation...)."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def start_session(user: User) -> None:
    """A brand-new session for a user who just proved who they are."""
    session.clear()
    login_user(user)
    session.permanent = True
    session["authenticated_at"] = session["seen_at"] = time.time()


def end_session() -> None:
    logout_user()
    session.clear()


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`: no open redirects."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def home_for(user: User) -> str:
    return url_for("admin.index") if user.is_admin else url_for("jury.dashboard")


def _wants_json() -> bool:
    return request.path.startswith("/api/")


# How often a request writes the time it was seen into the session. The session is a cookie:
# writing it on every request would send a new cookie with every answer, and of two answers
# that cross (a page and its stylesheet, an autosave and a form), the later one to arrive
# would put back the session as its request found it: a value the other had just stored (the
# secret a 2FA enrolment waits to see confirmed) was lost. The idle limit is therefore kept to
# within this many seconds.
SEEN_AT_EVERY_S = 60


def enforce_idle_timeout():
    """Log out a user idle for longer than their role allows (30 minutes for admins)."""
    if request.endpoint == "static" or not signed_in():
        return None  # a stylesheet or script never ends, extends nor rewrites a session
    now = time.time()
    limit = current_app.config["IDLE_TIMEOUT"][current_user.role].total_seconds()
    if now - session.get("seen_at", 0) > limit:
        end_session()
        if _wants_json():
            abort(401, "Your session has ended. Log in again; nothing you entered is lost.")
        flash("You were logged out after a period of inactivity. Please log in again.", "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if now - session.get("seen_at", 0) >= SEEN_AT_EVERY_S:
        session["seen_at"] = now
    return None


@login_manager.unauthorized_handler
def unauthorized():
    if _wants_json():
        abort(401, "Log in first.")
    flash("Please log in to continue.", "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def guard_blueprint(blueprint: Blueprint, role: str) -> None:
    """Every view of `blueprint` needs a logged-in user with `role` (admins: 2FA if required)."""

    @blueprint.before_request
    def _require_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != role:
            abort(403, "This page is not for your account.")
        if role == "admin" and admin_needs_two_factor(current_user):
            flash(
                "Set up two-factor authentication to continue: it is required "
                "for every administrator.",
                "info",
            )
            return redirect(url_for("auth.two_factor_setup"))
        return None


def two_factor_required(user: User) -> bool:
    """Whether the setting that requires 2FA of every administrator applies to this user."""
    if not user.is_admin:
        return False
    return app_settings.require_admin_2fa() == "on"


def admin_needs_two_factor(user: User) -> bool:
    return two_factor_required(user) and not user.has_two_factor


def login_is_fresh() -> bool:
    """Whether the password was typed within FRESH_LOGIN_WINDOW."""
    window = current_app.config["FRESH_LOGIN_WINDOW"].total_seconds()
    return time.time() - session.get("authenticated_at", 0) <= window


@dataclass(frozen=True)
class Refusal:
    """Why the identity was not confirmed, in words, and the HTTP status to answer with."""

    message: str
    status: int


def confirm_identity(password: str | None, code: str | None) -> Refusal | None:
    """The one way to confirm, mid-session, that the logged-in person is at the keyboard:
    their password and, if they have two-factor authentication, a code. Every form that asks
    for the current password again goes through here, so that every one of them has the same
    limit (LOGIN_LIMIT_PER_ACCOUNT wrong attempts per account, on one counter for all of these
    forms) and the same second factor. None when confirmed: the login is then fresh."""
    user = current_user._get_current_object()
    counter = [Counter("reauthenticate", str(user.id))]
    if wait := seconds_to_wait(counter):
        return Refusal(
            f"Too many wrong attempts. Try again in {in_words(wait)}, or log out and log in again.",
            429,
        )
    ok = app_passwords().verify(user.password_hash, password or "")
    if ok and user.has_two_factor:
        ok = two_factor.verify_second_factor(user, code or "")
    if not ok:
        count_failure(counter)
        if user.has_two_factor:
            return Refusal("That password and two-factor code do not match. Try again.", 422)
        return Refusal("That password does not match. Try again.", 422)
    db.session.commit()  # a code, once used, stays used
    session["authenticated_at"] = time.time()
    return None


def fresh_login_required(view):
    """Sensitive actions need a password typed within FRESH_LOGIN_WINDOW."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not login_is_fresh():
            back = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
            flash("For your security, confirm your password, then repeat the action.", "info")
            return redirect(url_for("auth.reauthenticate", next=_path_of(back)))
        return view(*args, **kwargs)

    return wrapped


def _path_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
