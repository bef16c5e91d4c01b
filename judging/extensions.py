"""Flask extensions, created unbound here and bound to the app in create_app."""

import sqlite3

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
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
