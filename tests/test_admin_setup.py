"""Setting up awards and criteria from the admin pages, with the locking rules."""

import json

import pytest
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import AuditEvent, Award, Criterion, Nominee

from .fixtures.domain import events, post
from .fixtures.scoring import draft, put_evaluation

AWARD_FIELDS = {
    "title": "Young Innovators Award",
    "description": "For projects led by people under 30.",
    "aggregation_method": "mean",
    "quorum": "3",
    "blind": "y",
}


def test_an_admin_creates_an_award_from_scratch(app, admin_client):
    response = post(
        admin_client, "/admin/awards/new", **AWARD_FIELDS, scoring_closes_at="2030-06-30T17:00"
    )
    assert response.location == "/admin/awards/young-innovators-award/criteria"
    award = db.session.scalar(select(Award))
    assert (award.slug, award.status, award.quorum, award.blind) == (
        "young-innovators-award",
        "draft",
        3,
        True,
    )
    assert award.scoring_closes_at.isoformat() == "2030-06-30T17:00:00"
    assert events("award.created")


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"slug": "Young Innovators"}, "Lower-case letters, digits and single hyphens only."),
        ({"title": ""}, "This field is required."),
        ({"quorum": "0"}, "Number must be between 1 and 1000."),
        (
            {"scoring_opens_at": "2030-07-01T09:00", "scoring_closes_at": "2030-06-30T17:00"},
            "Must be after the opening time.",
        ),
        ({"aggregation_method": "vibes"}, "Not a valid choice"),
    ],
)
def test_a_bad_award_form_names_the_field_and_writes_nothing(
    app, admin_client, changes, field_message
):
    response = post(admin_client, "/admin/awards/new", **{**AWARD_FIELDS, **changes})
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Award)) == 0


def test_an_award_slug_is_unique(app, admin_client, seeded_award):
    response = post(
        admin_client, "/admin/awards/new", **{**AWARD_FIELDS, "slug": "excellence-award"}
    )
    assert response.status_code == 422
    assert "Another award already uses “excellence-award”." in response.get_data(as_text=True)


def test_editing_the_settings_is_audited_with_before_and_after(app, admin_client, seeded_award):
    post(
        admin_client,
        "/admin/awards/excellence-award/settings",
        title=seeded_award.title,
        description="New text.",
        aggregation_method="median",
        quorum="5",
    )
    db.session.refresh(seeded_award)
    assert (seeded_award.aggregation_method, seeded_award.quorum) == ("median", 5)
    [event] = events("award.updated")
    assert '"aggregation_method":{"after":"median","before":"mean"}' in event.payload


def test_the_settings_of_a_published_award_are_refused_with_the_reason(
    app, admin_client, seeded_award
):
    """The refusal names no field: it used to render the form again without a word."""
    seeded_award.status = "published"
    db.session.commit()
    response = post(
        admin_client,
        "/admin/awards/excellence-award/settings",
        title="Another title",
        description="New text.",
        aggregation_method="median",
        quorum="5",
    )
    assert "its set-up is frozen" in response.get_data(as_text=True)
    db.session.refresh(seeded_award)
    assert (seeded_award.title, seeded_award.quorum) != ("Another title", 5)
    assert not events("award.updated")


def test_archiving_needs_scoring_closed_and_hides_the_award(
    app, admin_client, client, seeded_award
):
    seeded_award.status = "scoring"
    db.session.commit()
    post(admin_client, "/admin/awards/excellence-award/archive")
    db.session.refresh(seeded_award)
    assert seeded_award.archived_at is None

    seeded_award.status = "closed"
    db.session.commit()
    post(admin_client, "/admin/awards/excellence-award/archive")
    db.session.refresh(seeded_award)
    assert seeded_award.archived_at is not None
    assert "Excellence Award" not in client.get("/").get_data(as_text=True)
    assert client.get("/awards/excellence-award").status_code == 200  # nothing is deleted
    assert "Archived awards (1)" in admin_client.get("/admin/").get_data(as_text=True)


def test_criteria_show_their_weights_as_shares_of_the_total(app, admin_client, seeded_award):
    page = admin_client.get("/admin/awards/excellence-award/criteria").get_data(as_text=True)
    assert "<strong>25%</strong>" in page and "<strong>15%</strong>" in page


def test_adding_editing_moving_and_removing_a_criterion(app, admin_client, seeded_award):
    url = "/admin/awards/excellence-award/criteria"
    post(
        admin_client,
        url,
        name="Value for money",
        guidance="Cost per person reached.",
        weight="10",
        scale_min="1",
        scale_max="5",
        comment_required="y",
    )
    criterion = db.session.scalar(select(Criterion).where(Criterion.slug == "value-for-money"))
    assert (
        criterion.weight,
        criterion.scale_max,
        criterion.position,
        criterion.comment_required,
    ) == (10, 5, 5, True)
    post(
        admin_client,
        f"{url}/{criterion.id}",
        name="Value for money",
        guidance="Better.",
        weight="20",
        scale_min="1",
        scale_max="5",
    )
    db.session.refresh(criterion)
    assert (criterion.weight, criterion.guidance) == (20, "Better.")
    post(admin_client, f"{url}/{criterion.id}/up")
    db.session.refresh(criterion)
    assert criterion.position == 4
    criterion_id = criterion.id
    post(admin_client, f"{url}/{criterion_id}/delete")
    db.session.expire_all()
    assert db.session.scalar(select(Criterion).where(Criterion.id == criterion_id)) is None
    assert [
        e.action
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        if e.action.startswith("criterion.")
    ] == ["criterion.created", "criterion.updated", "criterion.moved", "criterion.deleted"]


def test_once_scored_weights_and_scales_lock_but_wording_does_not(
    app, admin_client, seeded_award, make_user, make_evaluation
):
    make_evaluation(seeded_award.nominees[0], make_user(awards=[seeded_award]), {"impact": 6})
    impact = next(c for c in seeded_award.criteria if c.slug == "impact")
    url = f"/admin/awards/excellence-award/criteria/{impact.id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert "weights and scales are locked" in page

    refused = post(
        admin_client,
        url,
        name="Impact",
        guidance=impact.guidance,
        weight="40",
        scale_min="1",
        scale_max="10",
    )
    assert refused.status_code == 422
    assert "Locked: jurors have already scored this award." in refused.get_data(as_text=True)
    db.session.refresh(impact)
    assert impact.weight == 25

    post(
        admin_client,
        url,
        name="Impact on people's lives",
        guidance="Clearer.",
        weight="25",
        scale_min="1",
        scale_max="10",
    )
    db.session.refresh(impact)
    assert (impact.name, impact.guidance) == ("Impact on people's lives", "Clearer.")
    assert (
        post(
            admin_client,
            "/admin/awards/excellence-award/criteria",
            name="New",
            weight="5",
            scale_min="1",
            scale_max="10",
        ).status_code
        == 422
    )
    post(admin_client, f"{url}/delete")
    assert db.session.get(Criterion, impact.id) is not None


def test_required_comments_are_enforced_when_submitting(app, logged_in, seeded_award):
    seeded_award.status = "scoring"
    seeded_award.require_comment = True
    impact = next(c for c in seeded_award.criteria if c.slug == "impact")
    impact.comment_required = True
    db.session.commit()
    client, _ = logged_in(awards=[seeded_award])
    scores = {c.slug: 7 for c in seeded_award.criteria}
    response = put_evaluation(client, {**draft(scores), "submitted": True})
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"comment", "criterion_comments.impact"}
    ok = put_evaluation(
        client,
        {
            **draft(scores),
            "submitted": True,
            "comment": "Strong.",
            "criterion_comments": {"impact": "Evidence from 3 audits."},
        },
    )
    assert ok.status_code == 200 and ok.json["submitted"]


def test_a_blind_jury_never_shows_other_jurors_totals_and_an_open_one_does_after_submitting(
    app, logged_in, seeded_award, make_user, make_evaluation
):
    seeded_award.status = "scoring"
    db.session.commit()
    nominee = next(n for n in seeded_award.nominees if n.slug == "evikomp")
    other = make_user(awards=[seeded_award])
    make_evaluation(nominee, other, {c.slug: 10 for c in seeded_award.criteria}, submitted=True)
    client, me = logged_in(awards=[seeded_award])
    url = "/jury/awards/excellence-award/nominees/evikomp"
    make_evaluation(nominee, me, {c.slug: 5 for c in seeded_award.criteria}, submitted=True)
    assert "other jurors' totals" not in client.get(url).get_data(as_text=True)

    seeded_award.blind = False
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "The other jurors' totals" in page
    assert '<span class="chip">100</span>' in page


def test_the_voting_window_is_set_with_the_award_and_checked(app, admin_client, seeded_award):
    url = "/admin/awards/excellence-award/settings"
    base = {"title": seeded_award.title, "aggregation_method": "mean", "quorum": "3"}
    refused = post(
        admin_client,
        url,
        **base,
        voting_opens_at="2030-07-02T20:00",
        voting_closes_at="2030-07-02T19:00",
    )
    assert refused.status_code == 422
    post(
        admin_client,
        url,
        **base,
        voting_opens_at="2030-07-02T19:00",
        voting_closes_at="2030-07-02T21:30",
    )
    db.session.refresh(seeded_award)
    assert seeded_award.voting_closes_at.isoformat() == "2030-07-02T21:30:00"


def test_award_times_are_typed_and_shown_in_the_zone_the_labels_name(app, admin_client):
    app.config["TIME_ZONE"] = "Europe/Brussels"
    form = admin_client.get("/admin/awards/new").get_data(as_text=True)
    assert "Scoring closes (Europe/Brussels time)" in form
    assert "(UTC)" not in form

    post(admin_client, "/admin/awards/new", **AWARD_FIELDS, scoring_closes_at="2030-06-30T19:00")

    award = db.session.scalar(select(Award))
    assert award.scoring_closes_at.isoformat() == "2030-06-30T17:00:00"  # kept in UTC
    settings = admin_client.get(f"/admin/awards/{award.slug}/settings").get_data(as_text=True)
    assert 'value="2030-06-30T19:00"' in settings  # shown as typed, not shifted


def test_a_draft_made_in_the_admin_pages_is_hidden_until_an_admin_makes_it_public(
    app, admin_client, seeded_award
):
    post(admin_client, "/admin/awards/new", **AWARD_FIELDS)
    award = db.session.scalar(select(Award).where(Award.slug == "young-innovators-award"))
    award.nominees.append(
        Nominee(slug="solar-bus", title="Solar Bus", organisation="O", city="C", country="X")
    )
    db.session.commit()
    base = "/awards/young-innovators-award"
    hidden = [
        base,
        f"{base}/nominees/solar-bus",
        f"{base}/results",
        f"/vote{base[7:]}",
        f"/api/v1{base}/nominees",
        f"/api/v1{base}/criteria",
        f"/api/v1{base}/results",
    ]
    visitor = app.test_client()
    assert "Young Innovators" not in visitor.get("/").get_data(as_text=True)
    assert "Cities Innovation" in visitor.get("/").get_data(as_text=True)  # seeded: public
    assert [a["slug"] for a in visitor.get("/api/v1/awards").json] == ["excellence-award"]
    assert {url: visitor.get(url).status_code for url in hidden} == dict.fromkeys(hidden, 404)
    # As if it did not exist.
    # The same page, but for the address it was asked at (the language menu leads back to it).
    unknown = "/awards/no-such-award"
    hidden_page = visitor.get(base).get_data(as_text=True)
    assert hidden_page.replace(base, unknown) == visitor.get(unknown).get_data(as_text=True)

    # The administrator previews it, then makes it public.
    assert admin_client.get(f"{base}/nominees/solar-bus").status_code == 200
    page = admin_client.get(f"/admin{base}").get_data(as_text=True)
    assert "Not public yet" in page and "Make public" in page
    response = post(admin_client, f"/admin{base}/make-public")
    assert response.location == f"/admin{base}"
    assert "is public" in admin_client.get(f"/admin{base}").get_data(as_text=True)
    assert events("award.made_public")[0].subject == "award:young-innovators-award"

    assert "Young Innovators" in visitor.get("/").get_data(as_text=True)
    assert {a["slug"] for a in visitor.get("/api/v1/awards").json} == {
        "excellence-award",
        "young-innovators-award",
    }
    assert visitor.get(f"{base}/nominees/solar-bus").status_code == 200
    assert visitor.get(f"/api/v1{base}/nominees").json[0]["slug"] == "solar-bus"


def test_opening_scoring_makes_an_award_public(app, runner, admin_client):
    post(admin_client, "/admin/awards/new", **AWARD_FIELDS)
    visitor = app.test_client()
    assert visitor.get("/awards/young-innovators-award").status_code == 404
    result = runner.invoke(args=["award", "open", "young-innovators-award"])
    assert result.exit_code == 0, result.output
    assert visitor.get("/awards/young-innovators-award").status_code == 200
    assert json.loads(events("award.open_scoring")[0].payload)["made_public"] is True
