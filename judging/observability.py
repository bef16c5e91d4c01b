"""Logs an operator can use: one line per request, a request id on every line, no secrets.

LOG_FORMAT=json writes one JSON object per line (ts, level, logger, message, request_id and the
record's fields); text writes the same for people. A request's line names the matched route
pattern (`/invitation/<token>`), never the raw path or query string: those carry invitation
tokens, vote codes and voting links.
"""

import json
import logging
import re
import secrets
import sys
import time
import traceback
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from sqlalchemy import inspect

REQUEST_ID_HEADER = "X-Request-ID"
# An id from the load balancer is kept only if it cannot smuggle anything into a log line.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The fields of a request's line, in the order the text format prints them.
REQUEST_FIELDS = ("method", "route", "endpoint", "status", "duration_ms", "user_id")
# Loggers that print bound parameters or result rows (emails, hashes) below WARNING. SQLAlchemy
# sets itself to WARNING on import, but only if nothing configured it first.
QUIET_LOGGERS = ("sqlalchemy",)

# The request lines, and nothing else, so that a collector can select them by logger.
log = logging.getLogger("judging.requests")
app_log = logging.getLogger("judging")


def request_id() -> str | None:
    """The current request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        safe = SAFE_REQUEST_ID.fullmatch(offered)
        g.request_id = offered if safe else secrets.token_hex(16)
        if offered and not safe:  # logged after g.request_id is set: this line carries it too
            app_log.debug("an unsafe X-Request-ID was replaced (%d characters)", len(offered))
    return g.request_id


_base_factory = logging.getLogRecordFactory()


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id()
    return record


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for field in REQUEST_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger [request id] message field=value ...` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields = " ".join(
            f"{field}={getattr(record, field)}"
            for field in REQUEST_FIELDS
            if hasattr(record, field)
        )
        request_id = getattr(record, "request_id", None) or "-"
        line = f"{ts} {record.levelname} {record.name} [{request_id}]"
        line += f" {record.getMessage()}" + (f" {fields}" if fields else "")
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (gunicorn and test runners replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(app: Flask) -> None:
    """One handler on the root logger, in LOG_FORMAT at LOG_LEVEL; request ids on every record."""
    log_format = str(app.config["LOG_FORMAT"]).lower()
    if log_format not in FORMATTERS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATTERS)}, not {log_format!r}")
    if logging.getLogRecordFactory() is not _record_factory:
        logging.setLogRecordFactory(_record_factory)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)  # a second app in one process replaces the first's
    handler = StderrHandler()
    handler.setFormatter(FORMATTERS[log_format]())
    root.addHandler(handler)
    root.setLevel(str(app.config["LOG_LEVEL"]).upper())
    app.logger.removeHandler(default_handler)
    # Even at DEBUG: SQLAlchemy would log every statement's parameters and every row.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _user_id() -> int | None:
    # Only a user the request already loaded: logging must not cost a query of its own.
    # The identity map's key, not `user.id`: after a commit the attribute is expired, and reading
    # it would query the database (which may just have gone away, turning a saved answer into 500).
    user = g.get("_login_user")
    if user is None or not user.is_authenticated:
        return None
    identity = inspect(user).identity
    return identity[0] if identity else None


def _log_exception(exc_info) -> None:
    """Flask's own message names the raw path; this one names the route and the request id."""
    app_log.error(
        "unhandled exception in %s %s (request id %s)",
        request.method,
        request.url_rule.rule if request.url_rule else "-",
        request_id(),
        exc_info=exc_info,
    )


def register(app: Flask) -> None:
    """Request ids in and out, and one log line per request."""
    configure_logging(app)
    # An instance attribute wins over Flask.log_exception, which would log the raw path.
    app.log_exception = _log_exception  # type: ignore[method-assign]

    @app.before_request
    def start_clock():
        g.request_started = time.perf_counter()
        request_id()

    @app.after_request
    def log_request(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        started = g.get("request_started")
        status = response.status_code
        log.log(
            logging.ERROR if status >= 500 else logging.INFO,
            "%s %s %s",
            request.method,
            request.url_rule.rule if request.url_rule else "-",
            status,
            extra={
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "endpoint": request.endpoint,
                "status": status,
                "duration_ms": (
                    round((time.perf_counter() - started) * 1000, 1) if started else None
                ),
                "user_id": _user_id(),
            },
        )
        return response
