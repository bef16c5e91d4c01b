"""Logging in and out: one answer for every failure, throttling, sessions that really end."""

import json
import re
import time

import pyotp
from sqlalchemy import select

from judging.extensions import db
from judging.models import RecoveryCode, Setting
from judging.services import two_factor

from .fixtures.domain import PASSWORD, csrf_token, events, log_in


def test_login_takes_email_and_password_and_sends_each_role_home(app, client, make_user):
    juror, admin = make_user(), make_user(role="admin")
    assert log_in(client, juror).location == "/jury/"
    assert log_in(app.test_client(), admin).location == "/admin/"


def test_login_goes_on_to_the_page_asked_for_but_never_off_site(app, client, make_user):
    user = make_user(role="admin")
    token = csrf_token(client)
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login?next=/admin/people", data=data).location == "/admin/people"
    other = app.test_client()
    data["csrf_token"] = csrf_token(other)
    assert other.post("/login?next=//evil.example/", data=data).location == "/admin/"


def test_unknown_email_and_wrong_password_get_the_same_answer(app, client, make_user):
    user = make_user()
    wrong = log_in(client, user, "not the password at all")
    unknown = client.post(
        "/login",
        data={
            "email": "nobody@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert wrong.status_code == unknown.status_code == 422
    message = "That email and password do not match an account."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_an_invited_or_deactivated_account_cannot_log_in(app, client, make_user):
    assert log_in(client, make_user(invited=True), "").status_code == 422
    assert log_in(client, make_user(active=False)).status_code == 422


def test_five_failed_attempts_lock_the_account_for_a_while(app, make_user):
    user = make_user()
    for _ in range(5):
        assert log_in(app.test_client(), user, "wrong password here").status_code == 422

    response = log_in(app.test_client(), user)  # even the right password now waits

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Try again in 15 minutes" in response.get_data(as_text=True)
    assert log_in(app.test_client(), make_user()).status_code == 302  # others are not locked


def test_successful_logins_do_not_count_against_the_limit(app, make_user):
    user = make_user()
    for _ in range(8):
        assert log_in(app.test_client(), user).status_code == 302


def test_many_failures_from_one_address_are_stopped(app, make_user):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per 15 minutes"
    for n in range(3):
        log_in(app.test_client(), make_user(), f"wrong password {n:04}")
    assert log_in(app.test_client(), make_user()).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(make_app, make_user):
    """With TRUSTED_PROXIES=1 each client address has its own per-IP counter."""
    proxied = make_app(
        DEVELOPMENT=True,
        TRUSTED_PROXIES=1,
        LOGIN_LIMIT_PER_IP="2 per 15 minutes",
        RATELIMIT_KEY_PREFIX=f"proxy-{time.time_ns()}",
    )
    users = [make_user() for _ in range(3)]

    def attempt(address, user, password="wrong password!!"):
        client = proxied.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return log_in(client, user, password)

    attempt("203.0.113.1", users[0])
    attempt("203.0.113.1", users[1])
    assert attempt("203.0.113.1", users[2], PASSWORD).status_code == 429
    assert attempt("203.0.113.2", users[2], PASSWORD).status_code == 302


def test_failed_attempts_are_counted_across_processes_in_redis(make_app, make_user, redis_url):
    """Two app instances (two gunicorn workers, say) share the counters through REDIS_URL."""
    prefix = f"test-{time.time_ns()}"
    workers = [
        make_app(DEVELOPMENT=True, REDIS_URL=redis_url, RATELIMIT_KEY_PREFIX=prefix)
        for _ in range(2)
    ]
    assert workers[0].config["RATELIMIT_STORAGE_URI"] == redis_url
    user = make_user()
    for n in range(5):
        log_in(workers[n % 2].test_client(), user, "wrong password!!")
    assert log_in(workers[0].test_client(), user).status_code == 429
    assert log_in(workers[1].test_client(), user).status_code == 429


# --- Sessions ----------------------------------------------------------------------------------


def session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_cookie_flags(app, client, make_user):
    cookie = session_cookie(log_in(client, make_user()))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_cookies_are_secure_outside_development(make_app):
    production = make_app()
    assert production.config["SESSION_COOKIE_SECURE"] is True
    response = production.test_client().get("/login", base_url="https://localhost")
    assert "Secure" in session_cookie(response)


def test_login_starts_a_fresh_session(app, client, make_user):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    log_in(client, make_user())
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_is_a_post_and_kills_a_copied_cookie(app, client, make_user):
    log_in(client, make_user())
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get("/jury/").status_code == 200

    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/jury/")})

    assert response.location == "/login"
    assert client.get("/jury/").status_code == 302
    assert copied.get("/jury/").status_code == 302  # the server forgot the session too


def test_deactivation_stops_every_session_at_once(app, client, make_user):
    user = make_user()
    log_in(client, user)
    user.active = False
    user.session_version += 1  # what accounts.deactivate does
    db.session.commit()
    assert client.get("/jury/").location.startswith("/login")


def backdate(client, **seconds_ago):
    with client.session_transaction() as session:
        for key, ago in seconds_ago.items():
            session[key] = time.time() - ago


def test_an_idle_admin_is_logged_out_after_30_minutes(app, client, make_user):
    log_in(client, make_user(role="admin"))
    backdate(client, seen_at=29 * 60)
    assert client.get("/admin/").status_code == 200
    backdate(client, seen_at=31 * 60)
    response = client.get("/admin/people")
    assert response.location == "/login?next=/admin/people"
    assert client.get("/admin/").status_code == 302


def test_a_juror_stays_logged_in_through_a_working_day(app, client, make_user):
    log_in(client, make_user())
    backdate(client, seen_at=3 * 3600)  # a long lunch and a meeting
    assert client.get("/jury/").status_code == 200
    backdate(client, seen_at=11 * 3600)
    assert client.get("/jury/").status_code == 302


def test_an_expired_session_gets_401_json_from_the_api(app, client, make_user):
    log_in(client, make_user())
    backdate(client, seen_at=11 * 3600)
    response = client.get("/api/v1/awards")
    assert response.status_code == 401
    assert "nothing you entered is lost" in response.json["message"]


def test_sensitive_actions_need_a_recent_password(app, client, make_user):
    admin, juror = make_user(role="admin"), make_user()
    log_in(client, admin)
    backdate(client, authenticated_at=11 * 60, seen_at=0)
    token = csrf_token(client, "/admin/people")

    response = client.post(
        f"/admin/people/{juror.id}/deactivate",
        data={"csrf_token": token},
        headers={"Referer": "http://localhost/admin/people"},
    )

    assert response.location == "/reauthenticate?next=/admin/people"
    db.session.refresh(juror)
    assert juror.active
    confirmed = client.post(
        "/reauthenticate?next=/admin/people", data={"password": PASSWORD, "csrf_token": token}
    )
    assert confirmed.location == "/admin/people"
    client.post(f"/admin/people/{juror.id}/deactivate", data={"csrf_token": token})
    db.session.refresh(juror)
    assert not juror.active


def test_reauthentication_with_a_wrong_password_changes_nothing(app, client, make_user):
    log_in(client, make_user(role="admin"))
    backdate(client, authenticated_at=11 * 60, seen_at=0)
    response = client.post(
        "/reauthenticate",
        data={"password": "not my password", "csrf_token": csrf_token(client, "/reauthenticate")},
    )
    assert response.status_code == 422
    assert "does not match" in response.get_data(as_text=True)
    assert client.get("/admin/settings").location.startswith("/reauthenticate")


# --- CSRF ----------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused(app, client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_the_csrf_token_may_come_in_a_header_for_scripts(app, client, make_user):
    log_in(client, make_user())
    token = csrf_token(client, "/jury/")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 302


def test_a_page_open_all_day_can_still_post(app, client, make_user, monkeypatch):
    """Flask-WTF's tokens expire after an hour by default; ours live as long as the session."""
    log_in(client, make_user())
    token = csrf_token(client, "/jury/")
    later = time.time() + 9 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    backdate(client, seen_at=0)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


# --- Two-factor authentication ---------------------------------------------------------------


def enrol(client) -> tuple[str, list[str]]:
    """Turn on 2FA for the logged-in user through the pages; return the secret and codes."""
    client.get("/account/two-factor")
    with client.session_transaction() as session:
        secret = session["pending_totp_secret"]
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and "viewBox" in page and secret in page
    response = client.post(
        "/account/two-factor",
        data={
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": csrf_token(client, "/account/two-factor"),
        },
    )
    codes = re.findall(r"<li><code>([0-9a-f-]+)</code></li>", response.get_data(as_text=True))
    return secret, codes


def two_factor_step(client, code):
    return client.post(
        "/login/two-factor",
        data={"code": code, "csrf_token": csrf_token(client, "/login/two-factor")},
    )


def test_enrolment_needs_a_right_code(app, client, make_user):
    user = make_user(role="admin")
    log_in(client, user)
    client.get("/account/two-factor")
    response = client.post(
        "/account/two-factor",
        data={"code": "000000", "csrf_token": csrf_token(client, "/account/two-factor")},
    )
    assert "That code is not right" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.has_two_factor


def test_answers_that_cross_cannot_undo_an_enrolment(app, client, make_user):
    """A browser loads the enrolment page while its stylesheet and a script's request, sent
    with the cookie from before, are still on their way: their answers arrive last. They must
    not put back the session without the secret the page just stored, or the right code from
    the authenticator app is refused."""
    log_in(client, make_user(role="admin"))
    client.get("/admin/")  # the page the admin came from (its forms' token is in the session)
    cookie_before = client.get_cookie("session").value
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and "Set-Cookie" in page.headers  # the secret is stored
    late = app.test_client()
    late.set_cookie("session", cookie_before)
    for path in ("/static/css/app.css", "/api/v1/awards", "/admin/"):
        answer = late.get(path)
        answer.close()
        assert answer.status_code == 200, path
        assert "Set-Cookie" not in answer.headers, path
    with client.session_transaction() as session:
        secret = session["pending_totp_secret"]
    response = client.post(
        "/account/two-factor",
        data={
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": csrf_token(client, "/account/two-factor"),
        },
    )
    assert "recovery codes" in response.get_data(as_text=True).lower()


def test_the_idle_clock_is_written_at_most_once_a_minute(app, client, make_user):
    log_in(client, make_user(role="admin"))
    client.get("/admin/")
    backdate(client, seen_at=5)
    assert "Set-Cookie" not in client.get("/admin/").headers
    backdate(client, seen_at=61)
    assert "Set-Cookie" in client.get("/admin/").headers  # written again, expiry extended
    with client.session_transaction() as session:
        assert time.time() - session["seen_at"] < 5


def test_with_two_factor_login_needs_a_code(app, client, make_user):
    user = make_user(role="admin")
    log_in(client, user)
    secret, codes = enrol(client)
    assert len(codes) == 10
    db.session.refresh(user)
    assert user.has_two_factor
    assert all(codes[0] not in r.code_hash for r in db.session.scalars(select(RecoveryCode)))

    fresh = app.test_client()
    step = log_in(fresh, user)
    assert step.location == "/login/two-factor"
    assert fresh.get("/admin/").status_code == 302  # not in yet
    assert "not right" in two_factor_step(fresh, "123456").get_data(as_text=True)
    next_code = pyotp.TOTP(secret).at(time.time() + 30)  # enrolment used the current one
    assert two_factor_step(fresh, next_code).location == "/admin/"
    assert fresh.get("/admin/").status_code == 200


def test_a_code_is_never_accepted_twice(app, client, make_user):
    user = make_user(role="admin")
    log_in(client, user)
    secret, _ = enrol(client)
    code = pyotp.TOTP(secret).at(time.time() + 30)
    first, second = app.test_client(), app.test_client()
    log_in(first, user)
    assert two_factor_step(first, code).location == "/admin/"
    log_in(second, user)
    assert "not right" in two_factor_step(second, code).get_data(as_text=True)


def test_a_recovery_code_works_once(app, client, make_user):
    user = make_user(role="admin")
    log_in(client, user)
    _, codes = enrol(client)
    first = app.test_client()
    log_in(first, user)
    assert two_factor_step(first, codes[3]).location == "/admin/"
    second = app.test_client()
    log_in(second, user)
    assert two_factor_step(second, codes[3]).status_code == 422


def test_guessing_codes_is_throttled(app, client, make_user):
    user = make_user(role="admin")
    log_in(client, user)
    secret, _ = enrol(client)
    attacker = app.test_client()
    log_in(attacker, user)
    for n in range(5):
        two_factor_step(attacker, f"{n:06}")
    assert two_factor_step(attacker, pyotp.TOTP(secret).now()).status_code == 429


def test_when_required_an_admin_without_two_factor_must_set_it_up(app, client, make_user):
    db.session.add(Setting(key="require_admin_2fa", value="on"))
    db.session.commit()
    log_in(client, make_user(role="admin"))
    response = client.get("/admin/people")
    assert response.location == "/account/two-factor"
    enrol(client)
    assert client.get("/admin/people").status_code == 200


def test_the_requirement_is_an_admin_setting(app, client, make_user):
    log_in(client, make_user(role="admin"))
    token = csrf_token(client, "/admin/settings")
    response = client.post("/admin/settings", data={"require_admin_2fa": "on", "csrf_token": token})
    assert response.status_code == 302
    assert db.session.get(Setting, "require_admin_2fa").value == "on"
    assert client.get("/admin/").location == "/account/two-factor"
    # The first time it is turned on is in the audit log too (there was no row before).
    [event] = events("settings.changed")
    assert json.loads(event.payload) == {"before": "off", "after": "on"}


def test_two_factor_cannot_be_turned_off_while_required(app, client, make_user):
    user = make_user(role="admin")
    log_in(client, user)
    enrol(client)
    db.session.add(Setting(key="require_admin_2fa", value="on"))
    db.session.commit()
    client.post(
        "/account/two-factor/disable",
        data={"csrf_token": csrf_token(client, "/account/two-factor")},
    )
    db.session.refresh(user)
    assert user.has_two_factor


def test_codes_from_a_drifting_clock_are_accepted_but_not_old_ones():
    secret = two_factor.new_secret()
    totp = pyotp.TOTP(secret)
    assert two_factor.code_is_valid(secret, totp.at(time.time() - 30))
    assert not two_factor.code_is_valid(secret, totp.at(time.time() - 120))
    assert not two_factor.code_is_valid(secret, "12345")


def test_users_are_never_loaded_from_a_malformed_session(app, client, make_user):
    user = make_user()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)  # no version: a forged or pre-upgrade cookie
        session["seen_at"] = time.time()
    assert client.get("/jury/").status_code == 302


def test_an_unknown_email_costs_a_password_check_too(app, client, make_user, monkeypatch):
    """Same work for an unknown address as for a wrong password: timing tells nothing."""
    from argon2 import PasswordHasher

    checks = []
    original = PasswordHasher.verify
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda self, h, p: checks.append(h) or original(self, h, p)
    )
    log_in(client, make_user(), "a wrong password")
    client.post(
        "/login",
        data={
            "email": "nobody@example.org",
            "password": "a wrong password",
            "csrf_token": csrf_token(client),
        },
    )
    assert len(checks) == 2
    assert all(h.startswith("$argon2id$") for h in checks)
