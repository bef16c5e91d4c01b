"""The admin's people page: invite, resend, deactivate, change roles, assign juries."""

import re

from sqlalchemy import select

from judging.extensions import db
from judging.models import AuditEvent, JuryMember, User

from .fixtures.domain import PASSWORD, csrf_token, text_of
from .fixtures.mail import deliver_mail, outbox


def ticked_awards(page: str) -> list[str]:
    """The awards ticked in the invitation form's "Jury of"."""
    form = page[page.index('id="invite"') :]
    inputs = re.findall(r"<input[^>]*>", form)
    return [
        re.search(r'value="([\w-]+)"', tag).group(1)
        for tag in inputs
        if 'name="awards"' in tag and re.search(r"\bchecked\b", tag)
    ]


def invite(client, **fields):
    data = {
        "name": "Maria Costa",
        "email": "maria@example.org",
        "role": "juror",
        "csrf_token": csrf_token(client, "/admin/people"),
        **fields,
    }
    return client.post("/admin/people/invite", data=data)


def test_people_page_lists_everyone_with_their_status(app, logged_in, make_user):
    client, admin = logged_in(role="admin")
    make_user(name="Ines Invited", invited=True)
    make_user(name="Dora Deactivated", active=False)
    page = client.get("/admin/people").get_data(as_text=True)
    assert "Ines Invited" in page and "Invited" in page
    assert "Dora Deactivated" in page and "Deactivated" in page
    assert admin.name in page and "Active" in page


def test_inviting_a_juror_creates_the_account_and_sends_the_link(app, logged_in, seeded_award):
    client, _ = logged_in(role="admin")
    response = invite(client, awards=["excellence-award"])
    assert response.location == "/admin/people"
    user = db.session.scalar(select(User).where(User.email == "maria@example.org"))
    assert user.status == "invited" and user.role == "juror"
    assert db.session.scalar(select(JuryMember.award_id).where(JuryMember.user_id == user.id))
    assert "Invitation queued for maria@example.org" in client.get("/admin/people").get_data(
        as_text=True
    )
    assert deliver_mail(app).sent == 1
    [message] = outbox(app)
    text = message.as_string()
    assert "maria@example.org" in text and "/invitation/" in text


def test_a_bad_invitation_names_the_field_and_keeps_the_input(app, logged_in):
    client, _ = logged_in(role="admin")
    response = invite(client, email="not-an-email")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Invalid email address." in page
    assert 'value="Maria Costa"' in page  # nothing typed is lost
    assert db.session.scalar(select(User).where(User.name == "Maria Costa")) is None
    assert deliver_mail(app).sent == 0
    assert outbox(app) == []


def test_an_email_already_in_use_is_refused(app, logged_in, make_user):
    client, _ = logged_in(role="admin")
    make_user(email="maria@example.org")
    response = invite(client, email="Maria@Example.org")
    assert response.status_code == 422
    assert "There is already an account for maria@example.org" in response.get_data(as_text=True)


def test_an_unknown_award_is_refused(app, logged_in, seeded_award):
    client, _ = logged_in(role="admin")
    response = invite(client, awards=["no-such-award"])
    assert response.status_code == 422
    assert db.session.scalar(select(User).where(User.email == "maria@example.org")) is None


def test_inviting_an_admin_needs_the_inviters_password_once_stale(app, logged_in):
    client, _ = logged_in(role="admin")
    with client.session_transaction() as session:
        session["authenticated_at"] = 0
    refused = invite(client, role="admin", confirm_password="wrong")
    assert refused.status_code == 422
    assert "Type your own password" in refused.get_data(as_text=True)
    accepted = invite(client, role="admin", confirm_password=PASSWORD)
    assert accepted.status_code == 302
    assert db.session.scalar(select(User.role).where(User.email == "maria@example.org")) == "admin"


def test_resending_an_invitation_asks_first_and_says_the_old_link_stops(app, logged_in):
    client, _ = logged_in(role="admin")
    invite(client)
    deliver_mail(app)
    user = db.session.scalar(select(User).where(User.email == "maria@example.org"))
    assert "Resend invitation…" in client.get("/admin/people").get_data(as_text=True)

    response = client.post(
        f"/admin/people/{user.id}/resend", data={"csrf_token": csrf_token(client, "/admin/people")}
    )

    assert response.status_code == 200
    text = text_of(response)
    assert "Send Maria Costa a new invitation?" in text
    assert "The link sent before" in text and "stops working at once." in text
    assert deliver_mail(app).sent == 0
    assert len(outbox(app)) == 1  # nothing sent yet: the first link still works
    first_link = next(w for w in outbox(app)[0].as_string().split() if "/invitation/" in w)
    assert client.get("/" + first_link.split("/", 3)[3]).status_code == 200


def test_resending_an_invitation_replaces_the_link(app, logged_in):
    client, _ = logged_in(role="admin")
    invite(client)
    user = db.session.scalar(select(User).where(User.email == "maria@example.org"))
    response = client.post(
        f"/admin/people/{user.id}/resend",
        data={"csrf_token": csrf_token(client, "/admin/people"), "confirmed": "yes"},
    )
    assert response.status_code == 302
    assert "The link sent before no longer works." in text_of(client.get("/admin/people"))
    assert deliver_mail(app).sent == 2
    first, second = (m.as_string() for m in outbox(app))
    old_link = next(w for w in first.split() if "/invitation/" in w)
    new_link = next(w for w in second.split() if "/invitation/" in w)
    assert old_link != new_link
    assert client.get("/" + old_link.split("/", 3)[3]).status_code == 400


def test_deactivating_logs_the_person_out_and_is_audited(app, logged_in, make_user):
    client, admin = logged_in(role="admin")
    juror = make_user()
    juror_client = app.test_client()
    from .fixtures.domain import log_in

    log_in(juror_client, juror)
    client.post(
        f"/admin/people/{juror.id}/deactivate",
        data={"csrf_token": csrf_token(client, "/admin/people")},
    )
    db.session.refresh(juror)
    assert juror.status == "deactivated"
    assert juror_client.get("/jury/").status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivated"))
    assert event.actor_id == admin.id and event.subject == f"user:{juror.id}"


def test_an_admin_cannot_deactivate_themselves(app, logged_in):
    client, admin = logged_in(role="admin")
    client.post(
        f"/admin/people/{admin.id}/deactivate",
        data={"csrf_token": csrf_token(client, "/admin/people")},
    )
    db.session.refresh(admin)
    assert admin.active


def test_changing_a_role_is_audited_and_ends_the_persons_sessions(app, logged_in, make_user):
    client, _ = logged_in(role="admin")
    juror = make_user()
    version = juror.session_version
    client.post(
        f"/admin/people/{juror.id}/role",
        data={"role": "admin", "csrf_token": csrf_token(client, "/admin/people")},
    )
    db.session.refresh(juror)
    assert juror.role == "admin"
    assert juror.session_version == version + 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.role_changed"))
    assert '"after":"admin"' in event.payload


def test_assigning_juries(app, logged_in, make_user, seeded_award):
    client, _ = logged_in(role="admin")
    juror = make_user()
    token = csrf_token(client, "/admin/people")
    client.post(
        f"/admin/people/{juror.id}/awards",
        data={"awards": ["excellence-award"], "csrf_token": token},
    )
    assert db.session.scalars(select(JuryMember.award_id)).all() == [seeded_award.id]
    client.post(f"/admin/people/{juror.id}/awards", data={"csrf_token": token})
    assert db.session.scalars(select(JuryMember.award_id)).all() == []


def test_the_only_award_is_ticked_for_a_new_juror(app, logged_in, seeded_award):
    client, _ = logged_in(role="admin")
    page = client.get("/admin/people").get_data(as_text=True)
    assert ticked_awards(page) == [seeded_award.slug]

    invite(client)  # the form as the browser sends it, box ticked
    response = client.post(
        "/admin/people/invite",
        data={
            "name": "Jo Juror",
            "email": "jo@example.org",
            "role": "juror",
            "awards": seeded_award.slug,
            "csrf_token": csrf_token(client, "/admin/people"),
        },
    )
    assert response.status_code == 302
    jo = db.session.scalar(select(User).where(User.email == "jo@example.org"))
    assert db.session.scalar(select(JuryMember.award_id).where(JuryMember.user_id == jo.id)) == (
        seeded_award.id
    )


def test_inviting_from_an_awards_page_ticks_that_award(app, logged_in, seeded_award):
    from judging.models import Award

    client, _ = logged_in(role="admin")
    db.session.add(Award(slug="second-award", title="A Second Award"))
    db.session.commit()
    assert ticked_awards(client.get("/admin/people").get_data(as_text=True)) == []
    jury_page = client.get(f"/admin/awards/{seeded_award.slug}/jury").get_data(as_text=True)
    assert f"/admin/people?award={seeded_award.slug}#invite" in jury_page
    page = client.get(f"/admin/people?award={seeded_award.slug}").get_data(as_text=True)
    assert ticked_awards(page) == [seeded_award.slug]


def test_people_are_found_by_name_or_email(app, logged_in, make_user):
    client, _ = logged_in(role="admin", name="Ada Admin")
    make_user(name="Maria Costa", email="m.costa@example.org")
    make_user(name="Jonas Berg", email="jonas@berg.example")

    text = text_of(client.get("/admin/people?q=costa"))
    assert "Maria Costa" in text and "Jonas Berg" not in text
    assert "1 of 3 people matches “costa”." in text
    text = text_of(client.get("/admin/people?q=BERG.EXAMPLE"))
    assert "Jonas Berg" in text and "Maria Costa" not in text
    text = text_of(client.get("/admin/people?q=nobody"))
    assert "Nobody’s name or email contains “nobody”." in text
    assert "Maria Costa" not in text and "Invite someone" in text


def test_addresses_wrap_only_before_the_at_sign(app, logged_in, make_user):
    client, _ = logged_in(role="admin")
    make_user(name="Long Address", email="firstname.lastname@municipality.example.org")
    page = client.get("/admin/people").get_data(as_text=True)
    assert (
        '<span class="email-part">firstname.lastname</span>'
        '<span class="email-part">@municipality.example.org</span>'
    ) in page


def test_the_people_table_scrolls_in_a_frame_a_keyboard_can_reach(app, logged_in, make_user):
    make_user(role="juror", email="a.very.long.address.for.a.phone@example.org")
    client, _ = logged_in(role="admin")
    page = client.get("/admin/people").get_data(as_text=True)
    assert '<div class="table-scroll" tabindex="0" role="region" aria-label="People table">' in page


def test_every_scrolling_table_is_written_through_the_one_macro():
    """A wide table's frame is focusable and named only if it comes from scroll_region."""
    from .fixtures.domain import ROOT

    by_hand = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if path.name != "macros.html" and 'class="table-scroll"' in path.read_text()
    ]
    assert by_hand == []
