"""Accounts: invitations, resets, the password policy and hashing, the users CLI."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from judging.extensions import db
from judging.models import AccountToken, JuryMember, User
from judging.passwords import Passwords, password_problems
from judging.services.accounts import create_user
from judging.services.notifications import invitation_link, send_password_reset

from .fixtures.domain import PASSWORD, csrf_token, log_in

NEW_PASSWORD = "a long and quiet afternoon"


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def set_password(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    path = path_of(link)
    return client.post(
        path,
        data={
            "password": password,
            "confirm": password if confirm is None else confirm,
            "csrf_token": csrf_token(client, path),
        },
    )


def invited(role="juror", email="ana@example.org") -> tuple[User, str]:
    user = create_user(email, "Ana Juror", role, actor=None)
    link = invitation_link(user)
    db.session.commit()
    return user, link


def test_an_invitation_sets_the_password_and_logs_in(app, client):
    user, link = invited()
    assert user.status == "invited"
    assert "Welcome, Ana Juror" in client.get(path_of(link)).get_data(as_text=True)

    response = set_password(client, link)

    assert response.status_code == 302
    assert response.location == "/jury/"
    assert client.get("/jury/").status_code == 200
    db.session.refresh(user)
    assert user.status == "active"
    assert user.password_hash.startswith("$argon2id$")


def test_an_invitation_link_works_once(app, client):
    _, link = invited()
    set_password(client, link)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/jury/")})

    response = client.get(path_of(link))

    assert response.status_code == 400
    assert set_password(client, link, "another long password here").status_code == 400
    assert log_in(app.test_client(), user_with(link), NEW_PASSWORD).status_code == 302


def user_with(link: str) -> User:
    token = db.session.scalar(select(AccountToken).where(AccountToken.purpose == "invitation"))
    return token.user


def test_an_accepted_invitation_says_the_account_is_ready_and_offers_to_log_in(app, client):
    _, link = invited()
    set_password(client, link)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/jury/")})

    page = client.get(path_of(link)).get_data(as_text=True)

    assert "Your account is ready" in page
    assert "This link does not work" not in page and "new invitation" not in page
    assert 'href="/login"' in page
    assert "ana@example.org" not in page and "Ana Juror" not in page  # nothing more than that


def test_a_replaced_invitation_still_says_it_does_not_work(app, client):
    user, first = invited()
    invitation_link(user)
    db.session.commit()
    page = client.get(path_of(first)).get_data(as_text=True)
    assert "This link does not work" in page and "Your account is ready" not in page
    assert "already been used or was replaced by a newer one" in page


def test_a_used_reset_link_keeps_its_wording(app, client, make_user):
    link = send_password_reset(make_user())
    db.session.commit()
    set_password(client, link)
    page = client.get(path_of(link)).get_data(as_text=True)
    assert "This link does not work" in page and "Your account is ready" not in page


def test_an_invitation_expires_after_72_hours(app, client):
    _, link = invited()
    token = db.session.scalar(select(AccountToken))
    assert token.expires_at - token.created_at == timedelta(hours=72)
    token.created_at -= timedelta(hours=72, seconds=1)  # sent three days ago
    token.expires_at -= timedelta(hours=72, seconds=1)
    db.session.commit()
    response = client.get(path_of(link))
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_a_reset_link_lasts_one_hour_and_ends_other_sessions(app, client, make_user):
    user = make_user()
    other_device = app.test_client()
    log_in(other_device, user)
    link = send_password_reset(user)
    db.session.commit()
    token = db.session.scalar(select(AccountToken).where(AccountToken.purpose == "reset"))
    assert token.expires_at - token.created_at == timedelta(hours=1)

    assert set_password(client, link).status_code == 302

    assert other_device.get("/jury/").status_code == 302  # logged out there
    assert log_in(app.test_client(), user, PASSWORD).status_code == 422  # old password refused
    assert log_in(app.test_client(), user, NEW_PASSWORD).status_code == 302


def test_a_link_is_bound_to_its_purpose(app, client):
    _, link = invited()
    token = link.rsplit("/", 1)[1]
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_a_new_invitation_burns_the_old_link(app, client):
    user, first = invited()
    second = invitation_link(user)
    db.session.commit()
    assert client.get(path_of(first)).status_code == 400
    assert client.get(path_of(second)).status_code == 200


def test_a_deactivated_account_cannot_use_its_link(app, client):
    user, link = invited()
    user.active = False
    db.session.commit()
    assert client.get(path_of(link)).status_code == 400


def test_only_a_hash_of_the_token_is_stored(app):
    _, link = invited()
    raw = link.rsplit("/", 1)[1]
    stored = db.session.scalar(select(AccountToken.token_hash))
    assert raw not in stored and len(stored) == 64


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12 characters"),
        ("qwerty123456", "common passwords"),
        ("QWERTY123456", "common passwords"),
        ("x" * 129, "at most 128"),
        ("aaaaaaaaaaaaaa", "single repeated character"),
        ("ana@example.org", "email address or your name"),
    ],
)
def test_the_password_policy_refuses_weak_passwords(app, client, password, problem):
    user, link = invited()
    response = set_password(client, link, password)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert problem in page
    db.session.refresh(user)
    assert user.password_hash is None
    assert db.session.scalar(select(AccountToken.used_at)) is None  # the link still works


@pytest.mark.parametrize("password", ["twelve chars", "p" * 63 + "q", "Ünïcödé pässwörd ✓"])
def test_long_and_unusual_passwords_are_fine(password):
    assert password_problems(password, email="a@b.org", name="A") == []


def test_the_common_list_holds_thousands():
    from judging.passwords import common_passwords

    assert len(common_passwords()) > 10_000


def test_mismatched_confirmation_is_refused(app, client):
    _, link = invited()
    response = set_password(client, link, NEW_PASSWORD, confirm="something else entirely")
    assert "The two passwords differ." in response.get_data(as_text=True)


def test_a_hash_is_upgraded_at_login_when_parameters_change(app, client, make_user):
    user = make_user()
    old_hash = user.password_hash
    assert "m=8,t=1,p=1" in old_hash
    stronger = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 16, "ARGON2_PARALLELISM": 1}
    app.extensions["passwords"] = Passwords(stronger)

    assert log_in(client, user).status_code == 302

    db.session.refresh(user)
    assert "m=16,t=2,p=1" in user.password_hash
    assert Passwords(stronger).verify(user.password_hash, PASSWORD)


def test_production_hashing_is_argon2id_with_rfc_9106_parameters():
    from judging.config import DEFAULTS

    hashed = Passwords(DEFAULTS).hash("a production password")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


# --- The CLI -------------------------------------------------------------------------------


def test_users_create_prints_an_invitation_link(app, runner, seeded_award):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Juror@Example.org",
            "--name",
            "Jo Juror",
            "--role",
            "juror",
            "--award",
            "excellence-award",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created juror juror@example.org" in result.output
    link = next(line.strip() for line in result.output.splitlines() if "/invitation/" in line)
    assert link.startswith("http://localhost/invitation/")  # the test app's BASE_URL
    user = db.session.scalar(select(User).where(User.email == "juror@example.org"))
    assert user.password_hash is None
    assert db.session.scalar(select(JuryMember.award_id).where(JuryMember.user_id == user.id)) == (
        seeded_award.id
    )


def test_users_create_with_a_password_from_stdin(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "admin@example.org",
            "--name",
            "Ada",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=NEW_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "/invitation/" not in result.output
    user = db.session.scalar(select(User))
    assert app.extensions["passwords"].verify(user.password_hash, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--award", "no-such-award"], "No award with slug no-such-award"),
        (["--password-stdin"], "at least 12 characters"),
    ],
)
def test_users_create_refuses_bad_input_and_writes_nothing(app, runner, args, message):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--role",
            "juror",
            *args,
        ],
        input="short\n",
    )
    assert result.exit_code == 1
    assert message in result.output
    assert db.session.scalars(select(User)).all() == []


def test_users_create_refuses_a_duplicate_email(app, runner, make_user):
    make_user(email="taken@example.org")
    result = runner.invoke(
        args=["users", "create", "--email", "TAKEN@example.org", "--name", "X", "--role", "juror"]
    )
    assert result.exit_code == 1
    assert "There is already an account for taken@example.org" in result.output


def test_first_admin_prints_a_link_until_an_admin_has_a_password(app, runner, make_user):
    first = runner.invoke(args=["users", "first-admin", "--email", "boss@example.org"])
    assert first.exit_code == 0 and "/invitation/" in first.output
    again = runner.invoke(args=["users", "first-admin", "--email", "boss@example.org"])
    assert "/invitation/" in again.output  # still nobody in: a fresh link
    assert len(db.session.scalars(select(User)).all()) == 1

    make_user(role="admin")
    done = runner.invoke(args=["users", "first-admin", "--email", "boss@example.org"])
    assert done.exit_code == 0 and done.output == ""


def test_there_is_no_default_account(app, seeded_award):
    assert db.session.scalars(select(User)).all() == []
