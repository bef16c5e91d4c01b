"""Scale-out: two real gunicorn processes on two ports, one PostgreSQL database, one Redis
(issue 9, item 5; docs/scale-out.md).

- Failed logins spread over both processes are counted together in Redis; the next attempt is
  refused on either one.
- A session made on one process works on the other, its CSRF token too; logging out on one
  ends every copy of the session on both.
- Autosaves of one evaluation through both processes at once: every acknowledged write is a
  distinct version, stale versions get 409, nothing is lost, the final version counts them all.

Ballots under load across two processes are proven by test_ballot_load.py (1,000 ballots, two
gunicorn processes on PostgreSQL); not repeated here.

PostgreSQL only (SQLite is one file on one host): the test takes its throw-away database from
the `postgres` fixture, which skips without TEST_DATABASE_URL; in CI that variable is required
(tests/fixtures/engines.py), so there it always runs.
"""

import http.cookiejar
import json
import random
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, select

from judging import create_app
from judging.extensions import db
from judging.models import AuditEvent, Award, Base, Evaluation, JuryMember, User
from judging.services.audit import first_broken_event
from judging.services.seeding import read_shortlist, seed_shortlist

from .fixtures.app import FAST_ARGON2
from .fixtures.domain import PASSWORD, PASSWORD_HASH, SHORTLIST
from .servers import SECRET, gunicorns

REDIS_URL = "redis://127.0.0.1:6379/13"
NOMINEE = "gaming-club"
EVALUATION = f"/api/v1/awards/excellence-award/nominees/{NOMINEE}/my-evaluation"
TABS, SAVES = 4, 6  # autosaving tabs (half on each process), saves per tab


@pytest.fixture(scope="module")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed for this test and is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="module")
def cluster(postgres, redis_url, tmp_path_factory):
    """(database URL, [server A, server B]): one fresh PostgreSQL database holding the award
    and a few users, two gunicorn processes on it, both counting in one Redis.

    TRUSTED_PROXIES=1, as behind a load balancer: each test sends X-Forwarded-For addresses of
    its own, so its per-address counters are its own, whoever else uses this Redis."""
    url = postgres.create()
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    directory = tmp_path_factory.mktemp("scale-out")
    with gunicorns(
        2, url, directory, workers=1, threads=8, REDIS_URL=redis_url, TRUSTED_PROXIES="1"
    ) as servers:
        yield url, servers


@pytest.fixture
def database(cluster):
    """An app context on the cluster's database, for arranging rows and reading them back."""
    app = create_app(
        {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": cluster[0], **FAST_ARGON2},
        instance_path=str(cluster[1][0].log.parent / "checker"),
    )
    with app.app_context():
        if db.session.scalar(select(Award).where(Award.slug == "excellence-award")) is None:
            seed_shortlist(read_shortlist(SHORTLIST), actor=None)
            db.session.commit()
        yield
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def servers(cluster, database):
    return cluster[1]


def new_user(*, scoring: bool = False) -> User:
    """A juror with PASSWORD and a unique address (Redis outlives the test database)."""
    award = db.session.scalar(select(Award).where(Award.slug == "excellence-award"))
    if scoring and award.status != "scoring":
        award.status = "scoring"
    tag = uuid.uuid4().hex[:12]
    user = User(email=f"juror-{tag}@example.org", name=f"Juror {tag}", role="juror")
    user.password_hash = PASSWORD_HASH
    db.session.add(user)
    db.session.flush()
    db.session.add(JuryMember(award_id=award.id, user_id=user.id))
    db.session.commit()
    return user


def client_address() -> str:
    """A client address as the load balancer reports it, random enough to be this test's own
    (Redis keeps counters for 15 minutes, across test runs)."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@dataclass
class Answer:
    status: int
    body: str
    headers: dict

    @property
    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One browser: its own cookie jar (cookies are per host, not per port: one jar serves both
    processes, as one cookie serves every host behind a load balancer), redirects not followed.
    """

    def __init__(self, address: str | None = None):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )
        # The load balancer's header: with TRUSTED_PROXIES=1 the app counts by this address.
        self.address = address or client_address()

    def copy(self) -> "Browser":
        """Another browser holding a copy of this one's cookies (a second tab, or a thief)."""
        other = Browser(self.address)
        for cookie in self.jar:
            other.jar.set_cookie(cookie)
        return other

    def request(self, method: str, url: str, *, form=None, json_body=None, headers=None):
        headers = {"X-Forwarded-For": self.address, **(headers or {})}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, response.read().decode(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(), dict(error.headers))

    def csrf_token(self, url: str) -> str:
        page = self.request("GET", url).body
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def log_in(self, server, user: User, password: str = PASSWORD) -> Answer:
        form = {
            "email": user.email,
            "password": password,
            "csrf_token": self.csrf_token(server.url + "/login"),
        }
        return self.request("POST", server.url + "/login", form=form)


def test_failed_logins_are_counted_across_processes(servers):
    """LOGIN_LIMIT_PER_ACCOUNT (5 per 15 minutes): five failures, alternating between the
    processes, lock the account on both."""
    a, b = servers
    user, other = new_user(), new_user()
    browser = Browser()
    for attempt in range(5):
        answer = browser.log_in(servers[attempt % 2], user, "not the password!")
        assert answer.status == 422, answer.status
        assert "do not match an account" in answer.body
    for server in (a, b):
        refused = browser.log_in(server, user)  # even the right password now waits
        assert refused.status == 429
        assert int(refused.headers["Retry-After"]) > 0
    # Counted per account: someone else, from the same address, is not locked out.
    assert browser.log_in(b, other).status == 302


def test_failures_from_one_address_are_counted_across_processes(servers):
    """LOGIN_LIMIT_PER_IP (20 per 15 minutes): 20 failures on 20 accounts (none reaches its
    own limit), alternating between processes, stop the address on both; another address,
    as the load balancer reports it, still logs in."""
    users = [new_user() for _ in range(21)]
    browser = Browser()
    for n, user in enumerate(users[:20]):
        assert browser.log_in(servers[n % 2], user, "not the password!").status == 422
    for server in servers:
        assert browser.log_in(server, users[20]).status == 429
    assert Browser().log_in(servers[0], users[20]).status == 302


def test_a_session_made_on_one_process_works_on_the_other(servers):
    a, b = servers
    user = new_user()
    browser = Browser()
    assert browser.log_in(a, user).status == 302
    dashboard = browser.request("GET", b.url + "/jury/")
    assert dashboard.status == 200
    assert "My evaluations" in dashboard.body
    assert user.name in dashboard.body

    # The CSRF token of a page served by A is good for a form posted to B.
    stolen = browser.copy()
    token = browser.csrf_token(a.url + "/jury/")
    assert browser.request("POST", b.url + "/logout", form={"csrf_token": token}).status == 302
    assert browser.request("GET", a.url + "/jury/").status == 302  # this browser: logged out
    # A copy of the cookie taken before the logout is dead on both processes.
    for server in (a, b):
        answer = stolen.request("GET", server.url + "/jury/")
        assert answer.status == 302
        assert "/login" in answer.headers["Location"]


def test_autosaves_through_both_processes_lose_no_acknowledged_write(servers):
    user = new_user(scoring=True)
    first = Browser()
    assert first.log_in(servers[0], user).status == 302
    token = first.csrf_token(servers[0].url + "/jury/")  # kept in the session's cookie
    tabs = [first.copy() for _ in range(TABS)]  # one juror, many tabs, one session
    headers = {"X-CSRFToken": token}
    barrier = threading.Barrier(TABS)

    def autosave(number: int) -> tuple[list[tuple[int, dict]], list[int]]:
        """Read, change, write; on a conflict, write again over the version it returned."""
        tab, url = tabs[number], servers[number % 2].url + EVALUATION
        acknowledged, statuses = [], []
        barrier.wait(timeout=30)
        for save in range(SAVES):
            content = {
                "scores": {"impact": 1 + (number + save) % 10},
                "comment": f"tab {number}, save {save}",
                "submitted": False,
            }
            version = tab.request("GET", url).json["version"]
            while True:
                answer = tab.request(
                    "PUT", url, json_body={**content, "version": version}, headers=headers
                )
                statuses.append(answer.status)
                if answer.status == 200:
                    acknowledged.append((answer.json["version"], content))
                    break
                if answer.status != 409:
                    return acknowledged, statuses  # unexpected; the status check reports it
                version = answer.json["current"]["version"]
        return acknowledged, statuses

    with ThreadPoolExecutor(TABS) as pool:
        results = list(pool.map(autosave, range(TABS)))

    statuses = [s for _, tab_statuses in results for s in tab_statuses]
    assert set(statuses) <= {200, 409}, statuses
    assert 409 in statuses  # the tabs did race
    acknowledged = dict(ack for acks, _ in results for ack in acks)
    versions = sorted(version for acks, _ in results for version, _ in acks)
    total = TABS * SAVES
    assert versions == list(range(1, total + 1))  # every write acknowledged once, no gaps

    # A stale version is refused on either process, whatever the other one wrote.
    for server in servers:
        stale = tabs[0].request(
            "PUT",
            server.url + EVALUATION,
            json_body={"scores": {}, "comment": "stale", "submitted": False, "version": 1},
            headers=headers,
        )
        assert stale.status == 409
        assert stale.json["current"]["version"] == total

    db.session.expire_all()
    evaluation = db.session.scalar(select(Evaluation).where(Evaluation.juror_id == user.id))
    assert evaluation.version == total
    last = acknowledged[total]
    assert evaluation.comment == last["comment"]
    assert {s.criterion.slug: s.value for s in evaluation.scores} == last["scores"]
    # The audit log's hash chain is one chain, though two processes appended to it at once.
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert first_broken_event(events) is None
    saved = [e for e in events if e.action == "evaluation.saved" and e.actor_id == user.id]
    assert len(saved) == total
    # Both processes read back the last acknowledged write.
    for server in servers:
        assert tabs[0].request("GET", server.url + EVALUATION).json["comment"] == last["comment"]
