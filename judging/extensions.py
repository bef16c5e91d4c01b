"""Flask extensions, created unbound here and bound to the app in create_app."""

import sqlite3

from flask import session
from flask.globals import request_ctx
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from judging.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
api = Api()
# Counters in Redis when REDIS_URL is set (shared by every process), else in memory.
limiter = Limiter(get_remote_address)


def signed_in() -> bool:
    """`current_user.is_authenticated`, without loading anyone for a session that names nobody.
    Flask-Login would look for a remember-me cookie then; this app never sets one (login_user
    is never asked to remember), so a session without a user id is an anonymous visitor."""
    return "_user_id" in session and current_user.is_authenticated


def refused(response) -> bool:
    """For limits that count only refused attempts (deduct_when=refused): a whole ceremony
    hall may vote from behind one venue router; guessing codes is what such a limit stops."""
    return 400 <= response.status_code < 500 and response.status_code != 429


# How long an SQLite writer waits for another writer before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 15_000


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _connection_record):
    """Foreign keys on, WAL and a busy timeout: concurrent jurors never see 'database is locked'."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def consult_limiter_only_where_limited(app) -> None:
    """Flask-Limiter checks a route's own limits (`@limiter.limit`) in the route's decorator;
    its before-request hook checks only the application-wide, default and blueprint limits. This
    app sets none of those, so that hook would work out on every request that no limit applies:
    here it runs only when such limits exist (decided once, at the first request, when every
    route and setting is in place), or when the limiter has an in-memory fallback or meta limits.
    """
    check = limiter._check_request_limit
    hooks = app.before_request_funcs.setdefault(None, [])
    decided: list[bool] = []

    def needed() -> bool:
        manager = limiter.limit_manager
        return bool(
            manager.application_limits
            or manager.default_limits
            or any(manager.blueprint_limits(app, name) for name in app.blueprints)
            or getattr(limiter, "_in_memory_fallback_enabled", True)
            or getattr(limiter, "_meta_limits", True)
        )

    def check_where_limited():
        if not decided:
            decided.append(needed())
        if decided[0]:
            return check()
        return None

    hooks[:] = [check_where_limited if hook == check else hook for hook in hooks]

    # Its after-request hook (conditional deductions, the X-RateLimit headers) and teardown
    # (clearing its per-request state) matter only to a request the limiter looked at: one
    # that holds the limiter's per-request state, made on its first check.
    def consulted() -> bool:
        return hasattr(request_ctx, "_limiter_request_context")  # the proxy asks the context

    def gated(hook):
        def run_if_consulted(arg):
            return hook(arg) if consulted() else arg

        return run_if_consulted

    for hooks_of in (app.after_request_funcs, app.teardown_request_funcs):
        for key, funcs in hooks_of.items():
            hooks_of[key] = [gated(f) if _is_the_limiters(f) else f for f in funcs]


def _is_the_limiters(hook) -> bool:
    target = getattr(hook, "func", hook)  # the after-request hook is a functools.partial
    return getattr(target, "__self__", None) is limiter or getattr(
        target, "__qualname__", ""
    ).startswith("Limiter.")
