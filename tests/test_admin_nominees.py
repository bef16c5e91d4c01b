"""The admin's nominee pages: the list, adding and editing, reordering, withdrawing and
reinstating, deleting (never once evaluated), and importing from CSV or JSON with a preview,
all or nothing. Every refusal is checked to have written nothing."""

import csv
import html
import io
import json
import re

import pytest
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import AuditEvent, Award, Evaluation, Nominee
from judging.services import nominees as nominee_service
from judging.services.audit import first_broken_event

from .fixtures.domain import csrf_token, events, log_in, post, text_of
from .fixtures.scoring import ALL_SCORES, AWARD

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL

LIST = f"/admin/awards/{AWARD}/nominees"
IMPORT = f"{LIST}/import"
CONFIRM = f"{IMPORT}/confirm"
SEEDED_ORDER = [
    "gaming-club",
    "day-centre-sviesa",
    "bucharest-for-ukraine",
    "antenne-hub",
    "omapu",
    "jus-app",
    "a-vici-pilot",
    "preventative-care-ai",
    "neighbourhood-network-scheme",
    "evikomp",
    "lgnetea",
    "family-card",
    "konekta2",
]
NEW = {
    "title": "Repair Café Network",
    "organisation": "City of Ghent",
    "city": "Ghent",
    "country": "Belgium",
    "summary": "Volunteers mend what neighbours bring.",
}


@pytest.fixture
def admin(admin_client, seeded_award):
    """The admin's client on the seeded award, with its CSRF token at hand (for uploads)."""
    admin_client.user = admin_client.admin
    admin_client.token = csrf_token(admin_client, "/admin/")
    return admin_client


def upload(client, content: bytes, filename: str, **data):
    return client.post(
        IMPORT,
        data={"file": (io.BytesIO(content), filename), "csrf_token": client.token, **data},
        content_type="multipart/form-data",
    )


def row_text(response, slug: str) -> str:
    """The text of one nominee's row in the list."""
    page = response.get_data(as_text=True)
    row = re.search(rf'<tr id="nominee-{slug}"[^>]*>(.*?)</tr>', page, re.S)
    assert row, f"no row for {slug}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row.group(1))).split())


def order() -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Nominee.slug)
            .join(Award)
            .where(Award.slug == AWARD)
            .order_by(Nominee.position, Nominee.id)
        )
    )


def nominee(slug: str) -> Nominee | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Nominee).join(Award).where(Award.slug == AWARD, Nominee.slug == slug)
    )


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def titles_in_list(response) -> list[str]:
    return re.findall(r'<tr id="nominee-([a-z0-9-]+)"', response.get_data(as_text=True))


# --- The list ---------------------------------------------------------------------------------


def test_the_award_page_links_to_its_nominees(admin):
    page = admin.get(f"/admin/awards/{AWARD}").get_data(as_text=True)
    assert f'href="{LIST}"' in page


def test_the_list_shows_every_nominee_in_order_with_status_and_evaluations(
    admin, make_user, make_evaluation, seeded_award
):
    first, second = seeded_award.nominees[:2]
    juror, other = (make_user(role="juror", awards=[seeded_award]) for _ in range(2))
    make_evaluation(first, juror, ALL_SCORES, submitted=True)
    make_evaluation(first, other, {"impact": 4})
    post(admin, f"{LIST}/{second.slug}/withdraw", reason="The city ended the project.")

    response = admin.get(LIST)
    assert response.status_code == 200
    assert titles_in_list(response) == SEEDED_ORDER
    gaming = row_text(response, "gaming-club")
    assert gaming.startswith("1 Gaming Club gaming-club Gothenburg City Council Gothenburg Sweden")
    assert "In the running 2 1 submitted" in gaming
    withdrawn = row_text(response, second.slug)
    assert "Withdrawn" in withdrawn and "“The city ended the project.”" in withdrawn
    assert "Reinstate" in withdrawn and "Withdraw…" not in withdrawn
    # Deletion is offered only where nobody has evaluated the nominee, not even as a draft.
    assert "Delete" not in gaming
    assert f"Delete {second.title}" in withdrawn


def test_an_unknown_award_or_nominee_is_404(admin):
    assert admin.get("/admin/awards/no-such-award/nominees").status_code == 404
    assert admin.get(f"{LIST}/no-such-nominee/edit").status_code == 404
    assert post(admin, f"{LIST}/no-such-nominee/delete").status_code == 404


# --- Adding and editing -----------------------------------------------------------------------


def test_adding_a_nominee_makes_its_slug_from_the_title_and_puts_it_last(admin):
    assert admin.get(f"{LIST}/new").status_code == 200
    response = post(admin, f"{LIST}/new", slug="", **NEW)
    assert response.status_code == 302
    assert response.location == f"{LIST}#nominee-repair-cafe-network"
    assert order() == [*SEEDED_ORDER, "repair-cafe-network"]
    added = nominee("repair-cafe-network")
    assert (added.title, added.city, added.summary) == (
        NEW["title"],
        "Ghent",
        "Volunteers mend what neighbours bring.",
    )
    (event,) = events("nominee.created")
    assert event.actor_id == admin.user.id
    assert event.subject == f"nominee:{added.id}"
    assert json.loads(event.payload) == {
        "award": AWARD,
        "before": None,
        "after": {"slug": "repair-cafe-network", **NEW},
    }


def test_bad_input_is_refused_beside_each_field_with_the_input_kept(admin):
    before = audit_count()
    response = post(
        admin,
        f"{LIST}/new",
        **{**NEW, "slug": "Repair Café", "city": "   ", "country": "x" * 121},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(
        r'id="slug-error">Must be lower-case letters, digits and single hyphens\.</p>', page
    )
    assert re.search(r'id="city-error">Must not be empty\.</p>', page)
    assert re.search(r'id="country-error">Longer than maximum length 120\.</p>', page)
    # What was typed comes back, to be corrected rather than typed again.
    assert 'value="Repair Café"' in page and f'value="{NEW["title"]}"' in page
    assert "Volunteers mend what neighbours bring." in page
    assert order() == SEEDED_ORDER and audit_count() == before


def test_a_slug_is_unique_within_its_award_only(admin):
    taken = post(admin, f"{LIST}/new", **{**NEW, "slug": "gaming-club"})
    assert taken.status_code == 422
    assert "“Gaming Club” already has the slug “gaming-club” in this award" in text_of(taken)
    # The same goes for a slug made from the title.
    made = post(admin, f"{LIST}/new", **{**NEW, "title": "Gaming  Club!", "slug": ""})
    assert made.status_code == 422
    assert "already has the slug “gaming-club”" in text_of(made)
    assert order() == SEEDED_ORDER

    other = Award(slug="other-award", title="Another Award")
    db.session.add(other)
    db.session.commit()
    response = post(
        admin, "/admin/awards/other-award/nominees/new", **{**NEW, "slug": "gaming-club"}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Nominee.slug).where(Nominee.award_id == other.id)) == (
        "gaming-club"
    )


def test_a_title_without_letters_for_a_slug_asks_for_one(admin):
    response = post(admin, f"{LIST}/new", **{**NEW, "title": "Київ · Львів", "slug": ""})
    assert response.status_code == 422
    assert "No slug can be made from this title; type one." in text_of(response)


def test_editing_a_nominee_is_audited_with_before_and_after(admin, seeded_award):
    gaming = nominee("gaming-club")
    form = admin.get(f"{LIST}/gaming-club/edit").get_data(as_text=True)
    assert 'value="Gothenburg City Council"' in form
    response = post(
        admin,
        f"{LIST}/gaming-club/edit",
        slug="gaming-club-gothenburg",
        title="Gaming Club",
        organisation="Gothenburg City Council",
        city="Göteborg",
        country="Sweden",
        summary="Shorter.",
    )
    assert response.status_code == 302
    edited = nominee("gaming-club-gothenburg")
    assert edited.id == gaming.id and edited.city == "Göteborg" and edited.position == 0
    (event,) = events("nominee.updated")
    payload = json.loads(event.payload)
    assert payload["before"]["city"] == "Gothenburg" and payload["after"]["city"] == "Göteborg"
    assert payload["before"]["slug"] == "gaming-club"
    assert payload["after"]["slug"] == "gaming-club-gothenburg"

    # Saving the same again changes nothing and records nothing.
    post(
        admin,
        f"{LIST}/gaming-club-gothenburg/edit",
        slug="gaming-club-gothenburg",
        title="Gaming Club",
        organisation="Gothenburg City Council",
        city="Göteborg",
        country="Sweden",
        summary="Shorter.",
    )
    assert len(events("nominee.updated")) == 1


def test_an_evaluated_nominees_slug_is_locked(admin, make_user, make_evaluation, seeded_award):
    juror = make_user(role="juror", awards=[seeded_award])
    make_evaluation(nominee("gaming-club"), juror, {"impact": 5})
    fields = {
        "title": "Gaming Club",
        "organisation": "Gothenburg City Council",
        "city": "Gothenburg",
        "country": "Sweden",
    }
    assert "readonly" in admin.get(f"{LIST}/gaming-club/edit").get_data(as_text=True)
    response = post(admin, f"{LIST}/gaming-club/edit", slug="renamed", **fields)
    assert response.status_code == 422
    assert "its slug can no longer change" in text_of(response)
    assert nominee("renamed") is None and nominee("gaming-club") is not None

    # The other fields still change.
    response = post(admin, f"{LIST}/gaming-club/edit", slug="", summary="Shorter.", **fields)
    assert response.status_code == 302
    assert nominee("gaming-club").summary == "Shorter."


# --- Reordering -------------------------------------------------------------------------------


def test_moving_up_and_down_changes_the_order_and_is_audited(admin):
    response = post(admin, f"{LIST}/bucharest-for-ukraine/up")
    assert response.status_code == 302
    assert response.location == f"{LIST}#nominee-bucharest-for-ukraine"
    assert order()[:3] == ["gaming-club", "bucharest-for-ukraine", "day-centre-sviesa"]
    post(admin, f"{LIST}/gaming-club/down")
    assert order()[:3] == ["bucharest-for-ukraine", "gaming-club", "day-centre-sviesa"]
    assert titles_in_list(admin.get(LIST)) == order()

    (up, down) = events("nominee.moved")
    assert json.loads(up.payload) == {
        "award": AWARD,
        "nominee": "bucharest-for-ukraine",
        "before": 3,
        "after": 2,
    }
    assert json.loads(down.payload)["after"] == 2

    # Beyond either end: nothing moves, nothing is recorded, and the page says why.
    post(admin, f"{LIST}/konekta2/down")
    post(admin, f"{LIST}/bucharest-for-ukraine/up")
    assert order()[0] == "bucharest-for-ukraine" and order()[-1] == "konekta2"
    assert len(events("nominee.moved")) == 2
    page = text_of(admin.get(LIST))
    assert (
        "“Konekta2: Artificial Intelligence in Older and Dependent People’s Homes” is already last."
        in page
    )
    assert "“The 6th District of Bucharest, for Ukraine” is already first." in page


def test_a_move_without_the_csrf_token_is_refused(admin):
    assert admin.post(f"{LIST}/day-centre-sviesa/up").status_code == 400
    assert order() == SEEDED_ORDER


# --- Withdrawing and reinstating --------------------------------------------------------------


def test_withdrawing_needs_a_reason(admin):
    response = post(admin, f"{LIST}/gaming-club/withdraw", reason="   ")
    assert response.status_code == 302
    assert "Give the reason for the withdrawal; it was not withdrawn." in text_of(admin.get(LIST))
    assert nominee("gaming-club").withdrawn_at is None
    assert events("nominee.withdrawn") == []


def test_a_withdrawn_nominee_leaves_the_jury_and_the_ranking_and_is_marked_in_exports(
    app, admin, make_user, make_evaluation, seeded_award
):
    juror = make_user(role="juror", awards=[seeded_award])
    gaming, sviesa = seeded_award.nominees[:2]
    make_evaluation(gaming, juror, ALL_SCORES, submitted=True)
    make_evaluation(sviesa, juror, ALL_SCORES, submitted=True)
    juror_client = app.test_client()
    assert log_in(juror_client, juror).status_code == 302
    leaderboard = f"/admin/awards/{AWARD}/leaderboard"
    assert "Gaming Club" in text_of(juror_client.get("/jury/"))
    assert "Gaming Club" in text_of(admin.get(leaderboard))

    response = post(admin, f"{LIST}/gaming-club/withdraw", reason="The project was cancelled.")
    assert response.status_code == 302
    assert "Gaming Club” is withdrawn" in text_of(admin.get(LIST))

    assert "Gaming Club" not in text_of(juror_client.get("/jury/"))
    board = text_of(admin.get(leaderboard))
    assert "Gaming Club" not in board and sviesa.title in board
    rows = list(csv.DictReader(io.StringIO(admin.get(f"/admin/awards/{AWARD}/scores.csv").text)))
    withdrawn = {row["nominee"]: row["withdrawn"] for row in rows}
    assert withdrawn == {"gaming-club": "True", "day-centre-sviesa": "False"}
    # Nothing of the jury's work is lost.
    assert (
        db.session.scalar(
            select(func.count()).select_from(Evaluation).where(Evaluation.nominee_id == gaming.id)
        )
        == 1
    )

    assert post(admin, f"{LIST}/gaming-club/reinstate").status_code == 302
    assert nominee("gaming-club").withdrawn_at is None
    assert "Gaming Club" in text_of(juror_client.get("/jury/"))
    assert "Gaming Club" in text_of(admin.get(leaderboard))

    (withdrawal,) = events("nominee.withdrawn")
    (reinstatement,) = events("nominee.reinstated")
    assert json.loads(withdrawal.payload)["after"]["withdrawn_reason"] == (
        "The project was cancelled."
    )
    assert json.loads(reinstatement.payload)["before"]["withdrawn_reason"] == (
        "The project was cancelled."
    )
    assert json.loads(reinstatement.payload)["after"] == {
        "withdrawn_at": None,
        "withdrawn_reason": "",
    }
    assert {withdrawal.actor_id, reinstatement.actor_id} == {admin.user.id}


def test_withdrawing_twice_or_reinstating_a_nominee_in_the_running_is_refused(admin):
    post(admin, f"{LIST}/omapu/withdraw", reason="Withdrew.")
    post(admin, f"{LIST}/omapu/withdraw", reason="Again.")
    assert "“Office to Support Ukrainian People (OMAPU)” is already withdrawn." in text_of(
        admin.get(LIST)
    )
    assert nominee("omapu").withdrawn_reason == "Withdrew."
    post(admin, f"{LIST}/evikomp/reinstate")
    assert "is not withdrawn" in text_of(admin.get(LIST))
    assert len(events("nominee.withdrawn")) == 1 and events("nominee.reinstated") == []


# --- Deleting ---------------------------------------------------------------------------------


def test_a_nominee_nobody_evaluated_can_be_deleted_and_it_is_audited(admin):
    sviesa = nominee("day-centre-sviesa")
    sviesa_id, sviesa_title = sviesa.id, sviesa.title
    response = post(admin, f"{LIST}/day-centre-sviesa/delete")
    assert response.status_code == 302 and response.location == LIST
    assert nominee("day-centre-sviesa") is None
    assert "day-centre-sviesa" not in order()
    (event,) = events("nominee.deleted")
    assert event.subject == f"nominee:{sviesa_id}"
    assert json.loads(event.payload)["before"]["title"] == sviesa_title


def test_an_evaluated_nominee_can_never_be_deleted(admin, make_user, make_evaluation, seeded_award):
    juror = make_user(role="juror", awards=[seeded_award])
    # A draft is enough: evaluated work is never deleted.
    make_evaluation(nominee("gaming-club"), juror, {"impact": 3})
    before = audit_count()
    response = post(admin, f"{LIST}/gaming-club/delete")
    assert response.status_code == 302
    assert (
        "“Gaming Club” has evaluations, so it can never be deleted; withdraw it instead."
        in text_of(admin.get(LIST))
    )
    assert nominee("gaming-club") is not None
    assert audit_count() == before


def test_the_database_refuses_the_deletion_even_if_the_check_is_passed(
    admin, make_user, make_evaluation, seeded_award, monkeypatch
):
    """A juror starting an evaluation between the check and the delete: ON DELETE RESTRICT."""
    juror = make_user(role="juror", awards=[seeded_award])
    make_evaluation(nominee("gaming-club"), juror, {"impact": 3})
    monkeypatch.setattr(nominee_service, "evaluation_count", lambda _nominee: 0)
    response = post(admin, f"{LIST}/gaming-club/delete")
    assert response.status_code == 302
    assert "can never be deleted" in text_of(admin.get(LIST))
    assert nominee("gaming-club") is not None
    assert events("nominee.deleted") == []


# --- Import -----------------------------------------------------------------------------------

GOOD_CSV = (
    "title,organisation,city,country,summary\n"
    "Repair Café Network,City of Ghent,Ghent,Belgium,Volunteers mend what neighbours bring.\n"
    'Night Buses,"Transport for Lisbon, EM",Lisbon,Portugal,"Safe journeys home, all night."\n'
    "Open Kitchens,City of Turin,Turin,Italy,\n"
)
GOOD_SLUGS = ["repair-cafe-network", "night-buses", "open-kitchens"]


def hidden_text(response) -> tuple[str, str]:
    """The text and format the preview sends back with "Import N nominees"."""
    page = response.get_data(as_text=True)
    values = dict(
        re.findall(r'<input id="(text|format)" name="\1" type="hidden" value="([^"]*)"', page)
    )
    return html.unescape(values["text"]), values["format"]


def preview_rows(response) -> dict[int, str]:
    """The preview's rows by number, as text: number, problems (or OK), slug, title, ..."""
    page = response.get_data(as_text=True)
    return {
        int(number): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
        for number, body in re.findall(r'<tr id="row-(\d+)"[^>]*>(.*?)</tr>', page, re.S)
    }


def test_the_import_page_explains_the_format(admin):
    response = admin.get(IMPORT)
    assert response.status_code == 200
    text = text_of(response)
    assert "Preview" in text and "At most 1,000 nominees" in text


def test_a_preview_shows_every_row_and_writes_nothing(admin):
    before = audit_count()
    response = post(admin, IMPORT, text=GOOD_CSV)
    assert response.status_code == 200
    text = text_of(response)
    assert "3 nominees ready to import, after the 13 already in this award." in text
    assert "Import 3 nominees" in text
    # Numbered as the spreadsheet numbers them: the header is row 1.
    rows = preview_rows(response)
    assert [rows[n].split()[:3] for n in (2, 3, 4)] == [
        [str(n), "OK", slug] for n, slug in zip((2, 3, 4), GOOD_SLUGS, strict=True)
    ]
    assert "Transport for Lisbon, EM" in text
    assert order() == SEEDED_ORDER and audit_count() == before


def test_a_confirmed_import_writes_every_row_in_order_after_the_existing_ones(admin):
    preview = post(admin, IMPORT, text=GOOD_CSV)
    text, fmt = hidden_text(preview)
    assert (text, fmt) == (GOOD_CSV, "csv")
    response = post(admin, CONFIRM, text=text, format=fmt)
    assert response.status_code == 302 and response.location == LIST
    assert "3 nominees imported" in text_of(admin.get(LIST))
    assert order() == SEEDED_ORDER + GOOD_SLUGS
    night = nominee("night-buses")
    assert (night.organisation, night.summary) == (
        "Transport for Lisbon, EM",
        "Safe journeys home, all night.",
    )
    assert nominee("open-kitchens").summary == ""
    created = events("nominee.created")
    assert [json.loads(e.payload)["after"]["slug"] for e in created] == GOOD_SLUGS
    assert {json.loads(e.payload)["source"] for e in created} == {"csv import"}
    assert (
        first_broken_event(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))) is None
    )


def test_the_preview_shows_each_rows_errors_by_row_field_and_message(admin):
    bad = (
        "slug,title,organisation,city,country\n"
        "good-one,Good One,Org,City,Country\n"
        ",Missing City,Org,,Country\n"
        "Bad Slug,Bad Slug,Org,City,Country\n"
        "good-one,Twin,Org,City,Country\n"
        "gaming-club,Another Gaming Club,Org,City,Country\n"
        ",Good One,Org,City,Country\n"
    )
    before = audit_count()
    response = post(admin, IMPORT, text=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    rows = preview_rows(response)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7]
    assert rows[2].startswith("2 OK good-one")
    assert "City: Must not be empty." in rows[3]
    assert "Slug: Must be lower-case letters, digits and single hyphens." in rows[4]
    assert "Slug: Repeats the slug “good-one” of row 2" in rows[5]
    assert "Slug: “Gaming Club” already has the slug “gaming-club” in this award" in rows[6]
    assert "Slug: Repeats the slug “good-one” (made from the title) of row 2" in rows[7]
    text = text_of(response)
    assert "5 of 6 rows have problems; nothing has been written." in text
    assert "Import 6 nominees" not in text and "/import/confirm" not in page
    # The text comes back in the form, to be corrected and previewed again.
    assert "Twin,Org,City,Country" in page
    assert order() == SEEDED_ORDER and audit_count() == before


def test_an_import_with_one_bad_row_writes_nothing(admin):
    """The confirmation reads and checks the text again: the client is not trusted."""
    tampered = GOOD_CSV + "Lonely Row,Org,,Country\n"
    before = audit_count()
    response = post(admin, CONFIRM, text=tampered, format="csv")
    assert response.status_code == 422
    text = text_of(response)
    assert "1 of 4 rows have errors; nothing was imported." in text
    assert "City: Must not be empty." in text
    assert order() == SEEDED_ORDER and audit_count() == before


def test_the_confirmation_checks_against_the_nominees_as_they_are_then(admin):
    preview = post(admin, IMPORT, text=GOOD_CSV)
    assert preview.status_code == 200
    # Meanwhile, someone adds a nominee with one of the file's slugs.
    post(admin, f"{LIST}/new", **{**NEW, "title": "Night Buses", "slug": ""})
    response = post(
        admin, CONFIRM, **dict(zip(("text", "format"), hidden_text(preview), strict=True))
    )
    assert response.status_code == 422
    assert "already has the slug “night-buses” (made from the title)" in text_of(response)
    assert order() == [*SEEDED_ORDER, "night-buses"]


def test_json_is_imported_as_a_list_or_under_nominees(admin):
    entries = [
        {
            "slug": "kiez-garden",
            "title": "Kiez Garden",
            "organisation": "Berlin",
            "city": "Berlin",
            "country": "Germany",
        },
        {
            "title": "Tram Libraries",
            "organisation": "Riga",
            "city": "Riga",
            "country": "Latvia",
            "summary": "Books on trams.",
        },
    ]
    preview = upload(admin, json.dumps({"nominees": entries}).encode(), "nominees.json")
    assert preview.status_code == 200, text_of(preview)
    text, fmt = hidden_text(preview)
    assert fmt == "json"
    assert post(admin, CONFIRM, text=text, format=fmt).status_code == 302
    assert order()[-2:] == ["kiez-garden", "tram-libraries"]

    pasted = post(admin, IMPORT, text=json.dumps([{**entries[0], "slug": "another", "notes": 1}]))
    assert pasted.status_code == 422
    assert "notes: Unknown field." in text_of(pasted)


def test_a_spreadsheets_csv_with_semicolons_and_a_bom_is_read(admin):
    content = "\ufefftitle;organisation;city;country\nCafé Solidaire;Ville de Lyon;Lyon;France\n"
    response = upload(admin, content.encode("utf-8"), "Export.CSV")
    assert response.status_code == 200, text_of(response)
    text, fmt = hidden_text(response)
    assert post(admin, CONFIRM, text=text, format=fmt).status_code == 302
    added = nominee("cafe-solidaire")
    assert (added.title, added.organisation) == ("Café Solidaire", "Ville de Lyon")


TOO_MANY = "title,organisation,city,country\n" + "".join(
    f"Project {n},Org,City,Country\n" for n in range(1001)
)


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"PK\x03\x04binary", "nominees.xlsx", "“nominees.xlsx” is not a .csv or .json file."),
        (
            "title,organisation,city,country\nCafé,Org,City,Country\n".encode("latin-1"),
            "n.csv",
            "The file is not UTF-8 text (line 2 has the byte 0xe9).",
        ),
        (b"", "empty.csv", "The file “empty.csv” is empty."),
        (b"  \n\n", "blank.csv", "The file “blank.csv” is empty."),
        (TOO_MANY.encode(), "many.csv", "It has 1,001 nominees; import at most 1,000 at a time."),
        (
            b"title,organisation,city,country\n",
            "header.csv",
            "There are no nominees in it, only the column names.",
        ),
        (
            b"name,city\nA,B\n",
            "columns.csv",
            "it lacks the columns title, organisation, country; it has the unknown column “name”",
        ),
        (b'[{"title": "A",}]', "broken.json", "This is not valid JSON: line 1, column 16"),
        (b'{"title": "A"}', "object.json", "Expected a JSON list of nominees"),
    ],
    ids=[
        "type",
        "encoding",
        "empty",
        "blank",
        "too-many",
        "header-only",
        "columns",
        "syntax",
        "shape",
    ],
)
def test_a_file_that_cannot_be_read_says_why_and_writes_nothing(admin, content, filename, message):
    before = audit_count()
    response = upload(admin, content, filename)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'id="file-error">(.*?)</p>', page, re.S)
    assert error and message in html.unescape(error.group(1)), text_of(response)
    assert order() == SEEDED_ORDER and audit_count() == before


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "text", "Choose a file, or paste the rows."),
        ({"text": "  "}, "text", "Choose a file, or paste the rows."),
        ({"text": "title\nA"}, "text", "it lacks the columns organisation, city, country"),
    ],
    ids=["nothing", "blank", "pasted-columns"],
)
def test_pasted_text_problems_are_shown_beside_the_field(admin, data, field, message):
    response = post(admin, IMPORT, **data)
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert error and message in html.unescape(error.group(1))


def test_a_file_and_pasted_text_at_once_are_refused(admin):
    response = upload(admin, GOOD_CSV.encode(), "n.csv", text=GOOD_CSV)
    assert response.status_code == 422
    assert "Choose a file or paste the rows, not both." in text_of(response)
    assert order() == SEEDED_ORDER


def test_a_confirmation_without_its_csrf_token_writes_nothing(admin):
    response = admin.post(CONFIRM, data={"text": GOOD_CSV, "format": "csv"})
    assert response.status_code == 400
    assert order() == SEEDED_ORDER
