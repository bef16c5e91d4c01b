"""Error answers: JSON naming the problem for the API, a calm page elsewhere; never a traceback."""

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


def _api_error(exc: HTTPException):
    """{"code", "status", "message"} and, for bad input, "errors" naming each offending field."""
    data = getattr(exc, "data", None) or {}
    payload = {
        "code": exc.code,
        "status": exc.name,
        "message": data.get("message", exc.description),
    }
    if errors := data.get("errors") or data.get("messages"):
        payload["errors"] = errors
    if exc.code >= 500:  # support finds the log line by it (judging/observability.py)
        payload["request_id"] = g.get("request_id")
    response = jsonify(payload)
    response.status_code = exc.code
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers.update(data.get("headers", {}))
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return _api_error(exc)
        return render_template("error.html", error=exc), exc.code
