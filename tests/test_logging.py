"""Logs under real gunicorn: JSON lines with request ids, and not one secret in them.

gunicorn runs with gunicorn.conf.py, LOG_FORMAT=json and LOG_LEVEL=DEBUG (the level at which
libraries print the most). A session logs in with a wrong then a right password, passes a second
factor, follows invitation, reset and voting links, votes with access codes, hits 404s and a 500
with secrets in the path and query string. Then every secret is looked for in everything the
processes wrote: none may be there; every line must be a JSON object; every response's
X-Request-ID must name exactly one request line, with the route pattern, never the raw path.
"""

import http.cookiejar
import json
import logging
import re
import secrets
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp
from sqlalchemy import select

from judging import create_app
from judging.extensions import db
from judging.models import Award, Base, User, utcnow
from judging.services import accounts, voting
from judging.services.seeding import read_shortlist, seed_shortlist

from .fixtures.app import FAST_ARGON2
from .fixtures.domain import PASSWORD, PASSWORD_HASH, SHORTLIST
from .servers import start_gunicorn


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Answer:
    status: int
    headers: dict
    body: str


@dataclass
class Browser:
    """One visitor: a cookie jar, no automatic redirects; remembers every answer it got."""

    url: str
    answers: list = field(default_factory=list)

    def __post_init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def open(self, path, *, form=None, json_body=None, headers=None) -> Answer:
        data, headers = None, dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                answer = Answer(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            answer = Answer(error.code, dict(error.headers), error.read().decode())
        self.answers.append((request.get_method(), path, answer))
        return answer

    def csrf(self, path: str) -> str:
        page = self.open(path).body
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)


def _prepare_database(url: str, instance: Path, secret_key: str) -> dict:
    """The seeded award, open for voting online and by code; the people and links to use."""
    app = create_app(
        {"SECRET_KEY": secret_key, "SQLALCHEMY_DATABASE_URI": url, **FAST_ARGON2},
        instance_path=str(instance),
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
        report = seed_shortlist(read_shortlist(SHORTLIST), actor=None)
        award = db.session.scalar(select(Award).where(Award.slug == report.award))
        award.status, award.online_vote = "voting", True
        tag = secrets.token_hex(4)
        people = {
            role: User(
                email=f"{role}.{tag}@example.org",
                name=role.title(),
                role="admin" if role == "admin" else "juror",
                password_hash=None if role in {"invited", "boom"} else PASSWORD_HASH,
            )
            for role in ("juror", "admin", "invited", "boom")
        }
        db.session.add_all(people.values())
        db.session.flush()
        totp_secret = pyotp.random_base32()
        people["admin"].totp_secret, people["admin"].totp_enabled_at = totp_secret, utcnow()
        data = {
            "slug": award.slug,
            "nominee": award.nominees[0].slug,
            "emails": {role: user.email for role, user in people.items()},
            "juror_id": people["juror"].id,
            "totp_secret": totp_secret,
            "invitation": accounts.issue_token(people["invited"], "invitation", timedelta(hours=1)),
            "reset": accounts.issue_token(people["juror"], "reset", timedelta(hours=1)),
            "boom": accounts.issue_token(people["boom"], "invitation", timedelta(hours=1)),
            "codes": voting.generate_codes(award, 3, actor=None),
            "online": voting.verification_token(award, f"voter.{tag}@example.net"),
        }
        db.session.commit()
        db.engine.dispose()
    # A real bug's stand-in: the database refuses one account's password with an error the
    # app does not expect (an IntegrityError), so that accepting its invitation ends in a 500.
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute(
            "CREATE TRIGGER boom BEFORE UPDATE OF password_hash ON user_account "
            f"WHEN NEW.email = '{data['emails']['boom']}' "
            "BEGIN SELECT RAISE(ABORT, 'a test trigger refuses this login'); END"
        )
    return data


def _json_lines(output: str) -> list[dict]:
    lines = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise AssertionError(f"a log line is not JSON: {line[:300]!r}") from None
        assert isinstance(entry, dict), line
        assert {"ts", "level", "logger", "message", "request_id"} <= entry.keys(), entry
        lines.append(entry)
    return lines


def test_logs_are_json_with_request_ids_and_hold_no_secret(tmp_path):
    secret_key = secrets.token_urlsafe(32)
    url = f"sqlite:///{tmp_path / 'judging.sqlite'}"
    data = _prepare_database(url, tmp_path / "setup", secret_key)
    server = start_gunicorn(
        url,
        tmp_path / "server",
        workers=1,
        SECRET_KEY=secret_key,
        LOG_FORMAT="json",
        LOG_LEVEL="DEBUG",
    )
    emails, codes, slug = data["emails"], data["codes"], data["slug"]
    wrong_password = "wrong " + secrets.token_hex(8)
    new_password = "lantern " + secrets.token_hex(8) + " harbour"
    try:
        juror = Browser(server.url)
        token = juror.csrf("/login")
        csrf_tokens = {token}
        failed = juror.open(
            "/login",
            form={"email": emails["juror"], "password": wrong_password, "csrf_token": token},
        )
        assert failed.status == 422 and "do not match" in failed.body
        answer = juror.open(
            "/login", form={"email": emails["juror"], "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status == 302
        juror_session = juror.cookie("session")
        assert juror.open("/jury/").status == 200
        # A link in a query string, and a reset link followed while logged in.
        assert juror.open(f"/awards/{slug}?reset={data['reset']}").status == 200
        assert juror.open(f"/password/reset/{data['reset']}").status == 200

        invited = Browser(server.url)
        invitation = f"/invitation/{data['invitation']}"
        token = invited.csrf(invitation)
        csrf_tokens.add(token)
        answer = invited.open(
            invitation,
            form={"password": new_password, "confirm": new_password, "csrf_token": token},
        )
        assert answer.status == 302, answer.body[:500]
        invited_session = invited.cookie("session")

        admin = Browser(server.url)
        token = admin.csrf("/login")
        csrf_tokens.add(token)
        answer = admin.open(
            "/login", form={"email": emails["admin"], "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status == 302 and answer.headers["Location"].endswith("/login/two-factor")
        token = admin.csrf("/login/two-factor")  # the session was renewed: a new token
        csrf_tokens.add(token)
        totp_code = pyotp.TOTP(data["totp_secret"]).now()
        answer = admin.open("/login/two-factor", form={"code": totp_code, "csrf_token": token})
        assert answer.status == 302 and answer.headers["Location"].endswith("/admin/")
        admin_session = admin.cookie("session")
        assert admin.open("/admin/").status == 200

        voter = Browser(server.url)
        token = voter.csrf(f"/vote/{slug}?code={codes[0]}")
        csrf_tokens.add(token)
        ballot = {"code": codes[0], "nominee": data["nominee"], "action": "confirm"}
        answer = voter.open(f"/vote/{slug}", form={**ballot, "csrf_token": token})
        assert answer.status == 303 and "/receipt/" in answer.headers["Location"]
        answer = voter.open(answer.headers["Location"])  # the receipt's own page
        assert answer.status == 200 and "receipt" in answer.body.lower()
        answer = voter.open(
            f"/api/v1/awards/{slug}/ballots",
            json_body={"code": codes[1], "nominee": data["nominee"]},
            headers={"X-CSRFToken": token},
        )
        assert answer.status == 201, answer.body
        assert voter.open(f"/vote/{slug}/online/{data['online']}").status == 200
        # Secrets where no route matches, and in a bad link.
        assert voter.open(f"/invitation/{data['invitation']}/{codes[2]}").status == 404
        assert voter.open(f"/vote/{slug}/online/{codes[2]}x").status < 500  # checked on POST
        assert voter.open(f"/api/v1/awards/{slug}/ballots/{codes[2]}").status == 404

        # A request the application fails on: a 500 page that names its request id.
        boom = Browser(server.url)
        invitation = f"/invitation/{data['boom']}"
        token = boom.csrf(invitation)
        csrf_tokens.add(token)
        crashed = boom.open(
            f"{invitation}?code={codes[2]}",
            form={"password": new_password, "confirm": new_password, "csrf_token": token},
        )
        assert crashed.status == 500
        crash_id = crashed.headers["X-Request-ID"]
        assert crash_id in crashed.body, "the 500 page does not show its request id"

        # Request ids: a load balancer's kept when safe, replaced when not.
        probe = Browser(server.url)
        assert (
            probe.open("/healthz", headers={"X-Request-ID": "lb-7f3a.0_b"}).headers["X-Request-ID"]
            == "lb-7f3a.0_b"
        )
        for unsafe in ("x" * 65, "id with spaces", 'quote"d', "semi;colon"):
            echoed = probe.open("/healthz", headers={"X-Request-ID": unsafe}).headers
            assert re.fullmatch(r"[0-9a-f]{32}", echoed["X-Request-ID"]), echoed
    finally:
        output = server.stop()

    lines = _json_lines(output)
    secrets_sent = {
        "SECRET_KEY": secret_key,
        "password": PASSWORD,
        "wrong password": wrong_password,
        "new password": new_password,
        "invitation token": data["invitation"],
        "reset token": data["reset"],
        "invitation token that fails": data["boom"],
        "online voting link token": data["online"],
        "juror's session cookie": juror_session,
        "invited juror's session cookie": invited_session,
        "admin's session cookie": admin_session,
        **{f"CSRF token {n}": t for n, t in enumerate(csrf_tokens)},
        **{f"vote code {n}": c for n, c in enumerate(codes)},
        **{f"vote code {n}, undashed": c.replace("-", "") for n, c in enumerate(codes)},
        **{f"email of {role}": email for role, email in emails.items()},
    }
    leaked = [name for name, value in secrets_sent.items() if value in output]
    assert not leaked, f"secrets in the logs: {leaked}"
    assert not re.search(rf"(?<!\d){totp_code}(?!\d)", output), "the TOTP code is in the logs"
    assert not [e for e in lines if e["logger"].startswith("sqlalchemy")], "SQLAlchemy logs SQL"
    assert "[parameters:" not in output, "a database error's bound parameters are in the logs"

    # Every response's request id names exactly one request line, which matches the response.
    requests = [e for e in lines if e["logger"] == "judging.requests"]
    by_id = {}
    for entry in requests:
        assert entry["request_id"] not in by_id, f"two request lines share an id: {entry}"
        by_id[entry["request_id"]] = entry
    answers = [a for b in (juror, invited, admin, voter, boom, probe) for a in b.answers]
    for method, path, answer in answers:
        entry = by_id.get(answer.headers["X-Request-ID"])
        assert entry is not None, f"no log line for {method} {path}"
        assert (entry["method"], entry["status"]) == (method, answer.status), (path, entry)
    answered = {answer.headers["X-Request-ID"] for _, _, answer in answers}
    others = [e["route"] for e in requests if e["request_id"] not in answered]
    assert set(others) <= {"/"}, others  # only the probes waiting for start-up
    routes = {e["route"] for e in requests}
    for route in ("/invitation/<token>", "/password/reset/<token>", "/vote/<slug>/online/<token>"):
        assert route in routes
    jury_page = next(e for e in requests if e["route"] == "/jury/")
    assert jury_page["user_id"] == data["juror_id"] and jury_page["endpoint"] == "jury.dashboard"
    assert isinstance(jury_page["duration_ms"], float)

    # The 500: its request line and the error with its traceback, under the page's request id.
    crash_lines = [e for e in lines if e["request_id"] == crash_id]
    assert any(e.get("traceback") and "IntegrityError" in e["traceback"] for e in crash_lines)
    assert by_id[crash_id]["level"] == "ERROR"
    assert by_id[crash_id]["route"] == "/invitation/<token>"
    # LOG_LEVEL=DEBUG took effect: the refused request ids were noted at DEBUG.
    assert any(e["level"] == "DEBUG" and "X-Request-ID" in e["message"] for e in lines)


def test_a_500_shows_its_request_id_on_the_page_in_the_api_and_in_the_log(make_app, caplog):
    app = make_app()

    def explode(token):
        raise RuntimeError("a bug")

    app.add_url_rule("/explode/<token>", "explode", explode)
    app.add_url_rule("/api/v1/explode/<token>", "api_explode", explode)
    client = app.test_client()
    secret = secrets.token_urlsafe(16)

    page = client.get(f"/explode/{secret}?code={secret}")
    assert page.status_code == 500
    page_id = page.headers["X-Request-ID"]
    assert page_id in page.get_data(as_text=True)
    api = client.get(f"/api/v1/explode/{secret}", headers={"X-Request-ID": "support-42"})
    assert api.status_code == 500 and api.headers["X-Request-ID"] == "support-42"
    assert api.get_json()["request_id"] == "support-42"

    for request_id in (page_id, "support-42"):
        errors = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
        assert any(r.exc_info and r.levelname == "ERROR" for r in errors), request_id
        assert any(getattr(r, "status", None) == 500 for r in errors), request_id
    assert secret not in caplog.text


def test_a_line_logged_with_exc_info_outside_an_exception_is_not_lost(make_app, capsys):
    """`log.error(..., exc_info=True)` where no exception is being handled (exc_info is then
    (None, None, None)) still writes its JSON line, with no error named."""
    app = make_app(LOG_FORMAT="json")
    with app.app_context():
        logging.getLogger("judging.test").error("nothing was raised", exc_info=True)
    lines = _json_lines(capsys.readouterr().err)
    (line,) = [e for e in lines if e["message"] == "nothing was raised"]
    assert line["level"] == "ERROR"
    assert "error" not in line
