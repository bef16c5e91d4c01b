"""Public answers are cacheable: ETag, 304, no cookie; private ones never are (issue 17)."""

import pytest
from sqlalchemy import create_engine, text

from judging import caching
from judging.extensions import db
from judging.services import publication
from judging.services.awards import transition

from .fixtures.domain import log_in

AWARD = "/awards/excellence-award"
NOMINEE = "/awards/excellence-award/nominees/konekta2"
RESULTS = "/awards/excellence-award/results"
RESULTS_JSON = "/api/v1/awards/excellence-award/results"


@pytest.fixture(autouse=True)
def empty_page_cache():
    caching.pages.clear()
    yield
    caching.pages.clear()


@pytest.fixture
def published(seeded_award):
    transition(seeded_award, "open_scoring", actor=None)
    transition(seeded_award, "close_scoring", actor=None)
    publication.publish(seeded_award, actor=None, override_reason="test")
    db.session.commit()
    return seeded_award


def assert_public(response):
    assert response.headers["Cache-Control"].startswith("public")
    assert "Cookie" in response.headers.get("Vary", "")
    assert "Set-Cookie" not in response.headers
    assert response.headers["ETag"]


@pytest.mark.parametrize("url", [RESULTS, RESULTS_JSON])
def test_published_results_answer_304_with_no_cookie(app, published, url):
    visitor = app.test_client()
    first = visitor.get(url)
    assert first.status_code == 200
    assert_public(first)
    assert first.get_data()  # the whole answer the first time

    again = visitor.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert_public(again)
    # Every protection is on the 304 too.
    assert again.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in again.headers["Content-Security-Policy"]

    # Another visitor gets the same bytes (kept per process) under the same tag.
    other = app.test_client().get(url)
    assert other.get_data() == first.get_data()
    assert other.headers["ETag"] == first.headers["ETag"]


def test_published_results_json_is_the_snapshot(app, published):
    answer = app.test_client().get(RESULTS_JSON).get_json()
    snapshot = publication.snapshot_of(published)
    assert answer["digest"] == snapshot.digest
    assert answer["provisional"] is False


@pytest.mark.parametrize("url", [AWARD, NOMINEE, RESULTS])
def test_an_anonymous_page_view_starts_no_session(app, published, url):
    response = app.test_client().get(url)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert 'name="csrf-token"' not in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [AWARD, NOMINEE])
def test_a_nominee_change_gives_a_new_validator_and_page(app, seeded_award, url):
    visitor = app.test_client()
    before = visitor.get(url)
    assert before.status_code == 200
    assert_public(before)
    assert visitor.get(url, headers={"If-None-Match": before.headers["ETag"]}).status_code == 304

    nominee = next(n for n in seeded_award.nominees if n.slug == "konekta2")
    nominee.title = "Konekta, renamed"
    db.session.commit()

    after = visitor.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "Konekta, renamed" in after.get_data(as_text=True)


def test_an_award_change_gives_a_new_validator(app, seeded_award):
    visitor = app.test_client()
    before = visitor.get(NOMINEE).headers["ETag"]
    seeded_award.title = "The Excellence Award, renamed"
    db.session.commit()
    after = visitor.get(NOMINEE)
    assert after.headers["ETag"] != before
    assert "The Excellence Award, renamed" in after.get_data(as_text=True)


def test_a_change_by_another_process_shows_once_the_validator_expires(
    app, seeded_award, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(caching.Validators, "clock", staticmethod(lambda: now[0]))
    visitor = app.test_client()
    before = visitor.get(AWARD)
    assert before.status_code == 200
    # Another process (a second worker, the CLI) renames the award: this process saw no commit.
    with create_engine(app.config["SQLALCHEMY_DATABASE_URI"]).begin() as other:
        other.execute(
            text("UPDATE award SET title = 'Renamed elsewhere' WHERE id = :id"),
            {"id": seeded_award.id},
        )
    now[0] += caching.VALIDATOR_TTL_S / 2
    assert visitor.get(AWARD).headers["ETag"] == before.headers["ETag"]  # still trusted
    now[0] += caching.VALIDATOR_TTL_S
    after = visitor.get(AWARD)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "Renamed elsewhere" in after.get_data(as_text=True)


def test_the_locale_is_part_of_the_validator(app, seeded_award, monkeypatch):
    english = app.test_client().get(AWARD).headers["ETag"]
    monkeypatch.setattr(caching, "locale", lambda: "fr")
    assert app.test_client().get(AWARD).headers["ETag"] != english


def test_a_logged_in_admin_never_fills_a_public_cache(app, seeded_award, make_user):
    seeded_award.public = False
    db.session.commit()
    admin = app.test_client()
    log_in(admin, make_user(role="admin"))
    seen = admin.get(AWARD)
    assert seen.status_code == 200  # the admin checks the award before it is public
    assert seen.headers["Cache-Control"] == "no-store"
    assert "ETag" not in seen.headers
    assert len(caching.pages) == 0
    assert app.test_client().get(AWARD).status_code == 404  # a visitor still sees nothing


def test_a_logged_in_person_gets_the_page_not_a_304(app, seeded_award, make_user):
    tag = app.test_client().get(AWARD).headers["ETag"]
    juror = app.test_client()
    log_in(juror, make_user())
    page = juror.get(AWARD, headers={"If-None-Match": tag})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "ETag" not in page.headers
    assert "Log out" in page.get_data(as_text=True)


def test_an_award_that_is_not_public_is_never_kept(app, seeded_award):
    seeded_award.public = False
    db.session.commit()
    for url in (AWARD, NOMINEE):
        assert app.test_client().get(url).status_code == 404
    assert len(caching.pages) == 0


def test_a_visitor_with_a_session_is_answered_as_before(app, seeded_award):
    visitor = app.test_client()
    visitor.get("/login")  # a form: its CSRF token is now in the visitor's session
    page = visitor.get(AWARD)
    assert page.status_code == 200
    assert "ETag" not in page.headers
    assert not page.headers.get("Cache-Control", "").startswith("public")


def test_an_award_open_for_the_vote_is_not_kept(app, seeded_award):
    seeded_award.status = "voting"
    db.session.commit()
    page = app.test_client().get(AWARD)
    assert page.status_code == 200 and "Voting is open" in page.get_data(as_text=True)
    assert "ETag" not in page.headers
    assert len(caching.pages) == 0


def test_the_page_cache_is_bounded_and_keeps_the_most_recent():
    pages = caching.PageCache(2)
    pages.put("a", (b"A", "text/html"))
    pages.put("b", (b"B", "text/html"))
    assert pages.get("a") == (b"A", "text/html")  # a is now the most recent
    pages.put("c", (b"C", "text/html"))
    assert "b" not in pages and "a" in pages and "c" in pages
    assert len(pages) == 2
