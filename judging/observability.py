"""Logs an operator can use: one line per request, a request id on every line, no secrets.

LOG_FORMAT=json writes one JSON object per line (ts, level, logger, message, request_id and the
record's fields); text writes the same for people. A request's line names the matched route
pattern (`/invitation/<token>`), never the raw path or query string: those carry invitation
tokens, vote codes and voting links.
"""

import atexit
import contextlib
import json
import logging
import logging.handlers
import os
import queue
import random
import re
import sys
import threading
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
        g.request_id = offered if safe else _new_request_id()
        if offered and not safe:  # logged after g.request_id is set: this line carries it too
            app_log.debug("an unsafe X-Request-ID was replaced (%d characters)", len(offered))
    return g.request_id


def _new_request_id() -> str:
    """32 hex digits, unique in practice. Not a secret, so not from the OS's random source:
    os.urandom is a system call, and it cost more than the rest of /healthz together on a
    sandboxed machine. `random` is reseeded in every forked worker (os.register_at_fork)."""
    return f"{random.getrandbits(128):032x}"


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

    def write_lines(self, lines: list[str]) -> None:
        """Write formatted lines in one write, then forget them (the request log's batches)."""
        if not lines:
            return
        text = self.terminator.join(lines) + self.terminator
        lines.clear()
        try:
            with self.lock:  # type: ignore[union-attr]  # made in Handler.__init__
                stream = self.stream
                stream.write(text)
                stream.flush()
        except Exception:  # stderr closed: the lines are lost, the writer goes on
            _report_log_failure()


class RequestLineQueue(logging.handlers.QueueHandler):
    """The root logger's handler. A request's line (INFO on `judging.requests`, one per request)
    is handed to a writer thread, which formats and writes it: the request thread only puts the
    record in a queue. Every other record (warnings, errors, a 500's line, anything logged at
    start-up or by a command) is written at once, after the lines queued before it, so the order
    of the output holds and an error is on stderr before the process can die.

    The writer thread belongs to the process that started it: a forked worker (gunicorn) starts
    its own on its first line. At exit the queue is written out. A handler that fails in the
    writer thread is reported by logging as usual and the thread goes on.
    """

    FLUSH_TIMEOUT_S = 5.0
    POLL_S = 0.05  # how late a request's line may be written

    def __init__(self, target: logging.Handler):
        super().__init__(queue.SimpleQueue())
        self.target = target
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._wake = threading.Event()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record  # formatting is the writer thread's work, not the request's

    def _writer(self, records: queue.SimpleQueue) -> None:
        # It wakes every POLL_S (or at once for a flush) and writes what has come in one write:
        # a request only appends to the queue, and never pays for waking this thread, nor this
        # thread for a system call per line (each cost more than formatting the line).
        lines: list[str] = []
        while True:
            self._wake.wait(self.POLL_S)
            self._wake.clear()
            while True:
                try:
                    item = records.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._write_out(lines)
                    return
                if isinstance(item, threading.Event):
                    self._write_out(lines)
                    item.set()
                    continue
                target = self.target
                try:
                    if isinstance(target, StderrHandler):
                        lines.append(target.format(item))
                    else:  # another handler put in its place (tests): one record at a time
                        target.handle(item)
                except Exception:  # a broken handler loses its line, never the writer
                    target.handleError(item)
            self._write_out(lines)

    def _write_out(self, lines: list[str]) -> None:
        if lines and isinstance(self.target, StderrHandler):
            self.target.write_lines(lines)
        lines.clear()

    def _running(self) -> bool:
        return self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        with self._start_lock:
            if self._running():
                return
            self.queue = queue.SimpleQueue()  # a forked child's copy may hold the parent's lines
            self._wake = threading.Event()  # nor share its parent's lock
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._writer, args=(self.queue,), name="request-log", daemon=True
            )
            self._thread.start()

    def flush(self) -> None:
        """Wait until every line queued so far is written (at most FLUSH_TIMEOUT_S)."""
        if self._running():
            written = threading.Event()
            self.queue.put_nowait(written)
            self._wake.set()
            written.wait(self.FLUSH_TIMEOUT_S)
        self.target.flush()

    def close(self) -> None:
        self.flush()
        if self._running():
            self.queue.put_nowait(None)
            self._wake.set()
        super().close()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == log.name and record.levelno < logging.WARNING:
            if not self._running():
                self._start()
            super().emit(record)  # enqueue; a failure is reported by handleError
            return
        self.flush()
        self.target.handle(record)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        self.target.setFormatter(fmt)


def flush_request_log() -> None:
    """Write out the request lines still queued (a benchmark counts their cost; tests read them)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RequestLineQueue):
            handler.flush()


def configure_logging(app: Flask) -> None:
    """One handler on the root logger, in LOG_FORMAT at LOG_LEVEL; request ids on every record."""
    log_format = str(app.config["LOG_FORMAT"]).lower()
    if log_format not in FORMATTERS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATTERS)}, not {log_format!r}")
    if logging.getLogRecordFactory() is not _record_factory:
        logging.setLogRecordFactory(_record_factory)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, RequestLineQueue)]:
        root.removeHandler(handler)  # a second app in one process replaces the first's
        handler.close()
    stderr = StderrHandler()
    stderr.setFormatter(FORMATTERS[log_format]())
    root.addHandler(RequestLineQueue(stderr))
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

    @app.after_request
    def log_request(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        try:
            _log_request_line(response.status_code)
        except Exception:  # the log must never turn an answer into a 500
            _report_log_failure()
        return response


def _log_request_line(status: int) -> None:
    level = logging.ERROR if status >= 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    started = g.get("request_started")
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    rule = current.url_rule.rule if current.url_rule else None
    # makeRecord and handle, not log.log: the line's origin is always this function, so the
    # stack walk that log.log does to find its caller would be wasted on every request.
    record = log.makeRecord(
        log.name,
        level,
        __file__,
        0,
        "%s %s %s",
        (current.method, rule or "-", status),
        None,
        extra={
            "method": current.method,
            "route": rule,
            "endpoint": current.endpoint,
            "status": status,
            "duration_ms": (round((time.perf_counter() - started) * 1000, 1) if started else None),
            "user_id": _user_id(),
        },
    )
    log.handle(record)


def _report_log_failure() -> None:
    with contextlib.suppress(Exception):  # stderr itself gone: nothing left to tell
        sys.stderr.write(f"judging: a request's log line failed: {sys.exc_info()[1]!r}\n")


@atexit.register
def _write_out_at_exit() -> None:
    flush_request_log()
