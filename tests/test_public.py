"""The public pages: the awards, an award's nominees as cards, one nominee."""

import re

from .fixtures.domain import ROOT


def test_home_lists_the_award(client, seeded_award):
    page = client.get("/").get_data(as_text=True)
    assert "Excellence Award: Cities Innovation for Social Change" in page
    assert 'href="/awards/excellence-award"' in page
    assert "13 nominees" in page


def test_home_without_awards_says_how_to_add_one(client):
    page = client.get("/").get_data(as_text=True)
    assert "There are no awards yet" in page


def test_award_page_shows_every_nominee_as_a_card(client, seeded_award):
    response = client.get("/awards/excellence-award")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('<li class="card">') == 13
    assert "‘Antenne’ Hub" in page
    assert "City of Ostend" in page
    assert "Ostend, Belgium" in page
    assert "Bucharest, Romania" in page
    assert "A Coruña, Spain" in page


def test_nominee_page_shows_the_whole_summary(client, seeded_award):
    nominee = next(n for n in seeded_award.nominees if n.slug == "konekta2")
    response = client.get("/awards/excellence-award/nominees/konekta2")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Fuenlabrada City Council" in page
    assert "Fuenlabrada, Spain" in page
    # The last sentence too: nothing truncated.
    assert nominee.summary.rsplit(". ", 1)[-1].replace("’", "&#39;") in page.replace("’", "&#39;")


def test_unknown_pages_get_a_calm_404(client, seeded_award):
    for url in ("/awards/nope", "/awards/excellence-award/nominees/nope", "/nowhere"):
        response = client.get(url)
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "Page not found" in page and "Back to the awards" in page
        assert "Traceback" not in page


def test_a_crash_shows_a_generic_page_not_a_traceback(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "secret internals" not in page and "Traceback" not in page
    assert "Something went wrong" in page


def test_pages_load_nothing_from_another_host(client, seeded_award):
    """Every asset is served by the app itself, so the site works offline."""
    urls = ["/", "/awards/excellence-award", "/awards/excellence-award/nominees/omapu"]
    for url in urls:
        page = client.get(url).get_data(as_text=True)
        for attribute in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert attribute.startswith("/") or attribute.startswith("#"), (url, attribute)
    for css in (ROOT / "static").rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css.read_text()), css
        assert "@import" not in css.read_text(), css


def test_stylesheet_is_served(client):
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"


def test_a_withdrawn_nominee_leaves_the_public_lists(client, seeded_award, logged_in):
    from judging.extensions import db
    from judging.models import utcnow

    omapu = next(n for n in seeded_award.nominees if n.slug == "omapu")
    omapu.withdrawn_at, omapu.withdrawn_reason = utcnow(), "The city withdrew the entry."
    db.session.commit()
    assert "Office to Support Ukrainian People" not in client.get(
        "/awards/excellence-award"
    ).get_data(as_text=True)
    assert "omapu" not in [
        n["slug"] for n in client.get("/api/v1/awards/excellence-award/nominees").json
    ]
    juror_client, _ = logged_in(awards=[seeded_award])
    page = juror_client.get("/jury/awards/excellence-award/nominees/omapu").get_data(as_text=True)
    assert "This nominee has been withdrawn" in page and "The city withdrew the entry." in page
    assert 'id="evaluation-form"' not in page
