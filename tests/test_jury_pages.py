"""The juror's pages through the test client: the dashboard, the evaluation page and its form
posted without JavaScript, conflicts of interest, and what a juror must never see."""

import re
from datetime import datetime

import pytest
from markupsafe import escape
from sqlalchemy import select

from judging.extensions import db
from judging.models import AuditEvent, Evaluation, Recusal
from judging.services.juror_view import shuffled_for

from .fixtures.domain import csrf_token, log_in, text_of
from .fixtures.scoring import (
    ALL_SCORES,
    AWARD,
    NOMINEE,
    OUTSIDE_SCORING,
    draft,
    evaluation_url,
    other_award,
    put_evaluation,
    set_phase,
    stored,
)

PAGE = f"/jury/awards/{AWARD}/nominees/{NOMINEE}"


def post_form(client, scores=None, *, version=0, action="save", nominee=NOMINEE, **fields):
    """The evaluation form as a browser without JavaScript posts it."""
    data = {
        "csrf_token": csrf_token(client, "/"),
        "version": str(version),
        "action": action,
        **{f"score-{slug}": str(value) for slug, value in (scores or {}).items()},
        **fields,
    }
    return client.post(f"/jury/awards/{AWARD}/nominees/{nominee}", data=data)


def checked(response, slug: str) -> list[str]:
    """The values of the criterion's radio buttons that are checked on the page."""
    return re.findall(
        rf'name="score-{slug}" value="(\d+)" checked', response.get_data(as_text=True)
    )


def dashboard_order(client) -> list[str]:
    page = client.get("/jury/").get_data(as_text=True)
    return re.findall(rf'href="/jury/awards/{AWARD}/nominees/([\w-]+)"', page)


def nominee(award, slug):
    return next(n for n in award.nominees if n.slug == slug)


# --- The evaluation page ----------------------------------------------------------------------


def test_the_evaluation_page_shows_the_nominee_and_every_criterion_with_its_scale(
    juror_client, award
):
    response = juror_client.get(PAGE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Gaming Club" in page and "Gothenburg City Council" in page
    for criterion in award.criteria:
        assert str(escape(criterion.name)) in page
        assert str(escape(criterion.guidance)) in page
        values = re.findall(rf'name="score-{criterion.slug}" value="(\d+)"', page)
        assert values == [str(v) for v in range(criterion.scale_min, criterion.scale_max + 1)]
    # Weights as shares of the total: 25 + 25 + 20 + 15 + 15.
    assert re.findall(r'class="weight"[^>]*>(\d+)%<', page) == ["25", "25", "20", "15", "15"]
    assert "Not started" in page


def test_the_page_shows_the_jurors_saved_evaluation(juror_client):
    put_evaluation(juror_client, draft({"impact": 7}, comment="Strong evidence."))
    response = juror_client.get(PAGE)
    assert checked(response, "impact") == ["7"]
    assert checked(response, "innovation") == []
    assert "Strong evidence.</textarea>" in response.get_data(as_text=True)
    assert 'name="version" value="1"' in response.get_data(as_text=True)


def test_a_draft_saved_without_javascript(juror_client, juror, make_user):
    other = make_user(role="juror")
    response = post_form(
        juror_client, {"impact": 7}, comment="Draft thoughts.", juror_id=str(other.id)
    )
    assert response.status_code == 302 and response.location == PAGE
    [evaluation] = stored()["evaluations"]
    assert evaluation.juror_id == juror.id  # a posted juror_id changes nothing
    assert (evaluation.version, evaluation.comment, evaluation.submitted_at) == (
        1,
        "Draft thoughts.",
        None,
    )

    page = juror_client.get(PAGE)
    assert "Draft saved." in text_of(page)
    assert checked(page, "impact") == ["7"]

    again = post_form(juror_client, {"impact": 8, "innovation": 3}, version=1)
    assert again.status_code == 302
    assert juror_client.get(evaluation_url()).json["scores"] == {"impact": 8, "innovation": 3}


def test_submitting_without_javascript_goes_on_to_the_next_nominee(juror_client, juror, award):
    order = [n.slug for n in shuffled_for(juror, list(award.nominees))]
    following = order[(order.index(NOMINEE) + 1) % len(order)]
    response = post_form(
        juror_client, ALL_SCORES, action="submit", **{"comment-impact": "Reaches 400 families."}
    )
    assert response.status_code == 302
    assert response.location == f"/jury/awards/{AWARD}/nominees/{following}"
    mine = juror_client.get(evaluation_url()).json
    assert mine["submitted"] is True and mine["scores"] == ALL_SCORES
    assert mine["criterion_comments"] == {"impact": "Reaches 400 families."}
    assert "is submitted" in text_of(juror_client.get(response.location))


def test_submitting_the_last_one_goes_back_to_the_dashboard(
    juror_client, juror, award, make_evaluation
):
    for other in award.nominees:
        if other.slug != NOMINEE:
            make_evaluation(other, juror, ALL_SCORES, submitted=True)
    response = post_form(juror_client, ALL_SCORES, action="submit")
    assert response.location == "/jury/"
    assert "13 of 13 submitted" in text_of(juror_client.get("/jury/"))


def test_submitting_with_criteria_missing_names_them_and_keeps_the_input_as_a_draft(
    juror_client, juror, award
):
    response = post_form(
        juror_client, {"impact": 7, "innovation": 4}, action="submit", comment="Keep me."
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Not submitted yet: score every criterion first. Your draft is saved." in text_of(
        response
    )
    evaluation = db.session.scalar(select(Evaluation))
    assert evaluation.submitted_at is None and evaluation.comment == "Keep me."
    assert sorted(s.value for s in evaluation.scores) == [4, 7]
    for slug in ("person-centred", "sustainability", "transferability"):
        assert re.search(rf'id="error-{slug}">Score this criterion before submitting.', page), slug
    assert 'id="error-impact"' not in page
    assert checked(response, "impact") == ["7"] and checked(response, "innovation") == ["4"]
    assert "Keep me.</textarea>" in page


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Must be between 1 and 10."),
        ("11", "Must be between 1 and 10."),
        ("-3", "Must be between 1 and 10."),
        ("7.5", "Must be a whole number."),
        ("seven", "Must be a whole number."),
    ],
)
def test_a_score_outside_the_scale_is_refused_next_to_its_criterion(juror_client, value, message):
    post_form(juror_client, {"impact": 5})
    before = stored()
    response = post_form(
        juror_client, version=1, **{"score-impact": value, "score-innovation": "4"}
    )
    assert response.status_code == 422
    assert stored() == before
    page = response.get_data(as_text=True)
    assert f'id="error-impact">{message}' in page
    assert 'id="error-innovation"' not in page


def test_a_comment_over_10000_characters_is_refused(juror_client):
    post_form(juror_client, {"impact": 5})
    before = stored()
    response = post_form(juror_client, {"impact": 6}, version=1, comment="x" * 10_001)
    assert response.status_code == 422
    assert stored() == before


def test_a_stale_form_shows_what_differs_and_keeps_the_jurors_version(juror_client):
    post_form(juror_client, {"impact": 5})
    put_evaluation(juror_client, draft({"impact": 9}, version=1, comment="From the tablet."))
    before = stored()

    response = post_form(juror_client, {"impact": 3}, version=1, comment="From the laptop.")
    assert response.status_code == 409
    assert stored() == before
    page = response.get_data(as_text=True)
    assert "This evaluation was changed in another tab or device" in page
    assert "<td>Impact</td><td>3</td><td>9</td>" in page
    assert "From the tablet." in page
    assert checked(response, "impact") == ["3"]  # the juror's own input is kept
    assert "From the laptop.</textarea>" in page
    assert 'name="version" value="2"' in page  # saving again deliberately replaces it

    replaced = post_form(juror_client, {"impact": 3}, version=2, comment="From the laptop.")
    assert replaced.status_code == 302
    assert juror_client.get(evaluation_url()).json["comment"] == "From the laptop."


@pytest.mark.parametrize("phase", OUTSIDE_SCORING)
def test_the_form_saves_nothing_outside_scoring(juror_client, award, phase):
    post_form(juror_client, {"impact": 5})
    set_phase(award, *OUTSIDE_SCORING[phase])
    before = stored()
    response = post_form(juror_client, ALL_SCORES, version=1, action="submit")
    assert response.status_code == 409
    assert stored() == before
    assert "nothing was saved" in text_of(response)
    assert '<fieldset class="criteria" disabled>' in response.get_data(as_text=True)


def test_only_the_awards_jurors_reach_the_form(client, make_user, award):
    outsider = make_user(role="juror", awards=[other_award(status="scoring")])
    admin = make_user(role="admin")
    before = stored()

    anonymous = post_form(client, ALL_SCORES)
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")
    log_in(client, outsider)
    assert client.get(PAGE).status_code == 403
    assert post_form(client, ALL_SCORES).status_code == 403
    admin_client = client.application.test_client()
    log_in(admin_client, admin)
    assert admin_client.get(PAGE).status_code == 403
    assert post_form(admin_client, ALL_SCORES).status_code == 403
    assert stored() == before


# --- Conflicts of interest --------------------------------------------------------------------


def test_declaring_a_conflict_takes_the_nominee_off_the_jurors_list(juror_client, juror, award):
    post_form(juror_client, {"impact": 5})
    response = declare_conflict(juror_client, "I advised this project.", step="confirmed")
    assert response.status_code == 302 and response.location == "/jury/"

    dashboard = juror_client.get("/jury/")
    text = text_of(dashboard)
    assert "Conflict of interest declared: you will not score “Gaming Club”. If this" in text
    assert "administrator: only they can lift it." in text
    assert "0 of 12 submitted" in text
    assert NOMINEE not in dashboard_order(juror_client)
    assert len(dashboard_order(juror_client)) == 12
    assert "Conflict of interest declared, not scored by you: Gaming Club." in text

    page = juror_client.get(PAGE)
    assert "You declared a conflict of interest" in text_of(page)
    assert "“I advised this project.”" in text_of(page)
    assert "”." not in text_of(page)  # the reason's own full stop, not a second one
    assert "administrator: only they can lift it" in text_of(page)
    assert 'id="evaluation-form"' not in page.get_data(as_text=True)

    before = stored()
    assert post_form(juror_client, ALL_SCORES, version=1, action="submit").status_code == 403
    assert put_evaluation(juror_client, draft({"impact": 2}, version=1)).status_code == 403
    assert stored() == before

    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recusal.declared"))
    assert event.actor_id == juror.id and "I advised this project." in event.payload


def declare_conflict(client, reason: str, step: str | None = None):
    """The conflict form, as posted without JavaScript; `step` is the confirmation page's
    button ("confirmed" or "back"), None for the first post."""
    data = {"reason": reason, "csrf_token": csrf_token(client, "/")}
    if step:
        data["step"] = step
    return client.post(f"{PAGE}/recusal", data=data)


def test_declaring_a_conflict_asks_first_and_says_who_can_lift_it(juror_client, juror):
    post_form(juror_client, {"impact": 5})
    before = stored()

    response = declare_conflict(juror_client, "I advised this project in 2022.")

    assert response.status_code == 200
    text = text_of(response)
    assert "Declare a conflict of interest with “Gaming Club”?" in text
    assert "You cannot undo this yourself." in text
    assert "only they can lift it" in text
    assert "I advised this project in 2022.</textarea>" in response.get_data(as_text=True)
    assert stored() == before and db.session.scalar(select(Recusal)) is None
    assert NOMINEE in dashboard_order(juror_client)


def test_going_back_from_the_confirmation_keeps_the_reason_and_declares_nothing(juror_client):
    response = declare_conflict(juror_client, "My sister runs it.", step="back")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="evaluation-form"' in page
    assert re.search(r'<details class="recusal" id="recusal" open>', page)
    assert "My sister runs it.</textarea>" in page
    assert db.session.scalar(select(Recusal)) is None
    assert NOMINEE in dashboard_order(juror_client)


def test_an_administrator_lifts_a_conflict_and_the_juror_can_score_again(
    app, juror_client, juror, make_user
):
    declare_conflict(juror_client, "I advised this project.", step="confirmed")
    recusal = db.session.scalar(select(Recusal))
    admin = make_user(role="admin")
    admin_client = app.test_client()
    log_in(admin_client, admin)
    response = admin_client.post(
        f"/admin/awards/{AWARD}/recusals/{recusal.id}/lift",
        data={"reason": "It was another project.", "csrf_token": csrf_token(admin_client, "/")},
    )
    assert response.status_code == 302

    page = juror_client.get(PAGE)
    assert 'id="evaluation-form"' in page.get_data(as_text=True)
    assert "You declared a conflict of interest" not in text_of(page)
    assert NOMINEE in dashboard_order(juror_client)
    assert post_form(juror_client, ALL_SCORES, action="submit").status_code == 302


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_conflict_without_a_reason_is_not_declared(juror_client, reason):
    before = stored()
    response = juror_client.post(
        f"{PAGE}/recusal", data={"reason": reason, "csrf_token": csrf_token(juror_client, "/")}
    )
    assert response.status_code == 302 and response.location == PAGE
    assert stored() == before
    assert "Say briefly why" in text_of(juror_client.get(PAGE))
    assert db.session.scalar(select(Recusal)) is None


# --- The dashboard ----------------------------------------------------------------------------


def test_the_dashboard_counts_what_the_juror_submitted(juror_client, juror, award, make_evaluation):
    first, second, third = award.nominees[:3]
    make_evaluation(first, juror, ALL_SCORES, submitted=True)
    make_evaluation(second, juror, ALL_SCORES, submitted=True)
    make_evaluation(third, juror, {"impact": 4})

    response = juror_client.get("/jury/")
    assert response.headers["Cache-Control"] == "no-store"
    text = text_of(response)
    assert "2 of 13 submitted" in text
    page = response.get_data(as_text=True)
    assert '<progress max="13" value="2"' in page
    assert page.count('class="chip chip-submitted"') == 2
    assert page.count('class="chip chip-draft"') == 1
    assert page.count('class="chip chip-not-started"') == 10
    assert "2 of 13 submitted" in text_of(juror_client.get(PAGE))


def test_each_juror_has_an_order_of_their_own_that_stays(juror_client, make_user, award):
    mine = dashboard_order(juror_client)
    assert sorted(mine) == sorted(n.slug for n in award.nominees)
    assert dashboard_order(juror_client) == mine

    other = juror_client.application.test_client()
    log_in(other, make_user(role="juror", awards=[award]))
    theirs = dashboard_order(other)
    assert sorted(theirs) == sorted(mine)
    assert theirs != mine  # 13! orders: equal by chance with probability 1.6e-10

    # The evaluation pages lead through the nominees in the juror's own order.
    first = juror_client.get(f"/jury/awards/{AWARD}/nominees/{mine[0]}")
    assert f'href="/jury/awards/{AWARD}/nominees/{mine[1]}" rel="next"' in first.get_data(
        as_text=True
    )
    assert "Nominee 1 of 13" in text_of(first)


def test_the_dashboard_shows_the_deadline_when_there_is_one(juror_client, award):
    assert "Scoring closes" not in text_of(juror_client.get("/jury/"))
    award.scoring_closes_at = datetime(2030, 6, 30, 17, 0)
    db.session.commit()
    assert "Scoring closes 30 June 2030, 17:00 UTC." in text_of(juror_client.get("/jury/"))


def test_times_are_shown_in_the_deployments_time_zone(app, juror_client, award, make_evaluation):
    app.config["TIME_ZONE"] = "Europe/Brussels"
    award.scoring_closes_at = datetime(2030, 6, 30, 17, 0)  # UTC, as stored
    db.session.commit()
    dashboard = juror_client.get("/jury/").get_data(as_text=True)
    assert '<time datetime="2030-06-30T17:00:00Z">30 June 2030, 19:00 CEST</time>' in dashboard

    award.scoring_closes_at = datetime(2030, 12, 1, 13, 30)
    db.session.commit()
    assert "Scoring closes 1 December 2030, 14:30 CET." in text_of(juror_client.get("/jury/"))
    page = text_of(juror_client.get(PAGE))
    assert "until scoring closes (1 December 2030, 14:30 CET)" in page
    assert "UTC" not in page


def test_the_dashboard_says_when_scoring_is_not_open(juror_client, award):
    set_phase(award, "draft", None, None)
    assert "Scoring has not opened yet." in text_of(juror_client.get("/jury/"))
    set_phase(award, "closed", None, None)
    text = text_of(juror_client.get("/jury/"))
    assert "Scoring is closed: you submitted 0 of 13." in text
    assert "no longer change them" in text


def test_the_dashboard_says_when_the_juror_is_done(juror_client, juror, award, make_evaluation):
    for nominee_ in award.nominees[:-1]:
        make_evaluation(nominee_, juror, ALL_SCORES, submitted=True)
    text = text_of(juror_client.get("/jury/"))
    assert "12 of 13 submitted" in text and "you are done" not in text.lower()

    make_evaluation(award.nominees[-1], juror, ALL_SCORES, submitted=True)
    text = text_of(juror_client.get("/jury/"))
    assert "You have submitted every evaluation: you are done." in text
    assert "You are done with this award: all 13 evaluations submitted. Thank you!" in text


# --- After scoring closes ---------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["closed", "window-over"])
def test_after_scoring_closes_the_evaluation_is_read_only_and_says_so(
    juror_client, juror, award, make_evaluation, phase
):
    make_evaluation(nominee(award, NOMINEE), juror, ALL_SCORES, submitted=True)
    set_phase(award, *OUTSIDE_SCORING[phase])

    response = juror_client.get(PAGE)
    page, text = response.get_data(as_text=True), text_of(response)
    assert "Scoring is closed: this evaluation is read-only" in text
    assert "shown below as it was counted" in text
    assert "You can come back and change your evaluation" not in text
    assert 'id="submit-evaluation"' not in page and 'id="save-draft"' not in page
    assert "is-read-only" in page and '<fieldset class="criteria" disabled>' in page
    assert checked(response, "impact") == [str(ALL_SCORES["impact"])]
    # Nor can the conflict of interest be declared any more.
    assert "Declare a conflict of interest" not in text


def test_a_draft_left_when_scoring_closed_says_it_does_not_count(juror_client, juror, award):
    post_form(juror_client, {"impact": 5})
    set_phase(award, "closed", None, None)
    text = text_of(juror_client.get(PAGE))
    assert "This draft was never submitted, so it does not count in the results." in text


# --- Blind jury -------------------------------------------------------------------------------


def test_no_juror_page_shows_another_jurors_work(juror_client, make_user, award, make_evaluation):
    secret_comment = "ZEBRA-7319 the other juror's overall comment"
    secret_reason = "QUOKKA-2207 the other juror's conflict"
    other = make_user(role="juror", awards=[award])
    theirs = make_evaluation(
        nominee(award, NOMINEE), other, ALL_SCORES, submitted=True, comment=secret_comment
    )
    theirs.scores[0].comment = "PANGOLIN-5150 the other juror's criterion comment"
    db.session.add(
        Recusal(nominee_id=nominee(award, "omapu").id, juror_id=other.id, reason=secret_reason)
    )
    db.session.commit()
    secrets = (secret_comment, secret_reason, "PANGOLIN-5150")

    pages = [juror_client.get("/jury/")] + [
        juror_client.get(f"/jury/awards/{AWARD}/nominees/{n.slug}") for n in award.nominees
    ]
    pages.append(juror_client.get(evaluation_url()))
    for page in pages:
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, (page.request.path, secret)

    # Their scores and progress are not the juror's either.
    gaming_club = juror_client.get(PAGE)
    assert all(checked(gaming_club, slug) == [] for slug in ALL_SCORES)
    assert "Not started" in gaming_club.get_data(as_text=True)
    dashboard = text_of(juror_client.get("/jury/"))
    assert "0 of 13 submitted" in dashboard
    assert "Conflict of interest declared" not in dashboard
    assert "omapu" in dashboard_order(juror_client)
