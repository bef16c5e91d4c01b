"""Ceremony mode through the test client: the presenter's page, the results sheet and the
winner's certificate; who sees what before and after publication."""

import json
import re

import pytest

from judging.extensions import db
from judging.services import publication

from .fixtures.domain import log_in
from .fixtures.results import presentation, publish, score_all

TITLE = "Excellence Award: Cities Innovation for Social Change"


@pytest.fixture
def ranked(seeded_award, make_user, make_evaluation):
    """The seeded award with every nominee scored; best first in this order."""
    order = [n.slug for n in seeded_award.nominees]
    order.insert(0, order.pop(order.index("evikomp")))
    score_all(seeded_award, make_user, make_evaluation, order)
    return order


@pytest.fixture
def admin(app, make_user):
    client = app.test_client()
    assert log_in(client, make_user(role="admin")).status_code == 302
    return client


@pytest.fixture
def juror(app, make_user, seeded_award):
    client = app.test_client()
    assert log_in(client, make_user(awards=[seeded_award])).status_code == 302
    return client


# --- Before publication: a rehearsal for admins, nothing for anyone else ---------------------


def test_before_publication_only_admins_see_anything(client, admin, juror, ranked):
    assert client.get("/awards/excellence-award/results/sheet").status_code == 404
    assert juror.get("/awards/excellence-award/results/sheet").status_code == 404
    assert juror.get("/admin/awards/excellence-award/present").status_code == 403
    assert client.get("/admin/awards/excellence-award/present").status_code == 302
    # No certificate for a winner who is not yet one, not even for an admin.
    assert admin.get("/admin/awards/excellence-award/certificate").status_code == 404

    sheet = admin.get("/awards/excellence-award/results/sheet")
    assert sheet.status_code == 200
    assert "Provisional — not published." in sheet.get_data(as_text=True)


def test_the_rehearsal_is_labelled_and_holds_the_provisional_ranking(admin, ranked):
    response = admin.get("/admin/awards/excellence-award/present")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    data = presentation(page)
    assert data["rehearsal"] is True
    assert data["steps"][-1]["nominees"][0]["title"] == "EVIKOMP"
    # The label without JavaScript too; with it, presenter.js puts it on every slide.
    assert "Rehearsal — not published" in page


def test_a_rehearsal_leaves_out_nominees_without_a_score(
    admin, seeded_award, make_user, make_evaluation
):
    score_all(seeded_award, make_user, make_evaluation, ["evikomp", "omapu"], jurors=1)
    data = presentation(admin.get("/admin/awards/excellence-award/present").get_data(as_text=True))
    assert [s["nominees"][0]["title"] for s in data["steps"]] == [
        "Office to Support Ukrainian People (OMAPU)",
        "EVIKOMP",
    ]
    assert [s["place"] for s in data["steps"]] == ["2nd place", "Winner"]


# --- After publication ---------------------------------------------------------------------


def test_the_presenter_reveals_from_last_place_to_the_winner(admin, seeded_award, ranked):
    publish(seeded_award)
    page = admin.get("/admin/awards/excellence-award/present").get_data(as_text=True)
    data = presentation(page)
    assert data["rehearsal"] is False
    assert "Rehearsal" not in page
    assert data["award"] == TITLE
    steps = data["steps"]
    assert [s["rank"] for s in steps] == list(range(13, 0, -1))
    assert [s["place"] for s in steps[:3]] == ["13th place", "12th place", "11th place"]
    assert [s["place"] for s in steps[-3:]] == ["3rd place", "2nd place", "Winner"]
    titles = {n.slug: n.title for n in seeded_award.nominees}
    assert [s["nominees"][0]["title"] for s in steps] == [titles[s] for s in reversed(ranked)]
    winner = steps[-1]
    assert winner["winner"] and winner["nominees"] == [
        {
            "title": "EVIKOMP",
            "organisation": "Social Services and Care Department of Linköping Municipality",
            "city": "Linköping",
            "country": "Sweden",
            "score": winner["nominees"][0]["score"],
        }
    ]
    snapshot = json.loads(publication.snapshot_of(seeded_award).document)
    assert winner["nominees"][0]["score"] == f"{snapshot['nominees'][0]['score']:.2f}"


def test_the_published_sheet_is_for_everyone(client, seeded_award, ranked):
    publish(seeded_award)
    response = client.get("/awards/excellence-award/results/sheet")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Provisional" not in page
    digest = publication.snapshot_of(seeded_award).digest
    assert digest in page
    assert "Method</dt><dd>Mean" in page
    for name, share in (("Innovation", "25%"), ("Person-centred approach", "20%")):
        assert name in page and share in page
    assert page.count("<tr class=") == 13
    assert page.index("EVIKOMP") < page.index("Gaming Club")
    assert 'href="/static/css/print.css"' in page


def test_the_certificate_names_the_winner(admin, seeded_award, ranked):
    publish(seeded_award)
    response = admin.get("/admin/awards/excellence-award/certificate")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('<section class="certificate"') == 1
    certificate = page[page.index('<section class="certificate"') :]
    for text in (
        "EVIKOMP",
        "Social Services and Care Department of Linköping Municipality",
        "Linköping, Sweden",
        ">Excellence Award<",  # the award's name, then its theme
        ">Cities Innovation for Social Change<",
        ">Winner<",
    ):
        assert text in certificate
    published = publication.snapshot_of(seeded_award).published_at
    assert f"{published.day} {published:%B %Y}" in certificate


def test_a_shared_first_place_gets_one_certificate_per_winner(
    admin, seeded_award, make_user, make_evaluation
):
    order = [n.slug for n in seeded_award.nominees if n.slug not in ("evikomp", "omapu")]
    score_all(seeded_award, make_user, make_evaluation, [("evikomp", "omapu"), *order])
    publish(seeded_award, reason="A shared first place, as the rules allow.")

    page = admin.get("/admin/awards/excellence-award/certificate").get_data(as_text=True)
    assert page.count('<section class="certificate"') == 2
    assert page.count(">Joint winner<") == 2
    assert "EVIKOMP" in page and "Office to Support Ukrainian People (OMAPU)" in page

    data = presentation(admin.get("/admin/awards/excellence-award/present").get_data(as_text=True))
    assert len(data["steps"]) == 12
    last = data["steps"][-1]
    assert last["place"] == "Joint winners"
    assert {n["title"] for n in last["nominees"]} == {
        "EVIKOMP",
        "Office to Support Ukrainian People (OMAPU)",
    }


# --- What the pages are made of ------------------------------------------------------------


def test_ceremony_pages_have_no_inline_script_or_style(admin, seeded_award, ranked):
    publish(seeded_award)
    for url in (
        "/admin/awards/excellence-award/present",
        "/awards/excellence-award/results/sheet",
        "/admin/awards/excellence-award/certificate",
    ):
        response = admin.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert re.search(r'\ssrc="/static/js/(presenter|forms)\.js"', tag), (url, tag)
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", page), url
        # Nothing from elsewhere: the presenter must work with the venue's network gone.
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), url


def test_a_nominee_title_cannot_break_out_of_the_data_block(admin, seeded_award, ranked):
    nominee = next(n for n in seeded_award.nominees if n.slug == "evikomp")
    nominee.title = "EVIKOMP '><script src=/x.js></script> & co"
    db.session.commit()
    page = admin.get("/admin/awards/excellence-award/present").get_data(as_text=True)
    assert "<script src=/x.js>" not in page
    assert presentation(page)["steps"][-1]["nominees"][0]["title"] == nominee.title


def test_the_pages_link_to_each_other(admin, client, seeded_award, ranked):
    publish(seeded_award)
    public = client.get("/awards/excellence-award/results").get_data(as_text=True)
    assert 'href="/awards/excellence-award/results/sheet"' in public
    assert "/admin/awards/excellence-award/present" not in public
    results = admin.get("/awards/excellence-award/results").get_data(as_text=True)
    assert 'href="/admin/awards/excellence-award/present"' in results
    assert 'href="/admin/awards/excellence-award/certificate"' in results
    review = admin.get("/admin/awards/excellence-award/review").get_data(as_text=True)
    assert 'action="/admin/awards/excellence-award/present"' in review  # with "reveal the top N"
