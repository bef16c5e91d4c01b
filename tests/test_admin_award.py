"""The admin's award page (progress, conflicts of interest, opening and closing scoring) and the
`flask award open|close` commands."""

import json
import re

import pytest
from sqlalchemy import select

from judging.extensions import db
from judging.models import AuditEvent, Award, Recusal

from .fixtures.domain import csrf_token, events, juror_client_for, text_of
from .fixtures.results import step
from .fixtures.scoring import (
    ALL_SCORES,
    AWARD,
    NOMINEE,
    declare,
    draft,
    other_award,
    put_evaluation,
    stored,
)

PAGE = f"/admin/awards/{AWARD}"


def status_of(award: Award) -> str:
    db.session.expire_all()
    return db.session.get(Award, award.id).status


def events_under(prefix: str, *but: str) -> list[AuditEvent]:
    """The audit events whose action starts with `prefix`, but for those in `but`, oldest first."""
    db.session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action.startswith(prefix))
    return list(
        db.session.scalars(query.where(AuditEvent.action.not_in(but)).order_by(AuditEvent.id))
    )


def test_a_step_first_asks_for_confirmation_and_says_what_will_happen(admin_client, seeded_award):
    seeded_award.status = "scoring"
    db.session.commit()
    response = admin_client.post(
        f"{PAGE}/close_scoring", data={"csrf_token": csrf_token(admin_client, PAGE)}
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Close scoring?" in page
    assert "no juror can save or change a score" in page
    assert status_of(seeded_award) == "scoring"  # nothing happened yet


def lift(client, recusal_id: int, reason: str, award: str = AWARD):
    return client.post(
        f"/admin/awards/{award}/recusals/{recusal_id}/lift",
        data={"reason": reason, "csrf_token": csrf_token(client, PAGE)},
    )


# --- The page ---------------------------------------------------------------------------------


def test_the_award_page_shows_each_jurors_progress_and_the_conflicts(
    app, admin_client, make_user, make_evaluation, seeded_award
):
    seeded_award.status = "scoring"
    db.session.commit()
    busy = make_user(role="juror", name="Bea Busy", awards=[seeded_award])
    make_user(role="juror", name="Ivo Idle", awards=[seeded_award])
    first, second, third, fourth = seeded_award.nominees[:4]
    make_evaluation(first, busy, ALL_SCORES, submitted=True)
    make_evaluation(second, busy, ALL_SCORES, submitted=True)
    make_evaluation(third, busy, {"impact": 3})
    # Submitted, then declared a conflict: it no longer counts, as submitted or as scoreable.
    make_evaluation(fourth, busy, ALL_SCORES, submitted=True)
    declare(juror_client_for(app, busy), "I chaired its steering group.", nominee=fourth.slug)

    response = admin_client.get(PAGE)
    assert response.status_code == 200
    rows = {
        name: " ".join(re.sub(r"<[^>]+>", "", row).split())
        for row in re.findall(r"<tr>(.*?)</tr>", response.get_data(as_text=True), re.S)
        for name in ("Bea Busy", "Ivo Idle")
        if name in row
    }
    # Juror, submitted, drafts, conflicts, last activity.
    assert re.fullmatch(r"Bea Busy\S+ 2 of 12 1 1 \d+ \w+ \d{4}, [\d:]+ UTC", rows["Bea Busy"]), (
        rows["Bea Busy"]
    )
    assert rows["Ivo Idle"].endswith("0 of 13 0 0 none yet"), rows["Ivo Idle"]

    text = text_of(response)
    assert f"Bea Busy · {fourth.title}" in text
    assert "“I chaired its steering group.”" in text
    assert "Reason for lifting it" in text
    assert "Close scoring" in text


# --- Opening and closing scoring --------------------------------------------------------------


def test_the_buttons_open_close_and_reopen_scoring_and_are_audited(admin_client, seeded_award):
    assert "Open scoring" in text_of(admin_client.get(PAGE))
    response = step(admin_client, "open_scoring")
    assert response.status_code == 302 and response.location == PAGE
    assert status_of(seeded_award) == "scoring"
    assert "Scoring is open: jurors can score." in text_of(admin_client.get(PAGE))

    step(admin_client, "close_scoring")
    assert status_of(seeded_award) == "closed"
    page = text_of(admin_client.get(PAGE))
    assert "Scoring is closed: no more scores are accepted." in page
    assert "Reopen scoring" in page

    step(admin_client, "open_scoring")
    assert status_of(seeded_award) == "scoring"

    opened, closed, reopened = events_under("award.", "award.seeded")
    assert [e.action for e in (opened, closed, reopened)] == [
        "award.open_scoring",
        "award.close_scoring",
        "award.open_scoring",
    ]
    assert {e.actor_id for e in (opened, closed, reopened)} == {admin_client.admin.id}
    assert {e.subject for e in (opened, closed, reopened)} == {f"award:{AWARD}"}
    payload = json.loads(closed.payload)
    assert (payload["before"], payload["after"]) == ("scoring", "closed")
    assert len(payload["scores_digest"]) == 64  # the state of every score at closing
    assert json.loads(reopened.payload) == {"before": "closed", "after": "scoring"}


def confirmation(client, name: str):
    return client.post(f"{PAGE}/{name}", data={"csrf_token": csrf_token(client, PAGE)})


def test_opening_scoring_with_an_empty_jury_warns_first_and_says_why_nobody_was_told(
    admin_client, seeded_award
):
    page = text_of(confirmation(admin_client, "open_scoring"))
    assert "This award has no jurors" in page
    assert "nobody will be told that scoring is open" in page
    assert "Yes, open scoring anyway" in page

    step(admin_client, "open_scoring")
    text = text_of(admin_client.get(PAGE))
    assert "The jury is empty, so nobody was told: add jurors on the Jury page." in text
    assert "juror(s)" not in text


def test_opening_scoring_says_which_jurors_were_told_and_why_not_the_others(
    admin_client, make_user, seeded_award
):
    make_user(awards=[seeded_award], invited=True)
    make_user(awards=[seeded_award], invited=True)
    page = text_of(confirmation(admin_client, "open_scoring"))
    assert "No juror has accepted the invitation yet" in page
    assert "2 jurors are invited but have not chosen a password, so nobody is emailed" in page
    assert "anyway" not in page

    make_user(awards=[seeded_award])
    page = text_of(confirmation(admin_client, "open_scoring"))
    assert "1 juror will be told by email. 2 have not accepted the invitation yet" in page

    step(admin_client, "open_scoring")
    text = text_of(admin_client.get(PAGE))
    assert (
        "Scoring is open: jurors can score. An email to 1 juror is queued. 2 jurors have not"
        in text
    )
    assert "they will find scoring open once they do." in text


def test_closing_scoring_stops_jurors_saving(app, admin_client, make_user, seeded_award):
    juror = make_user(role="juror", awards=[seeded_award])
    juror_client = juror_client_for(app, juror)
    step(admin_client, "open_scoring")
    assert put_evaluation(juror_client, draft({"impact": 7})).status_code == 200
    step(admin_client, "close_scoring")
    assert put_evaluation(juror_client, draft({"impact": 8}, version=1)).status_code == 409
    step(admin_client, "open_scoring")
    assert put_evaluation(juror_client, draft({"impact": 8}, version=1)).status_code == 200


@pytest.mark.parametrize(
    ("status", "refused"), [("draft", "close_scoring"), ("scoring", "open_scoring")]
)
def test_a_step_the_award_is_not_ready_for_is_refused(admin_client, seeded_award, status, refused):
    seeded_award.status = status
    db.session.commit()
    count = len(events_under(""))
    response = step(admin_client, refused)
    # Refused: 409, not a redirect as if it had been taken; the reason on the award's page.
    assert response.status_code == 409
    assert status_of(seeded_award) == status
    assert len(events_under("")) == count
    target = "closed" if refused == "close_scoring" else "scoring"
    assert f"it cannot go to {target} from there" in text_of(response)
    assert "Next step" in text_of(response)


def test_a_step_without_the_csrf_token_changes_nothing(admin_client, seeded_award):
    response = admin_client.post(f"{PAGE}/open_scoring")
    assert response.status_code == 400
    assert status_of(seeded_award) == "draft"


def test_an_unknown_award_is_404(admin_client, seeded_award):
    assert admin_client.get("/admin/awards/no-such-award").status_code == 404
    response = admin_client.post(
        "/admin/awards/no-such-award/open_scoring",
        data={"csrf_token": csrf_token(admin_client, "/admin/")},
    )
    assert response.status_code == 404


# --- Lifting a conflict of interest -----------------------------------------------------------


@pytest.fixture
def recused(app, make_user, seeded_award):
    """A juror who declared a conflict with the Gaming Club, logged in on a client of their own."""
    seeded_award.status = "scoring"
    db.session.commit()
    juror = make_user(role="juror", name="Rita Recused", awards=[seeded_award])
    juror_client = juror_client_for(app, juror)
    assert declare(juror_client, "My brother coaches there.").status_code == 201
    juror_client.recusal = db.session.scalar(select(Recusal))
    return juror_client


def test_lifting_a_conflict_lets_the_juror_score_again_and_is_audited(admin_client, recused):
    assert put_evaluation(recused, draft({"impact": 7})).status_code == 403
    assert "0 of 12 submitted" in text_of(recused.get("/jury/"))

    response = lift(admin_client, recused.recusal.id, "He left the club in 2021.")
    assert response.status_code == 302 and response.location == PAGE
    page = text_of(admin_client.get(PAGE))
    assert "The conflict of interest is lifted" in page
    assert "Lifted" in page and "He left the club in 2021." in page

    db.session.refresh(recused.recusal)
    assert recused.recusal.lifted_at is not None
    assert recused.recusal.lifted_by_id == admin_client.admin.id
    [event] = events("recusal.lifted")
    assert event.actor_id == admin_client.admin.id
    assert json.loads(event.payload)["reason"] == "He left the club in 2021."

    assert put_evaluation(recused, draft({"impact": 7})).status_code == 200
    assert "0 of 13 submitted" in text_of(recused.get("/jury/"))
    assert f'nominees/{NOMINEE}"' in recused.get("/jury/").get_data(as_text=True)


def test_a_lifted_conflict_can_be_declared_again(admin_client, recused):
    lift(admin_client, recused.recusal.id, "He left the club in 2021.")
    response = declare(recused, "He is back on its board.")
    assert response.status_code == 201
    assert put_evaluation(recused, draft({"impact": 7})).status_code == 403
    page = text_of(admin_client.get(PAGE))
    assert "“He is back on its board.”" in page and "Reason for lifting it" in page
    assert [e.action for e in events_under("recusal.")] == [
        "recusal.declared",
        "recusal.lifted",
        "recusal.declared",
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_lifting_needs_a_reason(admin_client, recused, reason):
    before = stored()
    response = lift(admin_client, recused.recusal.id, reason)
    assert response.status_code == 302
    assert stored() == before
    assert "Give the reason" in text_of(admin_client.get(PAGE))
    assert put_evaluation(recused, draft({"impact": 7})).status_code == 403


def test_a_lifted_conflict_cannot_be_lifted_again(admin_client, recused):
    lift(admin_client, recused.recusal.id, "He left the club in 2021.")
    before = stored()
    lift(admin_client, recused.recusal.id, "Again.")
    assert stored() == before
    assert "already lifted" in text_of(admin_client.get(PAGE))


def test_a_conflict_is_lifted_only_through_its_own_award(admin_client, recused):
    other_award()
    before = stored()
    response = lift(admin_client, recused.recusal.id, "Wrong award.", award="other-award")
    assert response.status_code == 404
    assert lift(admin_client, recused.recusal.id + 100, "No such one.").status_code == 404
    assert stored() == before


def test_a_juror_cannot_lift_their_own_conflict(recused):
    before = stored()
    response = recused.post(
        f"{PAGE}/recusals/{recused.recusal.id}/lift",
        data={"reason": "Trust me.", "csrf_token": csrf_token(recused, "/")},
    )
    assert response.status_code == 403
    assert stored() == before


# --- flask award open|close -------------------------------------------------------------------


def test_the_award_commands_open_close_and_reopen_scoring(runner, seeded_award):
    result = runner.invoke(args=["award", "open", AWARD])
    assert result.exit_code == 0, result.output
    assert f"{AWARD} is now scoring" in result.output
    assert status_of(seeded_award) == "scoring"

    result = runner.invoke(args=["award", "close", AWARD])
    assert result.exit_code == 0 and f"{AWARD} is now closed" in result.output
    assert status_of(seeded_award) == "closed"

    result = runner.invoke(args=["award", "open", AWARD])
    assert result.exit_code == 0 and f"{AWARD} is now scoring" in result.output
    assert status_of(seeded_award) == "scoring"

    audited = events_under("award.", "award.seeded")
    assert [e.action for e in audited] == [
        "award.open_scoring",
        "award.close_scoring",
        "award.open_scoring",
    ]
    assert {(e.actor_id, e.actor) for e in audited} == {(None, "system")}


@pytest.mark.parametrize(
    ("status", "command", "message"),
    [
        ("draft", "close", "is draft; it cannot go to closed from there"),
        ("scoring", "open", "is scoring; it cannot go to scoring from there"),
        ("closed", "close", "is closed; it cannot go to closed from there"),
    ],
)
def test_an_award_command_the_award_is_not_ready_for_fails_and_changes_nothing(
    runner, seeded_award, status, command, message
):
    seeded_award.status = status
    db.session.commit()
    before = stored()
    result = runner.invoke(args=["award", command, AWARD])
    assert result.exit_code != 0
    assert message in result.output and "Error" in result.output
    assert status_of(seeded_award) == status
    assert stored() == before


def test_an_award_command_for_an_unknown_award_fails(runner, seeded_award):
    result = runner.invoke(args=["award", "open", "no-such-award"])
    assert result.exit_code != 0
    assert "No award with slug no-such-award" in result.output
    assert status_of(seeded_award) == "draft"
