"""`flask seed`: the shortlist file becomes the award, and bad files change nothing."""

import json

import pytest
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import AuditEvent, Award, Criterion, Nominee

from .fixtures.domain import ROOT, SHORTLIST

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL

SOURCE_TEXT = ROOT / "seed" / "excellence-award-source.txt"  # the organiser's own text


def shortlist() -> dict:
    return json.loads(SHORTLIST.read_text(encoding="utf-8"))


def write(tmp_path, data, name="shortlist.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def nominees() -> dict[str, Nominee]:
    return {n.slug: n for n in db.session.scalars(select(Nominee))}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("slug", "title", "organisation", "city", "country"),
    [
        ("gaming-club", "Gaming Club", "Gothenburg City Council", "Gothenburg", "Sweden"),
        ("antenne-hub", "‘Antenne’ Hub", "City of Ostend", "Ostend", "Belgium"),
        (
            "bucharest-for-ukraine",
            "The 6th District of Bucharest, for Ukraine",
            "6th District City Council – General Directorate, Social Assistance and Child"
            " Protection",
            "Bucharest",
            "Romania",
        ),
        (
            "omapu",
            "Office to Support Ukrainian People (OMAPU)",
            "A Coruña City Council",
            "A Coruña",
            "Spain",
        ),
        (
            "a-vici-pilot",
            "A-Vici Pilot: Video Call Tool for Citizens",
            "Barcelona City Council",
            "Barcelona",
            "Spain",
        ),
        (
            "neighbourhood-network-scheme",
            "Neighbourhood Network Scheme",
            "Birmingham City Council",
            "Birmingham",
            "United Kingdom",
        ),
        (
            "evikomp",
            "EVIKOMP",
            "Social Services and Care Department of Linköping Municipality",
            "Linköping",
            "Sweden",
        ),
        (
            "family-card",
            "Family Card: Innovation to Dignify",
            "Madrid City Council",
            "Madrid",
            "Spain",
        ),
        (
            "lgnetea",
            "Local Government Network for Rapid Response and Fast Track Inclusion"
            " Services in Disadvantaged Urban Areas (LGNetEA)",
            "ASSB – Social Services Bolzano",
            "Bolzano",
            "Italy",
        ),
    ],
)
def test_seed_splits_titles_from_organisations(runner, slug, title, organisation, city, country):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    nominee = nominees()[slug]
    assert (nominee.title, nominee.organisation, nominee.city, nominee.country) == (
        title,
        organisation,
        city,
        country,
    )


def test_seed_loads_the_award_its_13_nominees_and_weighted_criteria(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    award = db.session.scalar(select(Award))
    assert award.slug == "excellence-award"
    assert award.title == "Excellence Award: Cities Innovation for Social Change"
    assert award.status == "draft"
    assert len(award.nominees) == 13
    assert [n.position for n in award.nominees] == list(range(13))
    criteria = {c.slug: (c.weight, c.scale_min, c.scale_max) for c in award.criteria}
    assert criteria == {
        "innovation": (25, 1, 10),
        "impact": (25, 1, 10),
        "person-centred": (20, 1, 10),
        "sustainability": (15, 1, 10),
        "transferability": (15, 1, 10),
    }
    assert all(c.guidance for c in award.criteria)


def test_every_summary_is_the_source_text_verbatim():
    source = SOURCE_TEXT.read_text(encoding="utf-8")
    for entry in shortlist()["nominees"]:
        assert entry["summary"] in source, entry["slug"]
        assert entry["city"] in source and entry["country"] in source


def test_seeding_twice_changes_nothing(runner):
    runner.invoke(args=["seed"])
    before = {slug: (n.id, n.summary) for slug, n in nominees().items()}
    events = count(AuditEvent)

    result = runner.invoke(args=["seed"])

    assert result.exit_code == 0
    assert "nothing changed" in result.output
    db.session.expire_all()
    assert {slug: (n.id, n.summary) for slug, n in nominees().items()} == before
    assert count(AuditEvent) == events == 1


def test_an_edited_summary_updates_that_nominee_only(runner, tmp_path):
    runner.invoke(args=["seed"])
    data = shortlist()
    data["nominees"][3]["summary"] = "A shorter summary."
    result = runner.invoke(args=["seed", write(tmp_path, data)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "updated nominee antenne-hub"
    db.session.expire_all()
    assert nominees()["antenne-hub"].summary == "A shorter summary."
    assert count(AuditEvent) == 2


def test_a_nominee_dropped_from_the_file_is_removed_unless_evaluated(
    runner, tmp_path, make_user, make_evaluation
):
    runner.invoke(args=["seed"])
    juror = make_user()
    make_evaluation(nominees()["gaming-club"], juror, {"impact": 7})
    data = shortlist()
    data["nominees"] = [n for n in data["nominees"] if n["slug"] not in ("gaming-club", "omapu")]

    result = runner.invoke(args=["seed", write(tmp_path, data)])

    assert result.exit_code == 0, result.output
    assert "removed nominee omapu" in result.output
    assert "gaming-club is no longer in the file but has 1 evaluation(s); it was kept" in (
        result.output
    )
    db.session.expire_all()
    assert set(nominees()) == {n["slug"] for n in data["nominees"]} | {"gaming-club"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["nominees"][3].pop("city"),
            "nominees[3] (antenne-hub).city: Missing data for required field.",
        ),
        (
            lambda d: d["nominees"][5].update(country=""),
            "nominees[5] (jus-app).country: must not be empty",
        ),
        (
            lambda d: d["nominees"][2].update(slug="Bucharest 6"),
            "nominees[2] (Bucharest 6).slug: must be lower-case letters, digits and single hyphens",
        ),
        (
            lambda d: d["nominees"][4].update(slug="gaming-club"),
            "nominees[4] (gaming-club).slug: repeats the slug of entry 0",
        ),
        (
            lambda d: d["criteria"][1].update(weight="25"),
            "criteria[1] (impact).weight: Not a valid integer.",
        ),
        (
            lambda d: d["criteria"][0].update(scale_min=10, scale_max=5),
            "criteria[0] (innovation).scale_max: must be greater than scale_min",
        ),
        (
            lambda d: d["nominees"][0].update(citty="Gothenburg"),
            "nominees[0] (gaming-club).citty: Unknown field.",
        ),
        (lambda d: d.pop("award"), "award: Missing data for required field."),
        (lambda d: d["award"].update(public="yes"), "award.public: Not a valid boolean."),
    ],
)
def test_a_bad_entry_is_named_and_nothing_is_written(runner, tmp_path, change, message):
    data = shortlist()
    change(data)
    result = runner.invoke(args=["seed", write(tmp_path, data)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Nothing was seeded" in result.output
    assert count(Award) == count(Nominee) == count(Criterion) == 0


def test_malformed_json_names_the_line(runner, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "award": {"slug": "x",,}\n}', encoding="utf-8")
    result = runner.invoke(args=["seed", str(path)])
    assert result.exit_code == 1
    assert "line 2, column" in result.output
    assert count(Award) == 0


def test_a_missing_file_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(args=["seed", str(tmp_path / "nope.json")])
    assert result.exit_code == 1
    assert "nope.json: no such file" in result.output


def test_a_locked_criterion_rolls_back_the_whole_file(runner, tmp_path, make_user, make_evaluation):
    """Other valid edits in the same file must not land when one change is refused."""
    runner.invoke(args=["seed"])
    make_evaluation(nominees()["evikomp"], make_user(), {"impact": 9})
    data = shortlist()
    data["nominees"][0]["summary"] = "Edited."
    data["criteria"][1]["weight"] = 40

    result = runner.invoke(args=["seed", write(tmp_path, data)])

    assert result.exit_code == 1
    assert "criteria (impact): weight and scale are locked" in result.output
    db.session.expire_all()
    assert nominees()["gaming-club"].summary != "Edited."
    assert {c.slug: c.weight for c in db.session.scalars(select(Criterion))}["impact"] == 25


def test_guidance_of_a_scored_criterion_can_still_change(
    runner, tmp_path, make_user, make_evaluation
):
    runner.invoke(args=["seed"])
    make_evaluation(nominees()["evikomp"], make_user(), {"impact": 9})
    data = shortlist()
    data["criteria"][1]["guidance"] = "Clearer guidance."
    result = runner.invoke(args=["seed", write(tmp_path, data)])
    assert result.exit_code == 0, result.output
    assert "updated criterion impact" in result.output


def test_the_seed_file_says_whether_its_award_is_public(runner, client, tmp_path):
    runner.invoke(args=["seed"])
    assert db.session.scalar(select(Award.public))  # the shipped award: "public": true
    assert client.get("/awards/excellence-award").status_code == 200

    data = shortlist()
    data["award"]["public"] = False
    result = runner.invoke(args=["seed", write(tmp_path, data)])
    assert result.output.strip() == "updated award excellence-award"
    assert client.get("/awards/excellence-award").status_code == 404
    assert client.get("/api/v1/awards").json == []


def test_without_public_a_new_award_is_hidden_and_an_existing_one_keeps_its_visibility(
    runner, client, tmp_path
):
    data = shortlist()
    del data["award"]["public"]
    runner.invoke(args=["seed", write(tmp_path, data)])
    assert client.get("/awards/excellence-award").status_code == 404
    assert "Cities Innovation" not in client.get("/").get_data(as_text=True)

    runner.invoke(args=["seed"])  # the shipped file makes it public
    result = runner.invoke(args=["seed", write(tmp_path, data)])
    assert "nothing changed" in result.output
    assert client.get("/awards/excellence-award").status_code == 200
