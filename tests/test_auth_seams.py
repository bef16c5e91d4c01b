"""Seams between authentication paths (issue 14, items 1, 3 and 10; issue 15, item 10).

- A password set through a reset or invitation link never skips the second factor, and the
  half-logged-in session it leaves is not "fresh".
- Every place that takes the current password again (/reauthenticate, inviting an
  administrator) goes through one path: one counter per account, and the two-factor code.
- Wrong passwords lock out clients that never logged in to the account, not the device the
  account's owner logged in from before (OWASP's device cookies); the lock-out is a page in
  words, with the wait and a reset link.
"""

import re
import time
from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import select

from judging.extensions import db
from judging.models import User, utcnow

from .fixtures.domain import PASSWORD, csrf_token, log_in
from .fixtures.mail import deliver_mail

NEW_PASSWORD = "a brand new passphrase for the reset"


# --- Helpers -----------------------------------------------------------------------------------


def with_two_factor(user: User) -> str:
    """Turn on TOTP for `user` as enrolment leaves it; return the secret."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = None
    db.session.commit()
    return secret


def next_code(user: User, secret: str) -> str:
    """A code the app accepts now: the current step, or the next one if that was used."""
    db.session.refresh(user)
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    step = max(now, (user.totp_last_step or 0) + 1)
    assert step <= now + 1, "both usable codes are spent"
    return totp.generate_otp(step)


def two_factor_step(client, code: str):
    return client.post(
        "/login/two-factor",
        data={"code": code, "csrf_token": csrf_token(client, "/login/two-factor")},
    )


def make_stale(client) -> None:
    """The password was typed long ago: sensitive actions must ask again."""
    with client.session_transaction() as session:
        session["authenticated_at"] = 0


def link_from_mail(inbox, kind: str) -> str:
    assert deliver_mail(inbox.app).sent == 1  # the page only queued it
    [message] = inbox.messages
    body = message.get_payload(decode=True).decode()
    return re.search(rf"https?://[^/\s]+(/{kind}/\S+)", body).group(1)


def set_password_through(client, path: str, password: str = NEW_PASSWORD):
    return client.post(
        path,
        data={"password": password, "confirm": password, "csrf_token": csrf_token(client, path)},
    )


def disable_two_factor(client, page: str):
    return client.post(
        "/account/two-factor/disable",
        data={"csrf_token": csrf_token(client, page)},
    )


# --- Item 1: reset and invitation links stop at the second factor ---------------------------


def test_a_reset_link_does_not_skip_the_second_factor(app, client, make_user, smtp_server):
    admin = make_user(role="admin")
    secret = with_two_factor(admin)
    client.post(
        "/password/forgot",
        data={"email": admin.email, "csrf_token": csrf_token(client, "/password/forgot")},
    )
    path = link_from_mail(smtp_server, "password/reset")
    attacker = app.test_client()  # whoever reads the mailbox, without the authenticator

    response = set_password_through(attacker, path)

    assert response.location == "/login/two-factor"
    assert attacker.get("/admin/").location.startswith("/login")
    disable_two_factor(attacker, "/login")  # the tester's attack: no session, so nothing happens
    db.session.refresh(admin)
    assert admin.has_two_factor
    # The new password stands; with the code, the owner is in.
    assert two_factor_step(attacker, next_code(admin, secret)).location == "/admin/"
    assert attacker.get("/admin/").status_code == 200


def test_the_session_after_a_reset_is_fresh_only_once_the_code_is_given(
    app, client, make_user, smtp_server
):
    admin = make_user(role="admin")
    secret = with_two_factor(admin)
    client.post(
        "/password/forgot",
        data={"email": admin.email, "csrf_token": csrf_token(client, "/password/forgot")},
    )
    set_password_through(client, link_from_mail(smtp_server, "password/reset"))
    # The code step is the only way on: its page asks for the code, nothing else is open.
    assert "One more step" in client.get("/login/two-factor").get_data(as_text=True)
    assert client.get("/account/two-factor").location.startswith("/login")

    two_factor_step(client, next_code(admin, secret))
    # Password and code both given: a fresh login.
    response = disable_two_factor(client, "/account/two-factor")

    assert response.location == "/account/two-factor"
    db.session.refresh(admin)
    assert not admin.has_two_factor


def test_an_invitation_link_does_not_skip_the_second_factor(app, client, make_user, smtp_server):
    from judging.services.notifications import send_invitation

    admin = make_user(role="admin", invited=True)
    secret = with_two_factor(admin)  # e.g. an account whose password was never set
    send_invitation(admin)
    db.session.commit()

    response = set_password_through(client, link_from_mail(smtp_server, "invitation"))

    assert response.location == "/login/two-factor"
    assert client.get("/admin/").location.startswith("/login")
    assert two_factor_step(client, next_code(admin, secret)).location == "/admin/"


def test_a_new_reset_link_gives_no_new_guesses_at_the_code(app, client, make_user, smtp_server):
    admin = make_user(role="admin")
    secret = with_two_factor(admin)
    attacker = app.test_client()  # reads the mailbox; has no authenticator
    for round_ in range(2):
        smtp_server.messages.clear()
        attacker.post(
            "/password/forgot",
            data={"email": admin.email, "csrf_token": csrf_token(attacker, "/password/forgot")},
        )
        set_password_through(attacker, link_from_mail(smtp_server, "password/reset"))
        if round_ == 0:
            for n in range(5):
                assert two_factor_step(attacker, f"{n:06}").status_code == 422

    # The second link bumped the session version; the count of wrong codes stayed.
    assert two_factor_step(attacker, next_code(admin, secret)).status_code == 429


def test_an_account_without_two_factor_is_still_logged_in_by_its_reset_link(
    app, client, make_user, smtp_server
):
    juror = make_user()
    client.post(
        "/password/forgot",
        data={"email": juror.email, "csrf_token": csrf_token(client, "/password/forgot")},
    )
    response = set_password_through(client, link_from_mail(smtp_server, "password/reset"))
    assert response.location == "/jury/"
    assert client.get("/jury/").status_code == 200


# --- Item 3: one re-authentication path ------------------------------------------------------


def invite_admin(client, **fields):
    data = {
        "name": "Maria Costa",
        "email": "maria@example.org",
        "role": "admin",
        "csrf_token": csrf_token(client, "/admin/people"),
        **fields,
    }
    return client.post("/admin/people/invite", data=data)


def invited_admin_exists() -> bool:
    return db.session.scalar(select(User).where(User.email == "maria@example.org")) is not None


def test_confirming_the_password_on_the_invite_form_is_throttled(app, logged_in):
    client, _ = logged_in(role="admin")
    make_stale(client)
    for n in range(5):
        assert invite_admin(client, confirm_password=f"guess number {n}").status_code == 422

    refused = invite_admin(client, confirm_password=PASSWORD)  # even the right one now waits

    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Try again in 15 minutes" in page
    assert 'value="Maria Costa"' in page  # what was typed is still in the form
    assert not invited_admin_exists()
    assert client.get("/admin/settings").location.startswith("/reauthenticate")  # not fresh


def test_reauthentication_and_the_invite_form_count_on_one_counter(app, logged_in):
    client, _ = logged_in(role="admin")
    make_stale(client)
    token = csrf_token(client, "/reauthenticate")
    for n in range(3):
        wrong = client.post("/reauthenticate", data={"password": f"guess {n}", "csrf_token": token})
        assert wrong.status_code == 422
    for n in range(2):
        assert invite_admin(client, confirm_password=f"guess {n + 3}").status_code == 422

    assert invite_admin(client, confirm_password=PASSWORD).status_code == 429
    right = client.post("/reauthenticate", data={"password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429
    assert "Try again in 15 minutes" in right.get_data(as_text=True)


def test_inviting_an_admin_needs_the_two_factor_code_too(app, client, make_user):
    admin = make_user(role="admin")
    secret = with_two_factor(admin)
    log_in(client, admin)
    two_factor_step(client, next_code(admin, secret))
    make_stale(client)

    without_code = invite_admin(client, confirm_password=PASSWORD)

    assert without_code.status_code == 422
    assert "Type your own password and two-factor code" in without_code.get_data(as_text=True)
    assert not invited_admin_exists()
    assert client.get("/admin/settings").location.startswith("/reauthenticate")  # not fresh
    with_code = invite_admin(
        client, confirm_password=PASSWORD, confirm_code=next_code(admin, secret)
    )
    assert with_code.location == "/admin/people"
    assert invited_admin_exists()


# --- Item 10: device cookies against lock-outs -----------------------------------------------


@pytest.fixture
def workers(make_app, redis_url):
    """Two app instances counting in one Redis, as two gunicorn workers do."""
    prefix = f"devices-{time.time_ns()}"
    return [
        make_app(DEVELOPMENT=True, REDIS_URL=redis_url, RATELIMIT_KEY_PREFIX=prefix)
        for _ in range(2)
    ]


def device_cookie(client) -> str:
    cookie = client.get_cookie("device", path="/login")
    assert cookie is not None, "no device cookie after a successful login"
    return cookie.value


def with_device_cookie(client, value: str):
    client.set_cookie("device", value, path="/login")
    return client


def log_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})


def lock_out(workers, user, attempts: int = 5):
    """An attacker's wrong guesses, spread over both workers."""
    attacker = workers[0].test_client()
    for n in range(attempts):
        assert log_in(workers[n % 2].test_client(), user, f"guess {n:08}").status_code == 422
    return attacker


def test_an_attacker_locks_out_only_clients_that_never_logged_in(workers, make_user):
    admin = make_user(role="admin")
    laptop = workers[0].test_client()
    assert log_in(laptop, admin).location == "/admin/"  # the admin, last week
    cookie = device_cookie(laptop)
    log_out(laptop)

    attacker = lock_out(workers, admin)

    assert log_in(attacker, admin).status_code == 429  # the attacker, even with the password
    assert log_in(workers[1].test_client(), admin).status_code == 429  # a new client too
    # The admin's laptop, on either worker, still gets in with the right password.
    assert log_in(laptop, admin).location == "/admin/"
    on_the_other = with_device_cookie(workers[1].test_client(), cookie)
    assert log_in(on_the_other, admin).location == "/admin/"


def test_a_forged_or_borrowed_device_cookie_does_not_let_anyone_through(workers, make_user):
    admin, juror = make_user(role="admin"), make_user()
    attacker = workers[0].test_client()
    assert log_in(attacker, juror).status_code == 302  # the attacker's own account
    jurors_cookie = device_cookie(attacker)
    lock_out(workers, admin)

    borrowed = with_device_cookie(workers[0].test_client(), jurors_cookie)
    assert log_in(borrowed, admin).status_code == 429
    payload, _, signature = jurors_cookie.rpartition(".")
    forged = with_device_cookie(workers[1].test_client(), payload + "." + signature[::-1])
    assert log_in(forged, admin).status_code == 429
    made_up = with_device_cookie(workers[1].test_client(), "eyJhIjoiYWRtaW4ifQ.Z0s3wQ.x" * 2)
    assert log_in(made_up, admin).status_code == 429


def test_wrong_passwords_from_a_trusted_device_lock_that_device(workers, make_user):
    admin = make_user(role="admin")
    laptop, phone = workers[0].test_client(), workers[1].test_client()
    for device in (laptop, phone):
        assert log_in(device, admin).location == "/admin/"
        log_out(device)
    for n in range(5):
        assert log_in(laptop, admin, f"guess {n:08}").status_code == 422

    assert log_in(laptop, admin).status_code == 429  # per device: the laptop waits
    assert log_in(phone, admin).location == "/admin/"  # the admin's other device does not
    assert log_in(workers[1].test_client(), admin).location == "/admin/"  # no one else locked


def test_a_two_factor_account_gets_its_device_cookie_after_the_code(workers, make_user):
    admin = make_user(role="admin")
    secret = with_two_factor(admin)
    laptop = workers[0].test_client()
    log_in(laptop, admin)
    assert laptop.get_cookie("device", path="/login") is None  # the password alone: no trust
    two_factor_step(laptop, next_code(admin, secret))
    device_cookie(laptop)
    log_out(laptop)
    lock_out(workers, admin)

    assert log_in(laptop, admin).location == "/login/two-factor"  # still asks for the code


# --- Issue 15, item 10: the lock-out page ----------------------------------------------------


def test_the_lock_out_page_says_how_long_to_wait_and_how_to_reset(app, make_user):
    user = make_user()
    for n in range(5):
        log_in(app.test_client(), user, f"wrong password {n}")

    response = log_in(app.test_client(), user)

    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "Try again in 15 minutes" in page
    assert 'href="/password/forgot"' in page
    assert 'class="site-header"' in page  # the app's own layout
    assert "per 15 minute" not in page and "Too Many Requests" not in page


# --- Enrolling an authenticator needs a fresh login ---------------------------------------------


def test_a_stolen_stale_session_cannot_enrol_its_own_authenticator(app, logged_in):
    """Someone holding a session whose password was typed long ago cannot tie the account to
    their own authenticator app: turning two-factor on asks for the password first."""
    client, admin = logged_in(role="admin")
    make_stale(client)

    page = client.get("/account/two-factor")
    assert page.location.startswith("/reauthenticate")
    # Even with a secret planted in the session and a code for it, enrolment is refused.
    secret = pyotp.random_base32()
    with client.session_transaction() as session:
        session["pending_totp_secret"] = secret
    client.post(
        "/account/two-factor",
        data={
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": csrf_token(client, "/reauthenticate"),
        },
    )
    db.session.refresh(admin)
    assert not admin.has_two_factor

    # After the password, the same person enrols as before.
    client.post(
        "/reauthenticate",
        data={"password": PASSWORD, "csrf_token": csrf_token(client, "/reauthenticate")},
    )
    assert client.get("/account/two-factor").status_code == 200
