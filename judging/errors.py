"""Generic error pages: a person gets a plain explanation, never a traceback."""

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from judging.extensions import api


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """JSON for the API (with the offending fields, where known); a calm page elsewhere."""
        if request.path.startswith("/api/"):
            return api.handle_http_exception(exc)
        return render_template("error.html", error=exc), exc.code
