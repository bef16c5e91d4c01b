"""The rules of scoring, whatever the client sends, through the JSON API the evaluation page's
script uses: who may save, when, what, over which version, and what the audit log keeps.

Every refusal is checked to have changed nothing in the database.
"""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from judging.extensions import db
from judging.models import AuditEvent, utcnow
from judging.services import evaluations
from judging.services.audit import first_broken_event

from .fixtures.domain import csrf_token, log_in
from .fixtures.scoring import (
    ALL_SCORES,
    AWARD,
    NOMINEE,
    OUTSIDE_SCORING,
    declare,
    draft,
    evaluation_url,
    other_award,
    put_evaluation,
    recusal_url,
    set_phase,
    stored,
)

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


def audit_events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def saved(juror_client):
    """The juror's draft of the Gaming Club, at version 1, that refused writes must not touch."""
    response = put_evaluation(juror_client, draft({"impact": 7}, comment="First thoughts."))
    assert response.status_code == 200 and response.json["version"] == 1
    return response.json


def assert_refused(response, status: int, before: dict) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    assert stored() == before
    return response.json


# --- Who may save -----------------------------------------------------------------------------


def test_a_juror_of_the_award_saves_a_draft_and_reads_it_back(juror_client, juror):
    response = put_evaluation(juror_client, draft({"impact": 7}, comment="Promising reach."))
    assert response.status_code == 200
    assert response.json["scores"] == {"impact": 7}
    assert response.json["version"] == 1 and response.json["submitted"] is False

    again = juror_client.get(evaluation_url())
    assert again.status_code == 200
    assert again.json["scores"] == {"impact": 7}
    assert again.json["comment"] == "Promising reach."
    [evaluation] = stored()["evaluations"]
    assert evaluation.juror_id == juror.id and evaluation.version == 1


def test_an_anonymous_visitor_gets_401_and_saves_nothing(client, award):
    before = stored()
    body = assert_refused(put_evaluation(client, draft({"impact": 7})), 401, before)
    assert "Log in" in body["message"]
    assert client.get(evaluation_url()).status_code == 401


def test_a_juror_of_another_award_gets_403_and_saves_nothing(client, make_user, award, saved):
    outsider = make_user(role="juror", awards=[other_award(status="scoring")])
    other = client.application.test_client()
    log_in(other, outsider)
    before = stored()
    assert_refused(put_evaluation(other, draft({"impact": 2}, version=1)), 403, before)
    assert_refused(put_evaluation(other, draft({"impact": 2})), 403, before)
    assert other.get(evaluation_url()).status_code == 403


def test_an_administrator_gets_403_and_saves_nothing(client, make_user, award):
    admin = make_user(role="admin")
    log_in(client, admin)
    before = stored()
    assert_refused(put_evaluation(client, draft({"impact": 7})), 403, before)
    assert client.get(evaluation_url()).status_code == 403


def test_an_unknown_award_or_a_nominee_of_another_award_is_404(juror_client):
    other_award(status="scoring")
    before = stored()
    assert_refused(
        put_evaluation(juror_client, draft({"impact": 7}), nominee="elsewhere"), 404, before
    )
    assert_refused(put_evaluation(juror_client, draft({}), award="no-such-award"), 404, before)
    assert_refused(put_evaluation(juror_client, draft({}), nominee="no-such-nominee"), 404, before)


def test_a_write_without_the_csrf_token_is_refused(juror_client, saved):
    before = stored()
    response = juror_client.put(evaluation_url(), json=draft({"impact": 2}, version=1))
    assert_refused(response, 400, before)
    response = juror_client.post(recusal_url(), json={"reason": "Forged."})
    assert_refused(response, 400, before)


# --- When -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", OUTSIDE_SCORING)
def test_nothing_is_saved_outside_scoring_and_its_window(juror_client, award, saved, phase):
    set_phase(award, *OUTSIDE_SCORING[phase])
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 9}, version=1)), 409, before
    )
    assert "nothing was saved" in body["message"]
    assert "current" not in body  # not a version conflict: reloading would not help
    assert juror_client.get(evaluation_url()).json["scores"] == {"impact": 7}


def test_saving_inside_the_scoring_window_is_accepted(juror_client, award):
    set_phase(award, "scoring", timedelta(hours=-1), timedelta(hours=1))
    assert put_evaluation(juror_client, draft({"impact": 9})).status_code == 200


def test_scoring_closes_at_its_deadline_exactly(award):
    award.scoring_closes_at = datetime(2030, 6, 30, 17, 0)
    assert evaluations.scoring_is_open(award, now=datetime(2030, 6, 30, 16, 59, 59))
    assert not evaluations.scoring_is_open(award, now=datetime(2030, 6, 30, 17, 0))


# --- What -------------------------------------------------------------------------------------


def test_the_ends_of_each_scale_are_accepted(juror_client):
    response = put_evaluation(juror_client, draft({"impact": 1, "innovation": 10}))
    assert response.status_code == 200
    assert response.json["scores"] == {"impact": 1, "innovation": 10}


@pytest.mark.parametrize(
    "value",
    [0, 11, -1, 10**20, 7.5, 7.0, "7", True, False, [7], {"value": 7}],
    ids=repr,
)
def test_a_score_must_be_a_whole_number_inside_the_scale(juror_client, saved, value):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": value, "innovation": 5}, version=1)),
        422,
        before,
    )
    assert list(body["errors"]) == ["scores.impact"]  # the valid innovation score is not named


def test_a_null_score_is_refused(juror_client, saved):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": None}, version=1)), 422, before
    )
    assert "impact" in json.dumps(body["errors"])


def test_an_unknown_criterion_is_refused_by_name(juror_client, saved):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 7, "creativity": 5}, version=1)), 422, before
    )
    assert list(body["errors"]) == ["scores.creativity"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("juror", 5),
        ("juror_id", 5),
        ("nominee_id", 3),
        ("evaluation_id", 1),
        ("award", "other-award"),
        ("submitted_at", "2020-01-01T00:00:00Z"),
    ],
)
def test_a_client_cannot_set_anything_but_its_own_evaluation(juror_client, saved, field, value):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 3}, version=1, **{field: value})), 422, before
    )
    assert body["errors"] == {"json": {field: ["Unknown field."]}}


@pytest.mark.parametrize("missing", ["scores", "submitted", "version"])
def test_the_required_fields_are_required(juror_client, saved, missing):
    body = draft({"impact": 3}, version=1)
    del body[missing]
    before = stored()
    answer = assert_refused(put_evaluation(juror_client, body), 422, before)
    assert missing in answer["errors"]["json"]


@pytest.mark.parametrize("version", [-1, "1", 1.5, True, None])
def test_the_version_must_be_a_whole_number(juror_client, saved, version):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 3}, version=version)), 422, before
    )
    assert "version" in body["errors"]["json"]


@pytest.mark.parametrize("submitted", ["true", 1, 0, None])
def test_submitted_must_be_true_or_false(juror_client, saved, submitted):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft(ALL_SCORES, version=1, submitted=submitted)), 422, before
    )
    assert "submitted" in body["errors"]["json"]


def test_submitting_needs_every_criterion_and_names_the_missing_ones(juror_client, saved):
    before = stored()
    body = assert_refused(
        put_evaluation(
            juror_client, draft({"impact": 7, "innovation": 6}, version=1, submitted=True)
        ),
        422,
        before,
    )
    assert set(body["errors"]) == {
        "scores.person-centred",
        "scores.sustainability",
        "scores.transferability",
    }
    assert juror_client.get(evaluation_url()).json["submitted"] is False


def test_a_comment_may_be_10000_characters_and_no_more(juror_client, saved):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 7}, version=1, comment="x" * 10_001)),
        422,
        before,
    )
    assert "comment" in body["errors"]["json"]
    accepted = put_evaluation(juror_client, draft({"impact": 7}, version=1, comment="x" * 10_000))
    assert accepted.status_code == 200 and len(accepted.json["comment"]) == 10_000


def test_a_criterion_comment_may_be_10000_characters_and_no_more(juror_client, saved):
    before = stored()
    too_long = draft({"impact": 7}, version=1, criterion_comments={"impact": "x" * 10_001})
    body = assert_refused(put_evaluation(juror_client, too_long), 422, before)
    assert list(body["errors"]) == ["criterion_comments.impact"]
    unknown = draft({"impact": 7}, version=1, criterion_comments={"creativity": "Bold."})
    body = assert_refused(put_evaluation(juror_client, unknown), 422, before)
    assert list(body["errors"]) == ["criterion_comments.creativity"]


def test_criterion_comments_are_kept_with_their_scores(juror_client):
    body = draft({"impact": 7}, criterion_comments={"impact": "Reaches 400 families."})
    assert put_evaluation(juror_client, body).status_code == 200
    assert juror_client.get(evaluation_url()).json["criterion_comments"] == {
        "impact": "Reaches 400 families."
    }


def test_a_comment_on_a_criterion_not_scored_yet_is_not_lost(juror_client):
    body = draft({}, criterion_comments={"impact": "Reaches 400 families."})
    assert put_evaluation(juror_client, body).status_code == 200
    assert juror_client.get(evaluation_url()).json["criterion_comments"] == {
        "impact": "Reaches 400 families."
    }


# --- Versions: never a silent overwrite -------------------------------------------------------


def test_each_save_moves_the_version_on_and_a_stale_one_gets_the_newer_state(juror_client):
    first = put_evaluation(juror_client, draft({"impact": 7}))
    assert first.status_code == 200 and first.json["version"] == 1
    second = put_evaluation(juror_client, draft({"impact": 8}, version=1, comment="Tab A"))
    assert second.status_code == 200 and second.json["version"] == 2
    before = stored()

    stale = put_evaluation(juror_client, draft({"impact": 3}, version=1, comment="Tab B"))
    body = assert_refused(stale, 409, before)
    assert body["current"]["version"] == 2
    assert body["current"]["scores"] == {"impact": 8}
    assert body["current"]["comment"] == "Tab A"
    assert juror_client.get(evaluation_url()).json["comment"] == "Tab A"

    # Having seen the newer version, the juror may deliberately replace it.
    replaced = put_evaluation(juror_client, draft({"impact": 3}, version=2, comment="Tab B"))
    assert replaced.status_code == 200 and replaced.json["version"] == 3


def test_a_second_first_save_is_a_conflict(juror_client, saved):
    before = stored()
    body = assert_refused(put_evaluation(juror_client, draft({"impact": 2})), 409, before)
    assert body["current"]["version"] == 1 and body["current"]["scores"] == {"impact": 7}
    assert len(stored()["evaluations"]) == 1


@pytest.mark.parametrize("version", [2, 7])
def test_a_version_never_saved_is_a_conflict(juror_client, saved, version):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 2}, version=version)), 409, before
    )
    assert body["current"]["version"] == 1


def test_saving_over_a_version_of_an_evaluation_that_does_not_exist_creates_nothing(juror_client):
    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 2}, version=1)), 409, before
    )
    assert body["current"]["version"] == 0 and body["current"]["scores"] == {}


def test_a_partial_draft_is_kept_and_a_score_taken_back_is_removed(juror_client):
    put_evaluation(juror_client, draft({"impact": 7, "innovation": 4}))
    response = put_evaluation(juror_client, draft({"impact": 7}, version=1))
    assert response.status_code == 200 and response.json["scores"] == {"impact": 7}
    assert juror_client.get(evaluation_url()).json["scores"] == {"impact": 7}
    assert [s.value for s in stored()["scores"]] == [7]


def test_submitting_changing_withdrawing_and_resubmitting(juror_client):
    submitted = put_evaluation(juror_client, draft(ALL_SCORES, submitted=True)).json
    assert submitted["submitted"] is True and submitted["submitted_at"]

    changed = put_evaluation(
        juror_client, draft({**ALL_SCORES, "impact": 2}, version=1, submitted=True)
    ).json
    assert changed["scores"]["impact"] == 2
    assert changed["submitted_at"] == submitted["submitted_at"]  # when it was first submitted

    withdrawn = put_evaluation(juror_client, draft(ALL_SCORES, version=2)).json
    assert withdrawn["submitted"] is False and withdrawn["submitted_at"] is None

    resubmitted = put_evaluation(juror_client, draft(ALL_SCORES, version=3, submitted=True)).json
    assert resubmitted["submitted"] is True
    assert resubmitted["submitted_at"] > submitted["submitted_at"]
    assert juror_client.get(evaluation_url()).json == resubmitted


def test_times_carry_their_utc_offset_so_the_page_shows_local_time(juror_client):
    answer = put_evaluation(juror_client, draft(ALL_SCORES, submitted=True)).json
    for name in ("updated_at", "submitted_at"):
        moment = datetime.fromisoformat(answer[name])
        assert moment.utcoffset() == timedelta(0), answer[name]
        assert abs(moment.replace(tzinfo=None) - utcnow()) < timedelta(minutes=1)
    recusal = declare(juror_client, "I advised them.", nominee="omapu").json
    assert datetime.fromisoformat(recusal["declared_at"]).utcoffset() == timedelta(0)


def test_a_save_that_fails_half_way_leaves_nothing_behind(juror_client, monkeypatch):
    """Otherwise the retry of the same first save would be refused as a conflict."""

    def fail(*args, **kwargs):
        raise RuntimeError("the server fell over")

    monkeypatch.setattr(evaluations, "record_event", fail)
    with pytest.raises(RuntimeError):
        put_evaluation(juror_client, draft({"impact": 7}))
    monkeypatch.undo()

    assert stored()["evaluations"] == []
    assert juror_client.get(evaluation_url()).json["version"] == 0
    retry = put_evaluation(juror_client, draft({"impact": 7}))
    assert retry.status_code == 200 and retry.json["version"] == 1


# --- Blind jury -------------------------------------------------------------------------------


def test_a_juror_never_receives_another_jurors_evaluation(
    juror_client, make_user, make_evaluation, award
):
    secret = "ZEBRA-7319 only the other juror wrote this"
    other = make_user(role="juror", awards=[award])
    gaming_club = award.nominees[0]
    theirs = make_evaluation(gaming_club, other, ALL_SCORES, submitted=True, comment=secret)

    mine = juror_client.get(evaluation_url())
    assert mine.json["version"] == 0 and mine.json["scores"] == {} and mine.json["comment"] == ""
    for url in (
        "/api/v1/awards",
        f"/api/v1/awards/{AWARD}/nominees",
        f"/api/v1/awards/{AWARD}/criteria",
        evaluation_url(),
    ):
        assert secret not in juror_client.get(url).get_data(as_text=True), url

    # The juror's first save is their own evaluation, not a conflict with the other juror's.
    saved = put_evaluation(juror_client, draft({"impact": 2}))
    assert saved.status_code == 200
    assert secret not in saved.get_data(as_text=True)
    db.session.refresh(theirs)
    assert theirs.version == 1 and theirs.comment == secret
    assert {s.criterion.slug: s.value for s in theirs.scores} == ALL_SCORES


def test_evaluation_answers_are_never_cached(juror_client, saved):
    answers = [
        juror_client.get(evaluation_url()),
        put_evaluation(juror_client, draft({"impact": 8}, version=1)),
        put_evaluation(juror_client, draft({"impact": 9}, version=1)),  # 409 with `current`
        put_evaluation(juror_client, draft({"impact": 99}, version=2)),  # 422
    ]
    assert [a.status_code for a in answers] == [200, 200, 409, 422]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"


def test_the_criteria_list_each_scale_and_weight_in_order(client, award):
    response = client.get(f"/api/v1/awards/{AWARD}/criteria")
    assert response.status_code == 200
    assert [c["slug"] for c in response.json] == list(ALL_SCORES)
    impact = response.json[1]
    assert set(impact) == {"slug", "name", "guidance", "weight", "min", "max"}
    assert (impact["name"], impact["weight"], impact["min"], impact["max"]) == (
        "Impact",
        25,
        1,
        10,
    )
    assert client.get("/api/v1/awards/no-such-award/criteria").status_code == 404


# --- Conflicts of interest --------------------------------------------------------------------


def test_declaring_a_conflict_stops_scoring_and_is_audited(juror_client, juror, saved):
    response = declare(juror_client, "  I advised this project in 2022.  ")
    assert response.status_code == 201
    assert response.json["nominee"] == NOMINEE
    assert response.json["reason"] == "I advised this project in 2022."
    [event] = audit_events("recusal.declared")
    assert event.actor_id == juror.id
    assert json.loads(event.payload)["reason"] == "I advised this project in 2022."

    before = stored()
    body = assert_refused(
        put_evaluation(juror_client, draft({"impact": 9}, version=1)), 403, before
    )
    assert "conflict of interest" in body["message"]
    assert_refused(put_evaluation(juror_client, draft(ALL_SCORES, submitted=True)), 403, before)


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 2001])
def test_a_conflict_needs_a_reason(juror_client, saved, reason):
    before = stored()
    body = assert_refused(declare(juror_client, reason), 422, before)
    assert "reason" in json.dumps(body["errors"])


def test_a_conflict_is_declared_once(juror_client):
    assert declare(juror_client, "My sister runs it.").status_code == 201
    before = stored()
    assert_refused(declare(juror_client, "And my cousin."), 422, before)


def test_a_conflict_cannot_be_declared_with_other_fields(juror_client):
    token = csrf_token(juror_client, "/")
    before = stored()
    response = juror_client.post(
        recusal_url(), json={"reason": "Mine.", "juror_id": 1}, headers={"X-CSRFToken": token}
    )
    body = assert_refused(response, 422, before)
    assert body["errors"] == {"json": {"juror_id": ["Unknown field."]}}


def test_a_conflict_cannot_be_declared_once_scoring_has_closed(juror_client, award):
    set_phase(award, "closed", None, None)
    before = stored()
    assert_refused(declare(juror_client, "I advised them."), 409, before)


def test_only_the_awards_jurors_declare_conflicts(client, make_user, award):
    outsider = make_user(role="juror", awards=[other_award()])
    admin = make_user(role="admin")
    before = stored()
    assert_refused(declare(client, "Not logged in."), 401, before)
    log_in(client, outsider)
    assert_refused(declare(client, "Not on this jury."), 403, before)
    admin_client = client.application.test_client()
    log_in(admin_client, admin)
    assert_refused(declare(admin_client, "An administrator."), 403, before)


# --- The audit log ----------------------------------------------------------------------------


def test_saves_are_audited_with_what_changed(juror_client, juror):
    put_evaluation(juror_client, draft({"impact": 7}))
    put_evaluation(juror_client, draft({"impact": 9}, version=1, comment="Better on reflection."))
    put_evaluation(juror_client, draft(ALL_SCORES, version=2, submitted=True))

    first, changed, submitted = (e for e in audit_events() if e.action.startswith("evaluation."))
    assert [first.action, changed.action, submitted.action] == [
        "evaluation.saved",
        "evaluation.saved",
        "evaluation.submitted",
    ]
    assert {e.actor_id for e in (first, changed, submitted)} == {juror.id}
    [evaluation] = stored()["evaluations"]
    assert {e.subject for e in (first, changed, submitted)} == {f"evaluation:{evaluation.id}"}

    assert json.loads(first.payload)["before"] is None
    payload = json.loads(changed.payload)
    assert payload["version"] == 2
    assert payload["before"]["scores"] == {"impact": 7} and payload["before"]["comment"] == ""
    assert payload["after"]["scores"] == {"impact": 9}
    assert payload["after"]["comment"] == "Better on reflection."
    assert json.loads(submitted.payload)["after"]["submitted"] is True
    assert first_broken_event(audit_events()) is None


def test_a_save_that_changes_nothing_is_not_audited(juror_client, saved):
    count = len(audit_events())
    same = put_evaluation(juror_client, draft({"impact": 7}, version=1, comment="First thoughts."))
    assert same.status_code == 200
    assert len(audit_events()) == count


# --- The OpenAPI document ---------------------------------------------------------------------


def test_the_openapi_document_describes_scoring(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    evaluation = paths["/api/v1/awards/{award_slug}/nominees/{nominee_slug}/my-evaluation"]
    recusal = paths["/api/v1/awards/{award_slug}/nominees/{nominee_slug}/recusal"]
    criteria = paths["/api/v1/awards/{award_slug}/criteria"]

    assert set(criteria["get"]["responses"]) >= {"200", "404"}
    assert set(evaluation["get"]["responses"]) >= {"200", "401", "403", "404"}
    assert set(evaluation["put"]["responses"]) >= {"200", "401", "403", "404", "409", "422"}
    assert set(recusal["post"]["responses"]) >= {"201", "401", "403", "404", "409", "422"}
    conflict = evaluation["put"]["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/ConflictOut"}

    schemas = spec["components"]["schemas"]
    assert schemas["EvaluationIn"]["additionalProperties"] is False
    assert set(schemas["EvaluationIn"]["required"]) == {"scores", "submitted", "version"}
    assert schemas["RecusalIn"]["additionalProperties"] is False
    assert "current" in schemas["ConflictOut"]["properties"]
    assert schemas["EvaluationOut"]["properties"]["updated_at"]["format"] == "date-time"
    assert set(schemas["CriterionOut"]["required"]) == {
        "slug",
        "name",
        "guidance",
        "weight",
        "min",
        "max",
    }
