"""Health checks for a load balancer: /healthz (the process) and /readyz (the database too).

On a working app both answer 200 on every engine, without a login, a CSRF token or a cookie.
Against a real gunicorn whose database is not there, /readyz answers 503 within seconds without
naming the database's address or password, while /healthz still answers 200; a database that
accepts the connection and then says nothing makes /readyz give up after READYZ_TIMEOUT.
"""

import json
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from judging import create_app
from judging.extensions import limiter

from .servers import free_port, start_gunicorn

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_healthz_and_readyz_answer_on_a_working_app(client):
    for path, body in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.get_json() == body
        assert "Set-Cookie" not in response.headers, f"{path} hands out a session cookie"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Request-ID"]


@pytest.fixture
def default_limit_restored():
    # The limiter is one object per process and keeps the first app's default limit for every
    # app made after it: without this, every later test in the process would be limited too.
    yield
    limiter.limit_manager.set_default_limits([])


def test_health_checks_are_never_rate_limited(make_app, default_limit_restored):
    app = make_app(RATELIMIT_DEFAULT="2 per minute", RATELIMIT_KEY_PREFIX=uuid.uuid4().hex)
    client = app.test_client()
    statuses = [client.get("/").status_code for _ in range(3)]
    assert statuses[-1] == 429, "the default limit is not in force: this test proves nothing"
    for path in ("/healthz", "/readyz"):
        assert [client.get(path).status_code for _ in range(5)] == [200] * 5, path


def test_readyz_is_503_at_once_when_the_database_is_not_there(tmp_path):
    password = secrets.token_urlsafe(12)
    port = free_port()  # nothing listens here
    server = start_gunicorn(
        f"postgresql+psycopg://judging:{password}@127.0.0.1:{port}/judging",
        tmp_path / "server",
        workers=1,
        LOG_FORMAT="text",
        LOG_LEVEL="INFO",
    )
    try:
        started = time.monotonic()
        status, _, body = _get(server.url + "/readyz")
        elapsed = time.monotonic() - started
        assert status == 503
        answer = json.loads(body)
        assert answer["status"] == "unavailable" and answer["reason"]
        assert elapsed < 5, f"/readyz took {elapsed:.1f} s to say the database is gone"
        for secret in (password, str(port), "judging@", "postgresql"):
            assert secret not in body, f"/readyz reveals {secret!r}"
        status, _, body = _get(server.url + "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        # A page that needs the database says so, with a reference support can look up.
        status, headers, page = _get(server.url + "/")
        assert status in {500, 503}
        assert headers["X-Request-ID"] in page, "the error page does not show its request id"
    finally:
        output = server.stop()
    assert password not in output, "the database password is in the logs"
    assert f"[{headers['X-Request-ID']}]" in output, "the failed page's request id is not logged"


def test_readyz_gives_up_on_a_database_that_never_answers(tmp_path):
    # A socket that accepts connections (the kernel does, from the backlog) and never speaks.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        app = create_app(
            {
                "SECRET_KEY": "test",
                "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://u:p@127.0.0.1:{port}/db",
                "READYZ_TIMEOUT": 1.0,
            },
            instance_path=str(tmp_path / "instance"),
        )
        client = app.test_client()
        answers = []
        started = time.monotonic()
        # In a thread: if /readyz waited for the silent database, this test must fail, not hang.
        probe = threading.Thread(target=lambda: answers.append(client.get("/readyz")), daemon=True)
        probe.start()
        probe.join(timeout=10)
        elapsed = time.monotonic() - started
        assert answers, "/readyz is still waiting for a database that never answers"
        (response,) = answers
        assert response.status_code == 503
        assert "did not answer" in response.get_json()["reason"]
        assert 0.9 < elapsed < 4, elapsed
        assert client.get("/healthz").status_code == 200
        # A second probe waits on the same check: one connection attempt, not one per probe.
        assert client.get("/readyz").status_code == 503
        silent.settimeout(0.5)
        attempts = []
        try:
            while True:
                attempts.append(silent.accept()[0])
        except TimeoutError:
            pass
        for connection in attempts:
            connection.close()
        assert len(attempts) == 1, f"{len(attempts)} connection attempts for two probes"
