"""Headers that every response carries, and what pages must never contain."""

import re

import pytest

from .fixtures.domain import ROOT, log_in


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/awards/excellence-award",
        "/login",
        "/nope",
        "/api/v1/awards",
        "/api/v1/openapi.json",
        "/static/css/app.css",
    ],
)
def test_every_response_has_the_security_headers(client, seeded_award, url):
    with client.get(url) as response:
        headers = response.headers
    policy = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # development: plain HTTP


def test_hsts_outside_development(make_app):
    app = make_app()
    response = app.test_client().get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_pages_of_a_logged_in_person_are_never_cached(client, make_user, seeded_award):
    log_in(client, make_user(awards=[seeded_award]))
    for url in ("/jury/", "/awards/excellence-award", "/api/v1/awards"):
        assert client.get(url).headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script_or_event_handlers():
    """The CSP forbids inline script; this keeps templates from silently breaking under it."""
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{template}: inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template}: inline event handler"
        assert "style=" not in text, f"{template}: inline style attribute"


def test_an_error_page_shows_no_internals(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("database password is hunter2")

    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json["code"] == 500
    assert "hunter2" not in response.get_data(as_text=True)
