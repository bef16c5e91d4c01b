"""Absolute links for messages that leave the app (emails, the CLI's invitation links)."""

from flask import current_app, has_request_context, url_for

LOCAL_BASE_URL = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values) -> str:
    """BASE_URL when configured; else the address of the current request; else `make run`'s."""
    base = current_app.config.get("BASE_URL")
    if base is None and has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context("/", base_url=base or LOCAL_BASE_URL):
        return url_for(endpoint, _external=True, **values)
