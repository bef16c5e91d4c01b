"""Every error a browser can meet is the app's own page in the app's own words; the API
answers JSON."""

import pytest

from .fixtures.domain import log_in, text_of

WERKZEUG_WORDS = ("If you entered the URL manually", "The method is not allowed", "requested URL")


@pytest.mark.parametrize(
    ("method", "path", "status", "heading"),
    [
        ("GET", "/nowhere", 404, "Page not found"),
        ("GET", "/static/nowhere.css", 404, "Page not found"),
        ("DELETE", "/", 405, "That does not work here"),
        ("POST", "/logout", 400, "This request could not be handled"),
    ],
)
def test_errors_are_the_apps_own_page(client, method, path, status, heading):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert 'class="site-header"' in page and "Back to the awards" in page
    assert f"<h1>{heading}</h1>" in page
    assert not any(words in page for words in WERKZEUG_WORDS)


def test_a_405_still_says_what_is_allowed(client):
    response = client.delete("/")
    assert "GET" in response.headers["Allow"]


def test_a_request_too_large_is_the_apps_own_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/login", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "<h1>Too large</h1>" in response.get_data(as_text=True)
    assert "nothing was saved" in text_of(response).lower()


def test_a_view_that_says_why_keeps_its_words(client, make_user, seeded_award):
    juror = make_user(role="juror")
    log_in(client, juror)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "This page is not for your account." in text_of(response)


@pytest.mark.parametrize(("method", "status"), [("GET", 404), ("DELETE", 405)])
def test_the_api_answers_json_problems(client, method, status):
    path = "/api/v1/nowhere" if status == 404 else "/api/v1/awards"
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.is_json and response.json["code"] == status
