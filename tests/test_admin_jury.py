"""The admin's jury page: who is on the jury, how the nominees are shared (all, or an assignment
generated and adjusted by hand), each juror's and nominee's progress, and reminders."""

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from judging.extensions import db
from judging.models import Assignment, Award, Evaluation, JuryMember, Nominee, utcnow
from judging.services import juror_view
from judging.services.progress import award_progress, jury_progress

from .fixtures.domain import csrf_token, events, juror_client_for, post, text_of
from .fixtures.mail import deliver_mail, outbox
from .fixtures.scoring import ALL_SCORES, AWARD, declare, draft, put_evaluation

PAGE = f"/admin/awards/{AWARD}/jury"


@pytest.fixture
def jury(make_user, seeded_award):
    """Five jurors on the Excellence Award's jury, named A to E."""
    return [make_user(name=f"Juror {c}", awards=[seeded_award]) for c in "ABCDE"]


def assigned() -> set[tuple[int, int]]:
    """(juror id, nominee id) of every assignment, read afresh."""
    db.session.expire_all()
    return set(db.session.execute(select(Assignment.juror_id, Assignment.nominee_id)).all())


def payloads(action: str) -> list[dict]:
    """The payloads of one action's audit events, oldest first, each with its subject."""
    return [json.loads(e.payload) | {"_subject": e.subject} for e in events(action)]


def mode_of(award: Award) -> str:
    db.session.expire_all()
    return db.session.get(Award, award.id).assignment_mode


def members(award: Award) -> set[int]:
    return set(
        db.session.scalars(select(JuryMember.user_id).where(JuryMember.award_id == award.id))
    )


def generate(client, k) -> object:
    return post(client, f"{PAGE}/generate", k=str(k))


# --- The page ---------------------------------------------------------------------------------


def test_the_award_page_links_to_the_jury_page(admin_client, seeded_award):
    page = admin_client.get(f"/admin/awards/{AWARD}").get_data(as_text=True)
    assert f'href="{PAGE}">Jury and progress</a>' in page
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    text = text_of(response)
    assert "Jury and progress" in text
    assert "No jurors on this award's jury yet." in text
    assert "every juror scores every nominee" in text


def test_an_unknown_award_is_404(admin_client):
    assert admin_client.get("/admin/awards/no-such-award/jury").status_code == 404


# --- Jury membership --------------------------------------------------------------------------


def test_an_existing_juror_account_is_added_to_the_jury_and_audited(
    admin_client, make_user, seeded_award
):
    outsider = make_user(name="Olga Outside")
    make_user(name="Dee Activated", active=False)
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Olga Outside" in page
    assert "Dee Activated" not in page  # deactivated accounts are not offered
    assert 'href="/admin/people"' in page  # new people are invited there

    response = post(admin_client, f"{PAGE}/add", juror=str(outsider.id))
    assert response.status_code == 302 and response.location.startswith(PAGE)
    assert outsider.id in members(seeded_award)
    [event] = payloads("jury.membership_changed")
    assert event["added"] == [AWARD] and event["_subject"] == f"user:{outsider.id}"
    assert "Olga Outside is on the jury." in text_of(admin_client.get(PAGE))


@pytest.mark.parametrize("who", ["admin", "member", "deactivated", "nobody", "empty"])
def test_a_bad_juror_to_add_is_refused_beside_the_field(
    admin_client, make_user, seeded_award, jury, who
):
    user_id = {
        "admin": lambda: make_user(role="admin", name="Another Admin").id,
        "member": lambda: jury[0].id,
        "deactivated": lambda: make_user(name="Gone", active=False).id,
        "nobody": lambda: 999_999,
        "empty": lambda: "",
    }[who]()
    before = members(seeded_award)
    response = post(admin_client, f"{PAGE}/add", juror=str(user_id))
    assert response.status_code == 422
    message = {
        "admin": "Another Admin is an administrator; only jurors sit on a jury.",
        "member": "Juror A is already on this jury.",
        "deactivated": "Gone's account is deactivated; reactivate it first.",
        "nobody": "That account does not exist.",
        "empty": "Choose a juror to add.",
    }[who]
    assert re.search(
        r'<p class="field-error" id="juror-error">' + re.escape(message).replace("'", "&#39;"),
        response.get_data(as_text=True),
    ), text_of(response)
    assert members(seeded_award) == before
    assert payloads("jury.membership_changed") == []


def test_a_juror_without_work_is_taken_off_the_jury_with_their_assignments(
    admin_client, seeded_award, jury
):
    assert generate(admin_client, 3).status_code == 302
    leaving = jury[0]
    theirs = {p for p in assigned() if p[0] == leaving.id}
    assert theirs

    response = post(admin_client, f"{PAGE}/{leaving.id}/remove")
    assert response.status_code == 302
    assert leaving.id not in members(seeded_award)
    assert not {p for p in assigned() if p[0] == leaving.id}
    [event] = [e for e in payloads("jury.membership_changed") if e["removed"]]
    assert event["assignments_removed"] == len(theirs) and event["evaluations_kept"] == 0
    text = text_of(admin_client.get(PAGE))
    assert f"Juror A is no longer on the jury; their {len(theirs)} assigned nominees" in text
    # The nominees that lost a juror are flagged below the quorum.
    assert "below 3" in text


def test_taking_off_a_juror_who_has_begun_asks_first_and_keeps_their_evaluations(
    admin_client, seeded_award, jury, make_evaluation
):
    leaving = jury[0]
    make_evaluation(seeded_award.nominees[0], leaving, ALL_SCORES, submitted=True)
    make_evaluation(seeded_award.nominees[1], leaving, {"impact": 3})

    response = post(admin_client, f"{PAGE}/{leaving.id}/remove")
    assert response.status_code == 200
    text = text_of(response)
    assert "Please confirm" in text
    assert "Juror A has 1 submitted evaluation and 1 draft for this award." in text
    assert "their evaluations are kept, not deleted" in text
    assert leaving.id in members(seeded_award)  # nothing happened yet

    response = post(admin_client, f"{PAGE}/{leaving.id}/remove", confirmed="yes")
    assert response.status_code == 302
    assert leaving.id not in members(seeded_award)
    kept = db.session.scalars(select(Evaluation).where(Evaluation.juror_id == leaving.id)).all()
    assert len(kept) == 2


def test_a_juror_not_on_the_jury_cannot_be_removed(admin_client, make_user, seeded_award):
    outsider = make_user(name="Olga Outside")
    response = post(admin_client, f"{PAGE}/{outsider.id}/remove")
    assert response.status_code == 302
    assert "Olga Outside is not on this jury." in text_of(admin_client.get(PAGE))
    assert payloads("jury.membership_changed") == []


# --- Generating the assignment ----------------------------------------------------------------


def test_generating_gives_every_nominee_k_jurors_evenly_never_a_recused_pair(
    app, admin_client, seeded_award, jury
):
    seeded_award.status = "scoring"
    db.session.commit()
    conflicted = seeded_award.nominees[0]
    for juror in jury[:2]:
        declare(juror_client_for(app, juror), "I advised them.", nominee=conflicted.slug)

    response = generate(admin_client, 3)
    assert response.status_code == 302
    pairs = assigned()
    per_nominee = {n.id: {j for j, m in pairs if m == n.id} for n in seeded_award.nominees}
    assert all(len(jurors) == 3 for jurors in per_nominee.values())
    assert per_nominee[conflicted.id] == {j.id for j in jury[2:]}
    loads = sorted(sum(1 for j, _ in pairs if j == juror.id) for juror in jury)
    assert loads == [7, 8, 8, 8, 8]
    assert mode_of(seeded_award) == "assigned"
    [event] = payloads("assignment.generated")
    assert event["k"] == 3 and event["mode_before"] == "all"
    assert len(event["added"]) == 39 and event["removed"] == []
    text = text_of(admin_client.get(PAGE))
    assert "Assignment generated: 3 or more jurors per nominee, 7 or 8 nominees per juror" in text
    assert "below 3" not in text


def k_shown(client) -> str:
    """The value in the "Assign each nominee to … jurors" field."""
    [field] = re.findall(r'<input[^>]*name="k"[^>]*>', client.get(PAGE).get_data(as_text=True))
    return re.search(r'value="(\d+)"', field).group(1)


def test_after_generating_with_k_2_the_field_shows_2(admin_client, seeded_award, jury):
    assert seeded_award.quorum == 3
    assert k_shown(admin_client) == "3"
    generate(admin_client, 2)
    assert k_shown(admin_client) == "2"


def test_generating_again_after_adding_a_juror_changes_little(
    admin_client, make_user, seeded_award, jury
):
    generate(admin_client, 3)
    before = assigned()
    newcomer = make_user(name="Nina New", awards=[seeded_award])
    generate(admin_client, 3)
    after = assigned()
    taken = {p for p in after if p[0] == newcomer.id}
    assert len(taken) == 6  # 39 evaluations over six jurors
    assert len(before - after) == 6 and after - before == taken
    [_, second] = payloads("assignment.generated")
    assert len(second["added"]) == 6 and len(second["removed"]) == 6


def test_generating_never_takes_a_nominee_from_a_juror_who_began_it(
    admin_client, seeded_award, jury, make_evaluation
):
    # In "every juror scores every nominee", Juror A has already evaluated four nominees.
    for nominee in seeded_award.nominees[:4]:
        make_evaluation(nominee, jury[0], {"impact": 5})
    generate(admin_client, 1)
    theirs = {n for j, n in assigned() if j == jury[0].id}
    assert {n.id for n in seeded_award.nominees[:4]} <= theirs


@pytest.mark.parametrize(
    ("k", "message"),
    [
        ("", "Say how many jurors each nominee needs."),
        ("0", "At least one juror per nominee."),
        ("two", "Give a whole number, such as 3."),
        ("6", "Choose between 1 and 5 jurors per nominee: the jury has 5 active jurors."),
    ],
)
def test_a_bad_k_is_refused_beside_the_field_and_nothing_is_written(
    admin_client, seeded_award, jury, k, message
):
    response = generate(admin_client, k)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="field-error" id="k-error">' in page
    assert message in text_of(response)
    assert assigned() == set()
    assert mode_of(seeded_award) == "all"
    assert payloads("assignment.generated") == []


def test_k_more_than_the_jurors_free_of_conflicts_names_the_nominee(
    app, admin_client, make_user, seeded_award
):
    seeded_award.status = "scoring"
    db.session.commit()
    three = [make_user(name=f"Juror {c}", awards=[seeded_award]) for c in "ABC"]
    nominee = seeded_award.nominees[2]
    declare(juror_client_for(app, three[0]), "My sister runs it.", nominee=nominee.slug)

    response = generate(admin_client, 3)
    assert response.status_code == 422
    assert (
        f"3 jurors per nominee is not possible: too many jurors declared a conflict of interest "
        f"with “{nominee.title}” (2)."
    ) in text_of(response)
    assert assigned() == set()


def test_generating_without_jurors_says_to_add_them(admin_client, seeded_award):
    response = generate(admin_client, 2)
    assert response.status_code == 422
    assert "The jury has no active juror yet: add jurors first." in text_of(response)


# --- What the jurors see ----------------------------------------------------------------------


def test_an_assigned_juror_sees_only_their_nominees_and_cannot_save_another(
    app, admin_client, seeded_award, jury
):
    seeded_award.status = "scoring"
    db.session.commit()
    juror = jury[0]
    juror_client = juror_client_for(app, juror)
    everything = juror_client.get("/jury/").get_data(as_text=True)
    assert all(n.title in everything for n in seeded_award.nominees)

    generate(admin_client, 2)
    theirs = {n for j, n in assigned() if j == juror.id}
    dashboard = juror_client.get("/jury/").get_data(as_text=True)
    for nominee in seeded_award.nominees:
        link = f"/jury/awards/{AWARD}/nominees/{nominee.slug}"
        assert (link in dashboard) == (nominee.id in theirs), nominee.title
    assert f"<strong>0</strong> of <strong>{len(theirs)}</strong> submitted" in dashboard

    mine = next(n for n in seeded_award.nominees if n.id in theirs)
    other = next(n for n in seeded_award.nominees if n.id not in theirs)
    assert put_evaluation(juror_client, draft({"impact": 7}), nominee=mine.slug).status_code == 200
    refused = put_evaluation(juror_client, draft({"impact": 7}), nominee=other.slug)
    assert refused.status_code == 403
    assert refused.json["message"] == "This nominee is not assigned to you."
    page = f"/jury/awards/{AWARD}/nominees/{other.slug}"
    assert juror_client.get(page).status_code == 403
    form = {"version": "0", "action": "save", "score-impact": "7"}
    posted = juror_client.post(page, data={**form, "csrf_token": csrf_token(juror_client, "/")})
    assert posted.status_code == 403
    assert not db.session.scalars(
        select(Evaluation).where(Evaluation.juror_id == juror.id, Evaluation.nominee_id == other.id)
    ).all()

    # Back to "every juror scores every nominee": the juror sees them all again.
    assert post(admin_client, f"{PAGE}/mode", mode="all").status_code == 302
    assert mode_of(seeded_award) == "all"
    everything = juror_client.get("/jury/").get_data(as_text=True)
    assert all(n.title in everything for n in seeded_award.nominees)
    assert put_evaluation(juror_client, draft({"impact": 7}), nominee=other.slug).status_code == 200
    [event] = payloads("award.assignment_mode_changed")
    assert (event["before"], event["after"]) == ("assigned", "all")


# --- Adjusting by hand ------------------------------------------------------------------------


def pair(client, op: str, nominee: Nominee, juror, **extra):
    return post(
        client, f"{PAGE}/assignment", op=op, nominee=str(nominee.id), juror=str(juror.id), **extra
    )


def test_a_juror_is_assigned_and_unassigned_by_hand_and_each_change_is_audited(
    admin_client, seeded_award, jury
):
    generate(admin_client, 2)
    nominee = seeded_award.nominees[0]
    outside = next(j for j in jury if (j.id, nominee.id) not in assigned())

    response = pair(admin_client, "add", nominee, outside)
    assert response.status_code == 302 and response.location.endswith(f"#nominee-{nominee.id}")
    assert (outside.id, nominee.id) in assigned()
    assert f"{outside.name} is assigned to “{nominee.title}”." in text_of(admin_client.get(PAGE))

    assert pair(admin_client, "remove", nominee, outside).status_code == 302
    assert (outside.id, nominee.id) not in assigned()
    [added] = payloads("assignment.added")
    [removed] = payloads("assignment.removed")
    assert added["juror"] == removed["juror"] == outside.id
    assert added["nominee"] == removed["nominee"] == nominee.slug
    assert removed["evaluation"] is None


def test_a_recused_pair_cannot_be_assigned_by_hand(app, admin_client, seeded_award, jury):
    seeded_award.status = "scoring"
    db.session.commit()
    generate(admin_client, 2)
    nominee = seeded_award.nominees[0]
    outside = next(j for j in jury if (j.id, nominee.id) not in assigned())
    # Conflicts are declared on nominees one can see: in "every juror scores every nominee".
    post(admin_client, f"{PAGE}/mode", mode="all")
    declare(juror_client_for(app, outside), "I chair its board.", nominee=nominee.slug)
    post(admin_client, f"{PAGE}/mode", mode="assigned")
    before = assigned()

    response = pair(admin_client, "add", nominee, outside)
    assert response.status_code == 302
    assert assigned() == before
    assert payloads("assignment.added") == []
    page = admin_client.get(PAGE)
    assert (
        f"{outside.name} declared a conflict of interest with “{nominee.title}”: they cannot "
        "judge it unless the conflict is lifted."
    ) in text_of(page)
    # The grid shows the conflict, with no button to assign the pair.
    row = re.search(
        rf'<tr id="nominee-{nominee.id}".*?</tr>', page.get_data(as_text=True), re.S
    ).group(0)
    assert "Conflict" in row
    assert f"Assign “{nominee.title}” to {outside.name}" not in row


def test_unassigning_begun_work_asks_first_and_keeps_the_evaluation(
    app, admin_client, seeded_award, jury
):
    seeded_award.status = "scoring"
    db.session.commit()
    generate(admin_client, 2)
    juror = jury[0]
    nominee = next(n for n in seeded_award.nominees if (juror.id, n.id) in assigned())
    juror_client = juror_client_for(app, juror)
    saved = put_evaluation(juror_client, draft(ALL_SCORES, submitted=True), nominee=nominee.slug)
    assert saved.status_code == 200

    response = pair(admin_client, "remove", nominee, juror)
    assert response.status_code == 200
    text = text_of(response)
    assert f"Juror A has a submitted evaluation of “{nominee.title}”." in text
    assert "The evaluation is kept, not deleted" in text
    assert (juror.id, nominee.id) in assigned()
    assert payloads("assignment.removed") == []

    response = pair(admin_client, "remove", nominee, juror, confirmed="yes")
    assert response.status_code == 302
    assert (juror.id, nominee.id) not in assigned()
    [event] = payloads("assignment.removed")
    assert event["evaluation"] == "submitted"
    assert db.session.scalars(
        select(Evaluation).where(
            Evaluation.juror_id == juror.id, Evaluation.nominee_id == nominee.id
        )
    ).one()
    assert f"/nominees/{nominee.slug}" not in juror_client.get("/jury/").get_data(as_text=True)
    # The grid says the evaluation is kept.
    assert "Submitted (kept)" in text_of(admin_client.get(PAGE))


@pytest.mark.parametrize("case", ["not assigned", "already assigned", "other award", "junk"])
def test_an_impossible_change_by_hand_is_refused(admin_client, make_user, seeded_award, jury, case):
    generate(admin_client, 2)
    nominee = seeded_award.nominees[0]
    on = next(j for j in jury if (j.id, nominee.id) in assigned())
    off = next(j for j in jury if (j.id, nominee.id) not in assigned())
    before = assigned()
    data = {
        "not assigned": {"op": "remove", "nominee": nominee.id, "juror": off.id},
        "already assigned": {"op": "add", "nominee": nominee.id, "juror": on.id},
        "other award": {"op": "add", "nominee": nominee.id, "juror": make_user().id},
        "junk": {"op": "steal", "nominee": "x", "juror": ""},
    }[case]
    assert post(admin_client, f"{PAGE}/assignment", **data).status_code == 302
    assert assigned() == before
    message = {
        "not assigned": f"{off.name} is not assigned to “{nominee.title}”.",
        "already assigned": f"{on.name} is already assigned to “{nominee.title}”.",
        "other award": "is not on this jury.",
        "junk": "Choose a nominee and a juror.",
    }[case]
    assert message in text_of(admin_client.get(PAGE))


def test_switching_to_the_assignment_needs_every_nominee_covered(admin_client, seeded_award, jury):
    response = post(admin_client, f"{PAGE}/mode", mode="assigned")
    assert response.status_code == 302
    assert mode_of(seeded_award) == "all"
    assert "13 nominees have no juror assigned" in text_of(admin_client.get(PAGE))
    assert payloads("award.assignment_mode_changed") == []


def test_switching_to_the_assignment_asks_first_when_it_hides_begun_work(
    admin_client, seeded_award, jury, make_evaluation
):
    generate(admin_client, 1)
    post(admin_client, f"{PAGE}/mode", mode="all")
    juror = jury[0]
    elsewhere = next(n for n in seeded_award.nominees if (juror.id, n.id) not in assigned())
    make_evaluation(elsewhere, juror, {"impact": 4})

    response = post(admin_client, f"{PAGE}/mode", mode="assigned")
    assert response.status_code == 200
    assert "1 evaluation is on nominees not assigned to their juror." in text_of(response)
    assert mode_of(seeded_award) == "all"
    assert post(admin_client, f"{PAGE}/mode", mode="assigned", confirmed="yes").status_code == 302
    assert mode_of(seeded_award) == "assigned"


def test_the_jury_and_assignment_are_frozen_once_voting_starts(
    admin_client, make_user, seeded_award, jury
):
    generate(admin_client, 2)
    seeded_award.status = "voting"
    db.session.commit()
    before = (assigned(), members(seeded_award))
    newcomer = make_user(name="Late Comer")
    refusal = "This award is voting: the jury's work is over, so its jury and assignment can no "
    for attempt in (
        lambda: post(admin_client, f"{PAGE}/add", juror=str(newcomer.id)),
        lambda: post(admin_client, f"{PAGE}/{jury[0].id}/remove", confirmed="yes"),
        lambda: generate(admin_client, 3),
        lambda: post(admin_client, f"{PAGE}/mode", mode="all"),
        lambda: pair(admin_client, "remove", seeded_award.nominees[0], jury[0], confirmed="yes"),
    ):
        assert attempt().status_code == 302
        assert refusal in text_of(admin_client.get(PAGE))
    assert (assigned(), members(seeded_award)) == before
    assert mode_of(seeded_award) == "assigned"
    page = text_of(admin_client.get(PAGE))
    assert "The jury's work on this award is over" in page
    assert "Generate assignment" not in page and "Add to the jury" not in page


# --- Progress ---------------------------------------------------------------------------------


def test_progress_counts_only_each_jurors_own_scoreable_nominees(
    app, admin_client, seeded_award, jury, make_evaluation
):
    seeded_award.status = "scoring"
    db.session.commit()
    generate(admin_client, 3)
    juror = jury[0]
    theirs = [n for n in seeded_award.nominees if (juror.id, n.id) in assigned()]
    not_theirs = next(n for n in seeded_award.nominees if (juror.id, n.id) not in assigned())
    first, second, third, fourth = theirs[:4]
    make_evaluation(first, juror, ALL_SCORES, submitted=True)
    make_evaluation(second, juror, {"impact": 3})
    make_evaluation(fourth, juror, ALL_SCORES, submitted=True)
    # Not counted: a nominee not assigned to them, one they recused from, one withdrawn.
    make_evaluation(not_theirs, juror, ALL_SCORES, submitted=True)
    post(admin_client, f"{PAGE}/mode", mode="all")
    declare(juror_client_for(app, juror), "A conflict.", nominee=third.slug)
    post(admin_client, f"{PAGE}/mode", mode="assigned", confirmed="yes")
    fourth.withdrawn_at = utcnow()
    db.session.commit()

    [row] = [r for r in jury_progress(seeded_award) if r.juror.id == juror.id]
    expected_scoreable = len(theirs) - 2  # the conflict and the withdrawn one
    assert (row.submitted, row.drafts, row.recused, row.scoreable) == (1, 1, 1, expected_scoreable)
    assert row.to_do == expected_scoreable - 2 and row.left == expected_scoreable - 1
    # The same numbers the juror's own dashboard shows.
    own = juror_view.progress(seeded_award, juror=juror)
    assert (own.submitted, own.scoreable) == (row.submitted, row.scoreable)

    page = admin_client.get(PAGE).get_data(as_text=True)
    juror_row = re.search(rf'<tr id="juror-{juror.id}".*?</tr>', page, re.S).group(0)
    cells = " ".join(re.sub(r"<[^>]+>", " ", juror_row).split())
    assert cells.startswith(
        f"Juror A {juror.email} 1 of {expected_scoreable} 1 {expected_scoreable - 2} 1 "
    ), cells
    assert "UTC Remind Remove" in cells


def test_progress_per_nominee_counts_submitted_evaluations_of_those_expected(
    app, admin_client, seeded_award, jury, make_evaluation
):
    nominee = seeded_award.nominees[0]
    make_evaluation(nominee, jury[0], ALL_SCORES, submitted=True)
    make_evaluation(nominee, jury[1], ALL_SCORES, submitted=True)
    make_evaluation(nominee, jury[2], {"impact": 2})
    seeded_award.status = "scoring"
    db.session.commit()
    declare(juror_client_for(app, jury[4]), "Conflict.", nominee=nominee.slug)

    progress = award_progress(seeded_award)
    line = next(line for line in progress.nominees if line.nominee.id == nominee.id)
    assert (line.jurors, line.recused, line.expected) == (5, 1, 4)
    assert (line.submitted, line.drafts) == (2, 1)
    assert progress.expected == 13 * 5 - 1 and progress.submitted == 2
    page = admin_client.get(PAGE).get_data(as_text=True)
    row = re.search(rf'<tr id="nominee-{nominee.id}".*?</tr>', page, re.S).group(0)
    assert "2 of 4" in " ".join(re.sub(r"<[^>]+>", " ", row).split())
    assert "(1 in conflict)" in row
    assert "2 of 64 expected evaluations submitted" in text_of(admin_client.get(PAGE))


def test_withdrawn_nominees_leave_the_progress(admin_client, seeded_award, jury):
    withdrawn = seeded_award.nominees[0]
    withdrawn.withdrawn_at = utcnow()
    db.session.commit()
    rows = jury_progress(seeded_award)
    assert {row.scoreable for row in rows} == {12}
    assert f'id="nominee-{withdrawn.id}"' not in admin_client.get(PAGE).get_data(as_text=True)


# --- Reminders --------------------------------------------------------------------------------


@pytest.fixture
def scoring(seeded_award):
    seeded_award.status = "scoring"
    seeded_award.scoring_closes_at = datetime(utcnow().year + 1, 3, 14, 18, 0)
    db.session.commit()
    return seeded_award


def test_a_reminder_says_how_many_are_left_with_the_link_and_the_deadline(
    app, admin_client, scoring, jury, make_evaluation
):
    generate(admin_client, 3)
    juror = jury[0]
    theirs = [n for n in scoring.nominees if (juror.id, n.id) in assigned()]
    make_evaluation(theirs[0], juror, ALL_SCORES, submitted=True)
    make_evaluation(theirs[1], juror, {"impact": 4})

    response = post(admin_client, f"{PAGE}/{juror.id}/remind")
    assert response.status_code == 302
    assert deliver_mail(app).sent == 1
    [message] = outbox(app)
    to, subject, body = message["To"], message["Subject"], message.get_content()
    left = len(theirs) - 1
    assert to == juror.email
    assert subject == f"Reminder: {left} evaluations left for {scoring.title}"
    assert f"You have {left} evaluations left to submit for “{scoring.title}”" in body
    assert "one of them saved as a draft" in body
    assert "http://localhost/jury/" in body
    assert f"Scoring closes on 14 March {scoring.scoring_closes_at.year}, 18:00 UTC." in body
    [event] = payloads("jury.reminded")
    assert event == {"award": AWARD, "left": left, "drafts": 1, "_subject": f"user:{juror.id}"}
    assert "Reminder queued for Juror A." in text_of(admin_client.get(PAGE))


def test_remind_all_reaches_only_the_unfinished_jurors_who_can_log_in(
    app, admin_client, make_user, scoring, jury, make_evaluation
):
    invited = make_user(name="Ivy Invited", invited=True, awards=[scoring])
    generate(admin_client, 1)
    finished = jury[0]
    for nominee_id in [n for j, n in assigned() if j == finished.id]:
        make_evaluation(db.session.get(Nominee, nominee_id), finished, ALL_SCORES, submitted=True)
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Remind all unfinished jurors (4)" in page  # not the invited one
    assert f'aria-label="Remind {finished.name}"' not in page

    assert post(admin_client, f"{PAGE}/remind").status_code == 302
    assert deliver_mail(app).sent == 4
    recipients = sorted(message["To"] for message in outbox(app))
    assert recipients == sorted(j.email for j in jury[1:])
    assert len(payloads("jury.reminded")) == 4
    text = text_of(admin_client.get(PAGE))
    assert "Reminder queued for Juror B, Juror C, Juror D, Juror E." in text
    assert f"No reminder to {invited.name}: they cannot log in yet" in text

    # Reminding the finished juror directly sends nothing.
    assert post(admin_client, f"{PAGE}/{finished.id}/remind").status_code == 302
    assert deliver_mail(app).sent == 0
    assert len(outbox(app)) == 4
    assert "Juror A has submitted every evaluation: no reminder needed." in text_of(
        admin_client.get(PAGE)
    )


def test_a_mail_server_that_is_down_loses_no_reminder(app, admin_client, scoring, jury):
    """The page only queues: the reminders stand, audited, and wait for the server."""
    from judging.models import OutgoingMail

    from .servers import free_port

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    response = post(admin_client, f"{PAGE}/remind")
    assert response.status_code == 302
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    assert "Reminder queued for Juror A, Juror B, Juror C, Juror D, Juror E." in text_of(page)
    assert len(payloads("jury.reminded")) == 5
    run = deliver_mail(app)
    assert (run.sent, run.retrying) == (0, 5)
    db.session.rollback()
    rows = db.session.scalars(select(OutgoingMail)).all()
    assert {(r.status, r.attempts) for r in rows} == {("queued", 1)}
    assert all("could not be reached" in r.last_error for r in rows)


def test_reminders_are_only_for_an_award_in_scoring(app, admin_client, seeded_award, jury):
    page = text_of(admin_client.get(PAGE))
    assert "Remind all unfinished jurors" not in page
    assert "Reminders can be sent while the jury is scoring." in page
    assert post(admin_client, f"{PAGE}/remind").status_code == 302
    assert "Reminders can be sent only while the jury is scoring." in text_of(
        admin_client.get(PAGE)
    )
    assert deliver_mail(app).sent == 0
    assert outbox(app) == []
