"""Absolute links for messages that leave the app (emails, the CLI's invitation links)."""

from flask import current_app, url_for

LOCAL_BASE_URL = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values) -> str:
    """A link on BASE_URL (else `make run`'s address), never on the request's Host header: a
    forged Host would otherwise have the app mail a reset link pointing to another server.
    Production refuses to start without BASE_URL (judging/config.py)."""
    base = current_app.config.get("BASE_URL") or LOCAL_BASE_URL
    with current_app.test_request_context("/", base_url=base):
        return url_for(endpoint, _external=True, **values)
