"""Faults survived: a gunicorn worker killed mid-burst, PostgreSQL restarted under load, and a
database that refuses writes. Real gunicorn processes, real PostgreSQL, a real browser.

Every acknowledged write must be in the database with the acknowledged content; no evaluation
may hold a mix of two saves; a request that failed must have failed visibly (a dropped
connection or a 5xx, never a false 2xx); and the app must recover by itself.
"""

import glob
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from judging import create_app
from judging.errors import DATABASE_REFUSED, database_refused
from judging.extensions import db
from judging.models import (
    AuditEvent,
    Award,
    Ballot,
    Base,
    Criterion,
    Evaluation,
    JuryMember,
    Nominee,
    Score,
    User,
)
from judging.services import voting
from judging.services.seeding import read_shortlist, seed_shortlist

from .fixtures.app import FAST_ARGON2
from .fixtures.domain import PASSWORD, PASSWORD_HASH, ROOT, SHORTLIST
from .servers import free_port

SECRET = "test-secret-key-not-for-production"
AWARD, VOTE_AWARD = "excellence-award", "people-vote"
REQUEST_TIMEOUT_S = 10  # a client gives up after this: a hang would show as a timeout


# --- Servers and data ------------------------------------------------------------------------


class Gunicorn:
    """A gunicorn master with its workers, on a free port, logging to a file of its own."""

    def __init__(self, database_url: str, workdir: Path, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "gunicorn.log"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "CI")}
        env.update(
            DATABASE_URL=database_url,
            SECRET_KEY=SECRET,
            JUDGING_ENV="development",
            JUDGING_INSTANCE_PATH=str(workdir / "instance"),
        )
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", "wsgi:app"),
                    *("--workers", str(workers), "--threads", str(threads)),
                    *("--bind", f"127.0.0.1:{self.port}", "--timeout", "30"),
                    *("--graceful-timeout", "5", "--log-level", "warning"),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_until_serving(workers)

    def wait_until_serving(self, workers: int, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).close()
                if len(self.workers()) == workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start: {self.log.read_text()[-2000:]}")

    def workers(self) -> set[int]:
        """The master's children: its worker processes."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in path.read_text().split()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Scene:
    """What the tests act on: jurors' emails, criteria and nominee slugs, ballot codes."""

    url: str
    jurors: list[str]
    criteria: list[str]
    nominees: list[str]
    codes: list[str] = field(default_factory=list)


def prepare(url: str, tmp_path: Path, *, jurors: int, codes: int = 0) -> Scene:
    """The tables, the award open for scoring with its jurors, and (with codes) a second award
    open for voting, whose one-time codes are returned."""
    app = create_app(
        {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, **FAST_ARGON2},
        instance_path=str(tmp_path / "setup"),
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
        shortlist = read_shortlist(SHORTLIST)
        seed_shortlist(shortlist, actor=None)
        award = db.session.scalar(select(Award).where(Award.slug == AWARD))
        award.status = "scoring"
        emails = [f"juror{n}@faults.example.org" for n in range(jurors)]
        for email in emails:
            user = User(email=email, name=email, role="juror", password_hash=PASSWORD_HASH)
            db.session.add(user)
            db.session.flush()
            db.session.add(JuryMember(award_id=award.id, user_id=user.id))
        scene = Scene(
            url,
            emails,
            [c.slug for c in award.criteria],
            [n.slug for n in award.nominees],
        )
        if codes:
            shortlist["award"] = {
                **shortlist["award"],
                "slug": VOTE_AWARD,
                "title": "People's vote",
            }
            seed_shortlist(shortlist, actor=None)
            vote = db.session.scalar(select(Award).where(Award.slug == VOTE_AWARD))
            vote.status = "voting"
            db.session.flush()
            scene.codes = voting.generate_codes(vote, codes, actor=None)
        db.session.commit()
        db.engine.dispose()
    return scene


# --- Clients ---------------------------------------------------------------------------------


@dataclass
class Answer:
    """One request as the client saw it: status None when the connection failed."""

    method: str
    path: str
    started: float
    seconds: float
    status: int | None
    body: dict | str | None
    error: str = ""


class Client:
    """One browser: its own cookies and CSRF token, against one server."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = ""

    def call(self, method: str, path: str, body: dict | None = None, form: dict | None = None):
        headers = {"X-CSRFToken": self.token}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            self.base + path, data=data, headers=headers, method=method
        )
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                status, raw, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, kind = error.code, error.read(), error.headers
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out
            return Answer(
                method, path, started, time.monotonic() - started, None, None, repr(error)
            )
        seconds = time.monotonic() - started
        if "json" in kind.get("Content-Type", ""):
            return Answer(method, path, started, seconds, status, json.loads(raw or b"{}"))
        return Answer(method, path, started, seconds, status, raw.decode(errors="replace"))

    def log_in(self, email: str) -> None:
        page = self.call("GET", "/login").body
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        answer = self.call(
            "POST", "/login", form={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status == 200, answer
        page = self.call("GET", "/jury/").body
        assert "My evaluations" in page, page[:500]
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


CSRF_META = r'name="csrf-token" content="([^"]+)"'


def body_for(juror: int, nominee: str, k: int, criteria: list[str]) -> dict:
    """The k-th save of one evaluation: every score and the comment name k, so a stored mix of
    two saves cannot pass for either."""
    return {
        "scores": {c: 1 + (3 * k + i) % 10 for i, c in enumerate(criteria)},
        "comment": f"juror {juror} on {nominee}, save {k}",
        "submitted": False,
    }


@dataclass
class EvaluationLog:
    """What one client sent and was told about one evaluation."""

    juror: int
    nominee: str
    version: int = 0
    sent: dict[int, dict] = field(default_factory=dict)  # k -> body
    acknowledged: list[tuple[int, int]] = field(default_factory=list)  # (k, version)
    unanswered: list[int] = field(default_factory=list)  # k of saves that failed


class Autosaver:
    """A juror's page saving evaluations as an autosave does: PUT with the version it holds;
    after a failure, reload the evaluation (GET) to learn the version, as the page would."""

    def __init__(self, client: Client, juror: int, scene: Scene, answers: list[Answer]):
        self.client, self.juror, self.scene, self.answers = client, juror, scene, answers
        self.logs = {n: EvaluationLog(juror, n) for n in scene.nominees}
        self.false_acks: list[str] = []
        self.internal_errors: list[dict] = []  # bodies of saves answered 500

    def path(self, nominee: str) -> str:
        return f"/api/v1/awards/{AWARD}/nominees/{nominee}/my-evaluation"

    def save(self, nominee: str) -> Answer:
        log = self.logs[nominee]
        k = len(log.sent) + 1
        body = body_for(self.juror, nominee, k, self.scene.criteria)
        log.sent[k] = body
        answer = self.client.call("PUT", self.path(nominee), {**body, "version": log.version})
        self.answers.append(answer)
        if answer.status == 200:
            got = answer.body
            if got["scores"] != body["scores"] or got["comment"] != body["comment"]:
                self.false_acks.append(f"{nominee} save {k}: acknowledged {got}")
            log.version = got["version"]
            log.acknowledged.append((k, log.version))
        elif answer.status == 409 and isinstance(answer.body, dict) and "current" in answer.body:
            log.version = answer.body["current"]["version"]
        else:
            log.unanswered.append(k)
            if answer.status == 500:
                self.internal_errors.append(body)
            self.resync(nominee)
        return answer

    def resync(self, nominee: str, patience: float = 30) -> None:
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            answer = self.client.call("GET", self.path(nominee))
            self.answers.append(answer)
            if answer.status == 200:
                self.logs[nominee].version = answer.body["version"]
                return
            time.sleep(0.2)
        raise AssertionError(f"{nominee}: the server did not come back within {patience} s")


def logged_in_savers(server: Gunicorn, scene: Scene, answers: list[Answer]) -> list[Autosaver]:
    """One logged-in autosaving page per juror (logged in side by side: it is quicker)."""
    clients = [Client(server.url) for _ in scene.jurors]
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(Client.log_in, clients, scene.jurors))
    return [Autosaver(client, n, scene, answers) for n, client in enumerate(clients)]


def check_evaluations(url: str, savers: list[Autosaver], scene: Scene) -> dict:
    """Every acknowledged save is in the audit ledger with its content and version; every stored
    evaluation is exactly one save (the last acknowledged, or a later unanswered one); none has
    a partial set of scores. Returns counts for the report."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            jurors = dict(connection.execute(select(User.email, User.id)).all())
            nominees = dict(
                connection.execute(
                    select(Nominee.slug, Nominee.id).join(Award).where(Award.slug == AWARD)
                ).all()
            )
            slugs = dict(connection.execute(select(Criterion.id, Criterion.slug)).all())
            rows = {
                (e.juror_id, e.nominee_id): e
                for e in connection.execute(
                    select(
                        Evaluation.id,
                        Evaluation.juror_id,
                        Evaluation.nominee_id,
                        Evaluation.version,
                        Evaluation.comment,
                    )
                )
            }
            scores: dict[int, dict[str, int]] = {}
            for evaluation_id, criterion_id, value in connection.execute(
                select(Score.evaluation_id, Score.criterion_id, Score.value)
            ):
                scores.setdefault(evaluation_id, {})[slugs[criterion_id]] = value
            ledger = {}
            for subject, payload in connection.execute(
                select(AuditEvent.subject, AuditEvent.payload).where(
                    AuditEvent.action.like("evaluation.%")
                )
            ):
                data = json.loads(payload)
                if "version" in data:
                    ledger[(subject, data["version"])] = data["after"]
    finally:
        engine.dispose()

    acknowledged = landed_unanswered = 0
    for saver in savers:
        juror_id = jurors[scene.jurors[saver.juror]]
        for nominee, log in saver.logs.items():
            if not log.sent:
                continue
            row = rows.get((juror_id, nominees[nominee]))
            if not log.acknowledged:
                assert row is None or row.comment in {b["comment"] for b in log.sent.values()}
                continue
            assert row is not None, f"{nominee}: acknowledged saves, no evaluation stored"
            for k, version in log.acknowledged:
                acknowledged += 1
                after = ledger.get((f"evaluation:{row.id}", version))
                assert after is not None, f"{nominee} save {k} (v{version}) is not in the ledger"
                assert after["scores"] == log.sent[k]["scores"], (nominee, k, after)
                assert after["comment"] == log.sent[k]["comment"], (nominee, k, after)
            last_k, last_version = log.acknowledged[-1]
            stored_k = next((k for k, b in log.sent.items() if b["comment"] == row.comment), None)
            assert stored_k is not None, f"{nominee}: stored comment {row.comment!r} never sent"
            assert scores.get(row.id) == log.sent[stored_k]["scores"], (
                f"{nominee}: a half-written evaluation: scores {scores.get(row.id)} "
                f"with the comment of save {stored_k}"
            )
            assert row.version >= last_version
            if stored_k != last_k:
                # Only a later save whose answer was lost may stand over the acknowledged one.
                assert stored_k > last_k and stored_k in log.unanswered, (nominee, stored_k, log)
                landed_unanswered += 1
    # A save answered 500 (none is expected) must at least not have been lost half-way.
    in_ledger = {after["comment"] for after in ledger.values()}
    for saver in savers:
        for body in saver.internal_errors:
            assert body["comment"] in in_ledger, f"a 500 for a save that was not written: {body}"
    return {"acknowledged saves": acknowledged, "landed without an answer": landed_unanswered}


# --- (a) A worker killed in the middle of a burst ----------------------------------------------

JURORS, BALLOT_CLIENTS, CODES = 6, 4, 240
KILLS_AT = (1.0, 3.0)  # seconds into the burst
BURST_S = 4.5
MIN_REQUESTS = 150


def test_a_worker_killed_mid_burst_loses_no_acknowledged_write(postgres, tmp_path):
    url = postgres.create()
    scene = prepare(url, tmp_path, jurors=JURORS, codes=CODES)
    server = Gunicorn(url, tmp_path)
    answers: list[Answer] = []
    try:
        savers = logged_in_savers(server, scene, answers)
        stop = threading.Event()

        def autosave(saver: Autosaver) -> None:
            while not stop.is_set():
                for nominee in scene.nominees:
                    if stop.is_set():
                        break
                    saver.save(nominee)

        ballots = {"acknowledged": [], "landed without an answer": 0, "refused": []}
        codes = list(scene.codes)
        lock = threading.Lock()

        def vote(i: int) -> None:
            client = Client(server.url)
            for _attempt in range(20):  # the ballot page's token; its worker may be the one killed
                page = client.call("GET", f"/vote/{VOTE_AWARD}").body
                if isinstance(page, str) and (found := re.search(CSRF_META, page)):
                    client.token = found.group(1)
                    break
                time.sleep(0.25)
            else:
                raise AssertionError(f"the ballot page never loaded: {page!r}")
            while not stop.is_set():
                with lock:
                    if not codes:
                        return
                    code = codes.pop()
                failed = False
                for _attempt in range(20):
                    answer = client.call(
                        "POST",
                        f"/api/v1/awards/{VOTE_AWARD}/ballots",
                        {"code": code, "nominee": scene.nominees[i % len(scene.nominees)]},
                    )
                    answers.append(answer)
                    if answer.status == 201:
                        ballots["acknowledged"].append(answer.body["receipt"])
                        break
                    if answer.status == 409 and failed and "already been used" in str(answer.body):
                        ballots["landed without an answer"] += 1  # the lost answer's ballot
                        break
                    if answer.status is not None and answer.status < 500:
                        ballots["refused"].append(answer)
                        break
                    failed = True
                    time.sleep(0.1)
                time.sleep(0.01)  # a hall of voters, not a flood

        before = server.workers()
        killed = []
        with ThreadPoolExecutor(JURORS + BALLOT_CLIENTS) as pool:
            started = time.monotonic()
            futures = [pool.submit(autosave, saver) for saver in savers]
            futures += [pool.submit(vote, i) for i in range(BALLOT_CLIENTS)]
            for at in KILLS_AT:
                time.sleep(max(0, started + at - time.monotonic()))
                victim = sorted(server.workers() - set(killed))[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            # At least BURST_S, longer on a slow machine until enough has been sent.
            while time.monotonic() < started + BURST_S or (
                len(answers) < MIN_REQUESTS and time.monotonic() < started + 4 * BURST_S
            ):
                time.sleep(0.1)
            stop.set()
            for future in futures:
                future.result()
        server.wait_until_serving(2)  # gunicorn replaced the killed workers by itself
        after = server.workers()
    finally:
        server.stop()

    assert set(killed) <= before | set(killed) and not set(killed) & after
    assert len(after) == 2
    failed = [a for a in answers if a.status is None or a.status >= 500]
    unexpected = [
        a
        for a in answers
        if a.status is not None and a.status < 500 and a.status not in (200, 201, 409)
    ]
    assert not unexpected, unexpected[:5]
    assert not ballots["refused"], ballots["refused"][:5]
    for saver in savers:
        assert not saver.false_acks, saver.false_acks
    evaluation_counts = check_evaluations(url, savers, scene)

    engine = create_engine(url)
    with engine.connect() as connection:
        stored = set(
            connection.scalars(
                select(Ballot.receipt)
                .join(Award, Award.id == Ballot.award_id)
                .where(Award.slug == VOTE_AWARD)
            )
        )
    engine.dispose()
    acknowledged = ballots["acknowledged"]
    assert len(set(acknowledged)) == len(acknowledged)
    assert set(acknowledged) <= stored, "an acknowledged ballot is missing"
    assert len(stored) == len(acknowledged) + ballots["landed without an answer"]

    report = {
        "faults injected (SIGKILL)": len(killed),
        "requests": len(answers),
        "failed visibly (dropped or 5xx)": len(failed),
        "saves sent": sum(len(log.sent) for s in savers for log in s.logs.values()),
        **evaluation_counts,
        "ballots acknowledged": len(acknowledged),
        "ballots landed without an answer": ballots["landed without an answer"],
        "ballots stored": len(stored),
    }
    print("\nworker killed mid-burst:", json.dumps(report, indent=1))
    assert evaluation_counts["acknowledged saves"] >= 30, "the burst barely ran"
    assert failed, "no request was in flight when a worker died: the test proved nothing"


# --- (b) PostgreSQL restarted during a load run ------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:  # never a skip: a missing server must fail the run (CI included)
        pytest.fail(f"no {name} under /usr/lib/postgresql/*/bin: apt-get install postgresql")
    return found[-1]


class PrivateCluster:
    """A PostgreSQL cluster of the test's own, on a free port, so that restarting it disturbs
    nobody else. Run as the postgres user when the tests run as root."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="judging-pg-"))
        self.data, self.port = self.dir / "data", free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.run(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE judging"))
        admin.dispose()

    def run(self, *command: str) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True, timeout=60)

    def url(self, database: str = "judging") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self.run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_cluster():
    cluster = PrivateCluster()
    yield cluster
    cluster.remove()


def test_postgresql_restart_gives_clear_errors_and_the_app_recovers_alone(
    private_cluster, tmp_path
):
    url = private_cluster.url()
    scene = prepare(url, tmp_path, jurors=2)
    server = Gunicorn(url, tmp_path)
    answers: list[Answer] = []
    stop = threading.Event()
    outage = {}
    try:
        savers = logged_in_savers(server, scene, answers)
        readers = [Client(server.url) for _ in range(2)]
        readers[1].log_in(scene.jurors[0])
        workers = server.workers()

        def autosave(saver: Autosaver) -> None:
            while not stop.is_set():
                for nominee in scene.nominees:
                    if stop.is_set():
                        break
                    saver.save(nominee)
                    time.sleep(0.02)

        def read(i: int) -> None:
            paths = [
                f"/api/v1/awards/{AWARD}/nominees",
                f"/api/v1/awards/{AWARD}/nominees/{scene.nominees[0]}/my-evaluation",
            ]
            while not stop.is_set():
                answers.append(readers[i].call("GET", paths[i]))
                time.sleep(0.05)

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(autosave, s) for s in savers]
            futures += [pool.submit(read, i) for i in range(2)]
            time.sleep(1.0)
            outage["down"] = time.monotonic()
            private_cluster.stop("fast")
            time.sleep(2)
            private_cluster.start()
            outage["up"] = time.monotonic()
            time.sleep(2.5)
            stop.set()
            for future in futures:
                future.result()
        assert server.workers() == workers, "a worker was replaced: the app did not recover alone"
        assert server.process.poll() is None
    finally:
        stop.set()
        server.stop()

    down, up = outage["down"], outage["up"]
    during = [a for a in answers if down <= a.started <= up]
    refused = [a for a in answers if a.status is not None and a.status >= 500]
    dropped = [a for a in answers if a.status is None]
    assert not dropped, f"clients got no answer at all: {dropped[:3]}"
    assert len(refused) >= 5, f"the outage was not seen ({len(during)} requests during it)"
    for answer in refused:
        assert answer.status == 503, answer
        assert answer.body["message"] == DATABASE_REFUSED, answer
    slowest = max(a.seconds for a in answers)
    assert slowest < 5, f"a request took {slowest:.1f} s: clients must not hang"
    unexpected = [a for a in answers if a.status not in (200, 409, 503)]
    assert not unexpected, unexpected[:3]
    # After the restart, without touching gunicorn: the last second is all successes, and the
    # first success came within 5 s of the database being back.
    end = max(a.started for a in answers)
    assert all(a.status == 200 for a in answers if a.started > end - 1)
    first_ok = min(a.started for a in answers if a.started > up and a.status == 200)
    assert first_ok - up < 5
    counts = check_evaluations(url, savers, scene)
    print(
        "\npostgresql restarted:",
        json.dumps(
            {
                "outage (s)": round(up - down, 1),
                "requests": len(answers),
                "requests during the outage": len(during),
                "503 with the message": len(refused),
                "slowest answer (s)": round(slowest, 2),
                "first success after restart (s)": round(first_ok - up, 2),
                **counts,
            },
            indent=1,
        ),
    )


# --- (c) A database that refuses writes --------------------------------------------------------


def set_read_only(url: str, read_only: bool) -> None:
    """As after a failover to a replica: every new session is read-only, and the app's
    existing connections are cut so that its pool reconnects."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        value = "on" if read_only else "off"
        connection.execute(
            text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
        )
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
    admin.dispose()


def stored_evaluation(url: str, nominee: str) -> tuple | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            select(Evaluation.id, Evaluation.version, Evaluation.comment)
            .join(Nominee, Nominee.id == Evaluation.nominee_id)
            .where(Nominee.slug == nominee)
        ).first()
        values = (
            sorted(connection.scalars(select(Score.value).where(Score.evaluation_id == row.id)))
            if row
            else []
        )
        events = connection.scalar(select(text("count(*)")).select_from(AuditEvent))
    engine.dispose()
    return (row.version, row.comment, values, events) if row else None


@pytest.fixture
def read_only_scene(postgres, tmp_path):
    url = postgres.create()
    scene = prepare(url, tmp_path, jurors=1)
    yield scene
    set_read_only(url, False)


def app_on(scene: Scene, tmp_path: Path):
    """The app in this process, on the scene's database (as a worker would be)."""
    return create_app(
        {
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": scene.url,
            "DEVELOPMENT": True,
            **FAST_ARGON2,
            "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        },
        instance_path=str(tmp_path / "app"),
    )


def test_a_read_only_database_refuses_writes_clearly_and_reads_go_on(read_only_scene, tmp_path):
    scene = read_only_scene
    app = app_on(scene, tmp_path)
    from .fixtures.app import IsolatedClient
    from .fixtures.domain import csrf_token

    app.test_client_class = IsolatedClient
    client = app.test_client()
    nominee = scene.nominees[0]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == scene.jurors[0]))
        from .fixtures.domain import log_in

        assert log_in(client, user).status_code == 302
    token = csrf_token(client, "/jury/")
    api = f"/api/v1/awards/{AWARD}/nominees/{nominee}/my-evaluation"
    first = body_for(0, nominee, 1, scene.criteria)
    assert (
        client.put(api, json={**first, "version": 0}, headers={"X-CSRFToken": token}).json[
            "version"
        ]
        == 1
    )
    before = stored_evaluation(scene.url, nominee)

    set_read_only(scene.url, True)
    second = body_for(0, nominee, 2, scene.criteria)
    response = client.put(api, json={**second, "version": 1}, headers={"X-CSRFToken": token})
    assert response.status_code == 503
    assert response.json["message"] == DATABASE_REFUSED
    assert "your input is kept on this device" in response.json["message"]
    assert response.headers["Retry-After"] == "30"
    # Reads go on: the API and the juror's page show the last saved version.
    assert client.get(api).json["comment"] == first["comment"]
    page = client.get(f"/jury/awards/{AWARD}/nominees/{nominee}")
    assert page.status_code == 200 and first["comment"] in page.get_data(as_text=True)
    # The same form without JavaScript: a readable page, not a traceback.
    form = {"csrf_token": token, "version": "1", "comment": "typed offline", "action": "draft"}
    form.update({f"score-{c}": "5" for c in scene.criteria})
    response = client.post(f"/jury/awards/{AWARD}/nominees/{nominee}", data=form)
    text_ = response.get_data(as_text=True)
    assert response.status_code == 503 and "text/html" in response.content_type
    assert "not accepting changes right now" in text_ and "Go back" in text_
    assert "Traceback" not in text_
    assert stored_evaluation(scene.url, nominee) == before, "a refused write changed something"

    set_read_only(scene.url, False)
    response = client.put(api, json={**second, "version": 1}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json["version"] == 2
    with app.app_context():
        db.engine.dispose()


def test_a_read_only_sqlite_database_gets_the_same_clear_refusal(tmp_path):
    """SQLite's own refusal (a read-only database file) gets the same 503."""
    from sqlalchemy import event

    from .fixtures.app import IsolatedClient
    from .fixtures.domain import csrf_token, log_in

    url = f"sqlite:///{tmp_path / 'judging.sqlite'}"
    scene = prepare(url, tmp_path, jurors=1)
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "DEVELOPMENT": True,
            **FAST_ARGON2,
            "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        },
        instance_path=str(tmp_path / "app"),
    )
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == scene.jurors[0]))
        assert log_in(client, user).status_code == 302
        token = csrf_token(client, "/jury/")
        nominee = scene.nominees[0]
        api = f"/api/v1/awards/{AWARD}/nominees/{nominee}/my-evaluation"
        body = body_for(0, nominee, 1, scene.criteria)

        def refuse(connection, _record):
            connection.execute("PRAGMA query_only = ON")  # SQLITE_READONLY on every write

        event.listen(db.engine, "connect", refuse)
        db.engine.dispose()
        response = client.put(api, json={**body, "version": 0}, headers={"X-CSRFToken": token})
        assert response.status_code == 503, response.get_data(as_text=True)[:300]
        assert response.json["message"] == DATABASE_REFUSED
        assert client.get(api).json["version"] == 0  # reads go on; nothing was half-saved
        event.remove(db.engine, "connect", refuse)
        db.engine.dispose()
        response = client.put(api, json={**body, "version": 0}, headers={"X-CSRFToken": token})
        assert response.status_code == 200 and response.json["version"] == 1
        # A bug is not an outage: SQLite's "no such table" stays a 500, never this 503.
        with pytest.raises(DBAPIError) as missing:
            db.session.execute(text("SELECT * FROM no_such_table"))
        db.session.rollback()
        assert not database_refused(missing.value)
        db.engine.dispose()


@pytest.mark.browser
def test_a_juror_typing_while_the_database_refuses_writes_loses_nothing(
    read_only_scene, browser, tmp_path
):
    """The page says plainly that nothing could be saved, keeps the typed scores and comment
    (in the form and, through a reload, in the browser's storage), and saves them by itself
    once the database accepts writes again."""
    from playwright.sync_api import expect
    from werkzeug.serving import make_server

    scene = read_only_scene
    app = app_on(scene, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(scene.jurors[0])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page).to_have_url(f"{base}/jury/")
        nominee = scene.nominees[1]
        page.goto(f"{base}/jury/awards/{AWARD}/nominees/{nominee}")
        expect(page.locator("#evaluation-form")).to_be_visible()

        set_read_only(scene.url, True)
        typed = dict(zip(scene.criteria, [7, 4, 9, 6, 8], strict=True))
        comment = "Typed while the database was read-only: must not be lost."
        for slug, value in typed.items():
            page.locator(f"#criterion-{slug} .scale-option").filter(
                has_text=re.compile(rf"^\s*{value}\s*$")
            ).click()
        page.get_by_label("Overall comment").fill(comment)
        status = page.locator("#save-status")
        expect(status).to_contain_text("The database is not accepting changes right now")
        expect(status).to_contain_text("your input is kept on this device")
        expect(status).to_have_class(re.compile("is-error"))
        page.screenshot(path=str(tmp_path / "read-only-database.png"), full_page=False)
        if shot := os.environ.get("FAULTS_SCREENSHOT"):
            page.screenshot(path=shot)

        def expect_typed() -> None:
            for slug, value in typed.items():
                box = page.locator(f"#criterion-{slug}")
                expect(box.get_by_role("radio", name=str(value), exact=True)).to_be_checked()
            expect(page.get_by_label("Overall comment")).to_have_value(comment)

        expect_typed()
        key = page.locator("#evaluation-form").get_attribute("data-draft-key")
        kept = page.evaluate("key => JSON.parse(localStorage.getItem(key))", key)
        assert kept["content"]["comment"] == comment and kept["content"]["scores"] == typed
        assert stored_evaluation(scene.url, nominee) is None  # nothing half-saved

        page.reload()  # reading still works: the page comes back with the typed input
        expect_typed()
        expect(status).to_contain_text("The database is not accepting changes right now")

        set_read_only(scene.url, False)
        expect(status).to_contain_text("Saved at", timeout=30_000)
        page.wait_for_function("key => localStorage.getItem(key) === null", arg=key)
        _version, saved_comment, values, _events = stored_evaluation(scene.url, nominee)
        assert saved_comment == comment and values == sorted(typed.values())
    finally:
        context.close()
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine.dispose()
