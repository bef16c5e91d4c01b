"""Error answers: JSON naming the problem for the API, a calm page elsewhere; never a traceback."""

import sqlite3

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import (
    HTTPException,
    RequestEntityTooLarge,
    SecurityError,
    ServiceUnavailable,
)

from judging import i18n
from judging.extensions import db, login_manager

# Said when the database is down, restarting, read-only (a failover replica) or full. The
# juror's page keeps every change in the browser (static/js/evaluation.js) and resends it.
DATABASE_REFUSED = (
    "The database is not accepting changes right now; your input is kept on this device "
    "and nothing was half-saved. Please try again shortly."
)
DATABASE_REFUSED_PAGE = _l(
    "The database is not accepting changes right now, so nothing was saved (nothing half-saved "
    "either). Go back: what you typed is still in the form. Send it again in a minute."
)
# SQLSTATEs meaning "not now" rather than "this request is wrong": read-only transaction,
# disk full, out of memory, too many connections, admin/crash shutdown, cannot connect now.
_SQLITE_REFUSALS = (
    "readonly database",
    "database or disk is full",
    "database is locked",
    "unable to open database",
    "disk i/o error",
)
_REFUSAL_STATES = {"25006", "53100", "53200", "53300", "57P01", "57P02", "57P03"}


def _code(exc: HTTPException) -> int:
    """The status: Flask hands an error handler only HTTP exceptions that have one."""
    assert exc.code is not None
    return exc.code


def api_error(exc: HTTPException):
    """{"code", "status", "message"} and, for bad input, "errors" naming each offending field."""
    data = getattr(exc, "data", None) or {}
    payload = {
        "code": exc.code,
        "status": exc.name,
        "message": data.get("message", exc.description),
    }
    if errors := data.get("errors") or data.get("messages"):
        payload["errors"] = errors
    if _code(exc) >= 500:  # support finds the log line by it (judging/observability.py)
        payload["request_id"] = g.get("request_id")
    response = jsonify(payload)
    response.status_code = _code(exc)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers.update(data.get("headers", {}))
    return response


def _too_large() -> RequestEntityTooLarge:
    """413 saying how much is accepted (judging/inputs.py sets the limit per request)."""
    limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is not None and length <= limit and request.max_form_memory_size:
        limit = request.max_form_memory_size  # the body fits; one form field was too big
    size = f"{limit // 1024:,} KiB" if limit < 1024 * 1024 else f"{limit / 1024 / 1024:g} MiB"
    if request.path.startswith("/api/"):
        message = (
            f"This request is larger than this address accepts (at most {size}); nothing was saved."
        )
    else:  # a page: in the page's language
        message = gettext(
            "This request is larger than this address accepts (at most %(size)s); nothing was "
            "saved. Go back: what you typed is still in the form; send less at a time.",
            size=size,
        )
    return RequestEntityTooLarge(message)


def database_refused(exc: DBAPIError) -> bool:
    """True when the database is unavailable or refuses writes, as opposed to a bug in a query."""
    if isinstance(exc.orig, sqlite3.Error):
        # SQLite calls a missing table an OperationalError too: only these mean "not now".
        return any(words in str(exc.orig).lower() for words in _SQLITE_REFUSALS)
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return True  # PostgreSQL down, restarting, or cut off
    return getattr(exc.orig, "sqlstate", None) in _REFUSAL_STATES


def _refused_answer(exc: DBAPIError):
    """503 saying the input is safe; JSON for the API, a plain page elsewhere."""
    current_app.logger.warning("database refused a request: %s", exc.orig)
    # No rollback here: it would expire the logged-in user, and reading them again (the page's
    # header, the request log) would need the database once more. The request's teardown
    # removes the session, and the pool replaces a lost connection (pre-ping). If loading the
    # user is what failed, answer as to a visitor rather than ask the database again.
    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    if user is None or (state is not None and state.expired_attributes):
        g._login_user = login_manager.anonymous_user()
    error = ServiceUnavailable(str(DATABASE_REFUSED_PAGE))
    headers = {"Retry-After": "30"}
    if request.path.startswith("/api/"):
        response = jsonify(
            {
                "code": 503,
                "status": error.name,
                "message": DATABASE_REFUSED,
                "request_id": g.get("request_id"),
            }
        )
        return response, 503, headers
    try:
        # The page's header reads the logged-in user, which may need the database again.
        return render_template("error.html", error=error), 503, headers
    except SQLAlchemyError:  # the header needed the user, and the database is still away
        heading, sentence = page_words(error)
        page = (
            f'<!doctype html><html lang="{i18n.current()}"><meta charset="utf-8">'
            f"<title>503 {escape(heading)} · judging</title>"
            f"<h1>{escape(heading)}</h1><p>{escape(sentence)}</p></html>"
        )
        return page, 503, headers


# The app's own words for an error page, where the view gave none of its own (Werkzeug's
# default description is written for developers: "If you entered the URL manually…").
# 429 is left to the login throttling's own wording.
PAGE_WORDS = {
    400: (
        _l("This request could not be handled"),
        _l(
            "Go back and try again. If you were sending a form, what you typed is still on the "
            "previous page."
        ),
    ),
    401: (_l("Please log in"), _l("This page needs you to log in first.")),
    403: (_l("Not for this account"), _l("This page is not open to your account.")),
    404: (
        _l("Page not found"),
        _l(
            "There is no page at this address. The link may be mistyped or out of date; the "
            "awards are listed on the home page."
        ),
    ),
    405: (
        _l("That does not work here"),
        _l(
            "This address does not take that kind of request. Go back and use the page's own "
            "links and buttons."
        ),
    ),
    413: (
        _l("Too large"),
        _l(
            "What was sent is larger than this site accepts. Nothing was saved: send a smaller "
            "file."
        ),
    ),
    500: (
        _l("Something went wrong"),
        _l("Something went wrong on our side and has been logged. Try again in a moment."),
    ),
    503: (
        _l("Not available right now"),
        _l("The site cannot answer right now. Try again in a minute."),
    ),
}


def page_words(exc: HTTPException) -> tuple[str, str]:
    """(heading, sentence) for the error page: the view's own description when it gave one."""
    heading, default = PAGE_WORDS.get(_code(exc), (exc.name, exc.description or ""))
    description = exc.description
    if not description or description == type(exc).description:
        description = default
    return str(heading), str(description)  # in the page's language


def register(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        if database_refused(exc):
            return _refused_answer(exc)
        raise exc  # a real bug: the ordinary 500

    @app.teardown_appcontext
    def drop_a_dead_session(_exc):
        """Close the session before Flask-SQLAlchemy does, forgiving a connection that died
        after the answer was ready (PostgreSQL restarting): that answer still goes out, and
        the dead connection leaves the pool."""
        try:
            db.session.remove()
        except DBAPIError as exc:
            current_app.logger.warning("database connection lost after a request: %s", exc.orig)
            db.session.registry.clear()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, SecurityError):  # a Host outside TRUSTED_HOSTS: no URL can be built
            page = (
                '<!doctype html><html lang="en"><meta charset="utf-8">'
                "<title>400 Bad Request · judging</title><h1>Bad Request</h1>"
                "<p>This site is not served at the address you used.</p></html>"
            )
            return page, 400
        if isinstance(exc, RequestEntityTooLarge):
            exc = _too_large()
        if request.path.startswith("/api/"):
            return api_error(exc)
        heading, description = page_words(exc)
        page = render_template("error.html", error=exc, heading=heading, description=description)
        response = current_app.make_response((page, _code(exc)))
        for name, value in exc.get_headers():  # Allow on a 405, Retry-After on a 429
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
