"""Hostile input is answered with a message and changes nothing: forged Host headers, huge or
deeply nested bodies, out-of-range numbers, invisible and direction-changing characters."""

import contextlib
import http.client
import io
import json
import logging
import re
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import AuditEvent, Award, Ballot, Nominee, User
from judging.services import accounts
from judging.services.audit import record_event
from judging.services.seeding import SeedError, read_shortlist

from .fixtures.domain import SHORTLIST, csrf_token, text_of
from .fixtures.mail import deliver_mail, outbox
from .servers import start_gunicorn

AWARD = "excellence-award"
BALLOTS = f"/api/v1/awards/{AWARD}/ballots"
EVIL = "http://evil.example"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "Award\u202egpj.exe" shows as "Awardexe.jpg"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def forged_host_token(client, url: str) -> str:
    """The CSRF token of a session held entirely on the forged host evil.example."""
    page = client.get(url, base_url=EVIL).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def post_json(client, url: str, body: str):
    """A raw JSON body, as an anonymous voter's browser sends it (CSRF token and all)."""
    headers = {"X-CSRFToken": csrf_token(client, "/")}
    return client.post(url, data=body, content_type="application/json", headers=headers)


def newest_mail(app) -> str:
    deliver_mail(app)  # the page only queued it
    return outbox(app)[-1].get_content()


@pytest.fixture
def admin(admin_client, seeded_award):
    """The admin's client on the seeded award, with its CSRF token at hand."""
    admin_client.token = csrf_token(admin_client, "/admin/")
    return admin_client


@pytest.fixture
def voting_award(seeded_award):
    seeded_award.status, seeded_award.online_vote = "voting", True
    db.session.commit()
    return seeded_award


# --- Item 2: emailed links never come from the request's Host header ----------------------------


def test_a_reset_link_ignores_a_forged_host_header(app, client, make_user, smtp_server):
    user = make_user(role="juror")
    token = forged_host_token(client, "/password/forgot")
    response = client.post(
        "/password/forgot", data={"email": user.email, "csrf_token": token}, base_url=EVIL
    )
    assert response.status_code in (200, 302)
    assert deliver_mail(app).sent == 1  # forgot-password only queues it
    body = smtp_server.messages[-1].get_payload(decode=True).decode()
    assert "evil.example" not in body
    assert f"{app.config['BASE_URL']}/password/reset/" in body


def test_an_online_vote_link_ignores_a_forged_host_header(app, client, voting_award):
    url = f"/vote/{AWARD}/online"
    token = forged_host_token(client, url)
    client.post(url, data={"email": "ana@example.org", "csrf_token": token}, base_url=EVIL)
    body = newest_mail(app)
    assert "evil.example" not in body
    assert f"{app.config['BASE_URL']}/vote/{AWARD}/online/" in body


# --- Item 8: input that used to be a 500 --------------------------------------------------------


def test_a_json_body_nested_100000_deep_is_a_400(app, client, voting_award):
    body = '{"code": ' + "[" * 100_000 + "]" * 100_000 + ', "nominee": "evikomp"}'
    response = post_json(client, BALLOTS, body)
    assert response.status_code in (400, 413)
    assert response.is_json and response.json["message"]
    assert count(Ballot) == 0


def test_a_nested_body_within_the_size_limit_is_a_400_naming_the_problem(app, client, voting_award):
    body = "[" * 30_000 + "]" * 30_000  # 60 kB: under the API's size limit, past Python's stack
    response = post_json(client, BALLOTS, body)
    assert response.status_code == 400
    assert "nested too deeply" in response.json["message"]
    assert count(Ballot) == 0


def test_a_number_of_5000_digits_in_an_api_body_is_a_400(app, client, voting_award):
    body = '{"code": ' + "9" * 5000 + ', "nominee": "evikomp"}'
    response = post_json(client, BALLOTS, body)
    assert response.status_code == 400
    assert "too many digits" in response.json["message"]


def test_a_version_beyond_any_integer_column_is_a_422(app, juror_client, award):
    url = f"/api/v1/awards/{AWARD}/nominees/evikomp/my-evaluation"
    token = csrf_token(juror_client, f"/jury/awards/{AWARD}/nominees/evikomp")
    response = juror_client.put(
        url,
        json={"scores": {}, "submitted": False, "version": 99999999999999999999999},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 422
    assert "version" in response.json["errors"]["json"]


@pytest.mark.parametrize("page", ["9223372036854775807", "99999999999999999999999", "-5", "x"])
def test_any_audit_page_number_shows_a_page(app, admin, page):
    response = admin.get(f"/admin/audit?page={page}")
    assert response.status_code == 200
    assert "Audit" in text_of(response)


def test_the_audit_filters_match_underscore_and_percent_literally(app, admin):
    record_event("user.created", "user:1", {}, actor=None)
    db.session.commit()
    assert "user.created" in text_of(admin.get("/admin/audit"))
    for wildcard in ("%25", "_", "user_created"):
        page = text_of(admin.get(f"/admin/audit?action={wildcard}"))
        assert "No event matches" in page, wildcard
        page = text_of(admin.get(f"/admin/audit?subject={wildcard}"))
        assert "No event matches" in page, wildcard
    assert "No event matches" not in text_of(admin.get("/admin/audit?action=user."))


IMPORT = f"/admin/awards/{AWARD}/nominees/import"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"title": ' + b"9" * 5000 + b"}]", "a number with too many digits"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["5000-digits", "nested"],
)
def test_an_import_with_a_huge_number_or_deep_nesting_says_why(admin, content, message):
    before = count(Nominee), count(AuditEvent)
    for data in (
        {"file": (io.BytesIO(content), "nominees.json")},
        {"text": content.decode()},
    ):
        response = admin.post(
            IMPORT, data={**data, "csrf_token": admin.token}, content_type="multipart/form-data"
        )
        assert response.status_code == 422
        assert message in text_of(response)
    assert (count(Nominee), count(AuditEvent)) == before


def test_the_seed_file_with_a_huge_number_is_refused_with_its_reason(tmp_path):
    path = tmp_path / "shortlist.json"
    path.write_text('{"award": {"slug": "a", "title": "A", "x": ' + "1" * 5000 + "}}")
    with pytest.raises(SeedError) as refused:
        read_shortlist(path)
    assert refused.value.messages == [f"{path}: it holds a number with too many digits"]


def test_an_award_title_with_a_line_break_is_refused(app, admin, voting_award):
    response = admin.post(
        f"/admin/awards/{AWARD}/settings",
        data={
            "title": "Award\r\nBcc: everyone@example.org",
            "aggregation_method": voting_award.aggregation_method,
            "quorum": "3",
            "csrf_token": admin.token,
        },
    )
    assert response.status_code == 422
    assert "one line" in text_of(response)
    db.session.expire_all()
    assert "\n" not in db.session.get(Award, voting_award.id).title


def test_a_title_stored_with_a_line_break_before_the_check_still_gets_its_vote_mail(
    app, client, voting_award
):
    voting_award.title = "Award\r\nBcc: everyone@example.org"
    db.session.commit()
    url = f"/vote/{AWARD}/online"
    response = client.post(
        url, data={"email": "ana@example.org", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 200
    assert deliver_mail(app).sent == 1
    message = outbox(app)[-1]
    assert message["Subject"] == "Your vote: Award Bcc: everyone@example.org"
    assert message["Bcc"] is None


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (f"/admin/awards/{AWARD}/jury/assignment", {"nominee": "9" * 25, "juror": "1"}),
        (f"/admin/awards/{AWARD}/jury/assignment", {"nominee": "1", "juror": "9" * 25}),
        (f"/admin/awards/{AWARD}/jury/add", {"juror": "9" * 25}),
        (f"/admin/awards/{AWARD}/voting/void", {"ballot": "9" * 25, "reason": "test"}),
    ],
    ids=["nominee-id", "juror-id", "add-juror", "ballot-id"],
)
def test_an_id_beyond_any_integer_column_is_refused_with_a_message(admin, url, data):
    before = count(AuditEvent)
    response = admin.post(url, data={**data, "csrf_token": admin.token})
    assert response.status_code in (302, 400, 404, 422)
    assert count(AuditEvent) == before


# --- Item 12: invisible and direction-changing characters, one rule everywhere ------------------


@pytest.mark.parametrize("char", [RLO, "\u2066", "\u200b", "\x07", "\n"])
def test_a_nominee_title_with_a_hidden_character_is_refused_in_the_form(admin, char):
    before = count(Nominee)
    response = admin.post(
        f"/admin/awards/{AWARD}/nominees/new",
        data={
            "title": f"Repair{char}Café",
            "organisation": "City of Ghent",
            "city": "Ghent",
            "country": "Belgium",
            "csrf_token": admin.token,
        },
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "invisible or text-direction character" in page or "one line" in page
    assert count(Nominee) == before


def test_a_hidden_character_in_an_import_row_is_named_and_nothing_is_imported(admin):
    rows = (
        "title,organisation,city,country\nGood,Org,Ghent,Belgium\n"
        f"Bad{RLO}txt.exe,Org,Lyon,France\n"
    )
    before = count(Nominee)
    response = admin.post(
        IMPORT, data={"text": rows, "csrf_token": admin.token}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "U+202E" in text_of(response)
    assert count(Nominee) == before


def test_an_award_and_a_criterion_with_a_bidi_override_are_refused(app, admin, seeded_award):
    response = admin.post(
        "/admin/awards/new",
        data={
            "title": f"Best{RLO}",
            "aggregation_method": "mean",
            "quorum": "3",
            "csrf_token": admin.token,
        },
    )
    assert response.status_code == 422
    assert "U+202E" in text_of(response)
    response = admin.post(
        f"/admin/awards/{AWARD}/criteria",
        data={
            "name": f"Impact{RLO}",
            "weight": "10",
            "scale_min": "1",
            "scale_max": "10",
            "csrf_token": admin.token,
        },
    )
    assert response.status_code == 422
    assert "U+202E" in text_of(response)
    assert count(Award) == 1


def test_a_person_with_a_bidi_name_is_refused_in_the_form_and_the_cli(app, admin, runner):
    before = count(User)
    response = admin.post(
        "/admin/people/invite",
        data={
            "name": f"Eve{RLO}nimda",
            "email": "eve@example.org",
            "role": "juror",
            "csrf_token": admin.token,
        },
    )
    assert response.status_code == 422
    assert "U+202E" in text_of(response)
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "eve@example.org",
            "--name",
            f"Eve{RLO}",
            "--role",
            "juror",
        ]
    )
    assert result.exit_code != 0 and "U+202E" in result.output
    assert count(User) == before


def test_the_seed_file_refuses_a_hidden_character_by_entry_and_field(tmp_path):
    data = json.loads(SHORTLIST.read_text())
    data["nominees"][2]["title"] += "\u200f"
    path = tmp_path / "shortlist.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SeedError) as refused:
        read_shortlist(path)
    assert "title" in str(refused.value) and "U+200F" in str(refused.value)


def test_the_shortlist_and_ordinary_names_pass(tmp_path):
    assert read_shortlist(SHORTLIST)["nominees"]
    from judging.inputs import text_problem

    for fine in ("Ana Costa", "Zoë O’Brien", "مهدی\u200cزاده", "東京都", "👩\u200d🔬 lab"):
        assert text_problem(fine) is None, fine
    assert text_problem("Line one\nline two", multiline=True) is None


# --- Item 7: request size limits ----------------------------------------------------------------


def test_an_api_body_over_64_kib_is_a_413_with_a_json_message(app, client, voting_award):
    body = json.dumps({"code": "A" * 70_000, "nominee": "evikomp"})
    response = post_json(client, BALLOTS, body)
    assert response.status_code == 413
    assert response.is_json and "at most 64 KiB" in response.json["message"]
    assert count(Ballot) == 0


def test_the_largest_legitimate_evaluation_is_saved(app, juror_client, award):
    """Every comment full (10,000 characters) of three-byte characters: well over 64 KiB."""
    criteria = [c.slug for c in award.criteria]
    body = {
        "scores": dict.fromkeys(criteria, 5),
        "criterion_comments": dict.fromkeys(criteria, "評" * 10000),
        "comment": "評" * 10_000,
        "submitted": False,
        "version": 0,
    }
    assert len(json.dumps(body, ensure_ascii=False).encode()) > 150_000
    token = csrf_token(juror_client, f"/jury/awards/{AWARD}/nominees/evikomp")
    response = juror_client.put(
        f"/api/v1/awards/{AWARD}/nominees/evikomp/my-evaluation",
        data=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.json["comment"] == "評" * 10_000


def multipart(fields: dict[str, str], file_size: int = 0, boundary: str = "b0undary") -> bytes:
    """A multipart/form-data body: the fields and one file of `file_size` bytes. Built here:
    the test client would spool a big one to a temporary file it never closes."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    if not file_size:
        return b"".join(parts) + f"--{boundary}--\r\n".encode()
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + b"x" * file_size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts)


def test_a_page_body_over_the_global_limit_is_a_413_page(app, client):
    body = multipart({"email": "a@example.org", "csrf_token": csrf_token(client)}, 12 * 2**20)
    response = client.post(
        "/login", data=body, content_type="multipart/form-data; boundary=b0undary"
    )
    assert response.status_code == 413
    page = text_of(response)
    assert "at most 11 MiB" in page and "what you typed is still in the form" in page


def test_a_pasted_import_of_two_megabytes_is_previewed_and_imported(admin):
    summary = "Volunteers mend what neighbours bring. " * 52  # 2,028 characters
    rows = "".join(f"Project {n},Org {n},Ghent,Belgium,{summary}\n" for n in range(1000))
    text = "title,organisation,city,country,summary\n" + rows
    assert len(text) > 2_000_000
    form = "multipart/form-data; boundary=b0undary"
    body = multipart({"text": text, "csrf_token": admin.token})
    response = admin.post(IMPORT, data=body, content_type=form)
    assert response.status_code == 200, text_of(response)[:300]
    assert "1000 nominees ready to import" in text_of(response)
    body = multipart({"text": text, "format": "csv", "csrf_token": admin.token})
    response = admin.post(f"{IMPORT}/confirm", data=body, content_type=form)
    assert response.status_code == 302
    assert count(Nominee) == 13 + 1000


@pytest.fixture
def served(app, database_url, tmp_path, voting_award):
    """A real gunicorn on the test's database, and a visitor's session (cookie, CSRF token)."""
    server = start_gunicorn(database_url, tmp_path / "server", workers=1, threads=2)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.url.rsplit(":", 1)[1])
        connection.request("GET", "/login")
        response = connection.getresponse()
        page = response.read().decode()
        server.cookie = response.getheader("Set-Cookie").split(";")[0]
        server.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        connection.close()
        yield server
    finally:
        server.stop()


def send(server, path: str, headers: dict, chunks=()) -> tuple[int, str]:
    """A request written by hand: the headers, then the chunks (if any); the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.url.rsplit(":", 1)[1], timeout=60)
    connection.putrequest("POST", path)
    for name, value in {"Cookie": server.cookie, "X-CSRFToken": server.token, **headers}.items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        for chunk in chunks:
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if chunks:
            connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and stopped reading: the answer is still there to read
    response = connection.getresponse()
    answer = response.status, response.read().decode()
    connection.close()
    return answer


def test_gunicorn_refuses_a_declared_200_mb_api_body_without_reading_it(served):
    # Only the headers are sent: the answer comes before any of the 200 MB would be read.
    status, body = send(
        served,
        BALLOTS,
        {"Content-Type": "application/json", "Content-Length": str(200 * 2**20)},
    )
    assert status == 413
    assert "at most 64 KiB" in json.loads(body)["message"]
    assert count(Ballot) == 0


def test_gunicorn_refuses_a_chunked_api_body_past_64_kib(served):
    padding = b'"' + b"A" * 100_000 + b'"'
    chunks = [
        b'{"nominee": "evikomp", "code": ',
        *[padding[i : i + 8192] for i in range(0, len(padding), 8192)],
        b"}",
    ]
    status, body = send(
        served,
        BALLOTS,
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        chunks,
    )
    assert status == 413, body
    assert "at most 64 KiB" in json.loads(body)["message"]
    assert count(Ballot) == 0


def test_gunicorn_refuses_a_100_mb_form_and_a_chunked_12_mib_one(served):
    headers = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    status, page = send(served, "/login", {**headers, "Content-Length": str(100 * 2**20)})
    assert status == 413 and "at most 11 MiB" in page
    body = multipart({"email": "a@example.org", "csrf_token": served.token}, 12 * 2**20)
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    status, page = send(served, "/login", {**headers, "Transfer-Encoding": "chunked"}, chunks)
    assert status == 413 and "at most 11 MiB" in page
    # Form-encoded and chunked: werkzeug alone would read the first 11 MiB as the whole form.
    body = f"csrf_token={served.token}&email=a%40example.org&password=".encode() + b"x" * 12 * 2**20
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    status, page = send(served, "/login", {**urlencoded, "Transfer-Encoding": "chunked"}, chunks)
    assert status == 413 and "at most 11 MiB" in page


# --- Item 12: secrets in addresses are neither cached nor logged by the development server -----


def test_pages_whose_address_holds_a_secret_are_never_cached(app, client, make_user, voting_award):
    user = make_user(role="juror", invited=True)
    token = accounts.issue_token(user, "invitation", timedelta(hours=1))
    db.session.commit()
    assert client.get(f"/invitation/{token}").status_code == 200
    for path in (
        f"/invitation/{token}",
        "/invitation/not-a-real-token",
        "/password/reset/not-a-real-token",
        f"/vote/{AWARD}/online/not-a-real-token",
    ):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path


def test_the_development_server_logs_the_route_not_the_token(app, live_server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    secret = "SECRETtoken1234567890"
    for path in (f"/invitation/{secret}", f"/vote/{AWARD}?code={secret}", f"/nowhere/{secret}"):
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(live_server.url + path).close()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /invitation/<token> HTTP/1.1" in line for line in lines), lines
    assert any("GET /vote/<slug> HTTP/1.1" in line for line in lines), lines
    assert not any(secret in line for line in lines), lines
