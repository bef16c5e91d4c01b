"""A ceremony's peak (issue 17): 1,000 attendees vote from printed cards at 20 a second.

    python bench/ceremony_bench.py --database-url URL [--ballots 1000] [--rate 20]
        [--api-ballots 1000] [--online-rate 5] [--online-seconds 30] [--top-n N]

A throw-away PostgreSQL database `bench_*` (dropped at the end) holds the seeded award four
times over with the demo jury's scores, each open for the vote with printed one-time codes:
one for the warm-up, one for the cards, one for the API, one for the online vote. The app runs
under gunicorn as http_bench.py runs it (2 workers, gthread, 4 threads), with
REDIS_URL=redis://127.0.0.1:6379/11 (rate-limit counters shared by both processes; the
database is flushed before and after) and its request log as JSON lines in a file.

**Cards.** Each attendee is started at its own time, `i / rate` seconds after the first
(open loop: nobody waits for anybody's answer), from the same address (a venue's Wi-Fi), on
its own keep-alive connection and cookie jar, and goes through the card's flow as a phone
does: GET the page the card's QR code opens (`/vote/<award>?code=...`), POST the choice
(`action=review`, with the page's CSRF token), GET the confirmation page, POST `confirm` (the
ballot is cast), GET the receipt. `--api-ballots` more go to `POST /api/v1/awards/<award>/
ballots` (a JSON body, no session), at the same rate. Afterwards the database must hold
exactly one ballot per attendee, and the tally per nominee must be the attendees' choices.

**Online.** `--online-rate` voters a second for `--online-seconds` ask for a link by email
(`/vote/<award>/online`: the page queues the mail in the outbox; `flask mail send` runs beside
gunicorn and delivers it), get it from a real SMTP server on loopback (aiosmtpd), open it on
a new connection and vote (review, confirm, receipt). Online voters come from their own
addresses: the app runs with TRUSTED_PROXIES=1 and each voter sends its own
`X-Forwarded-For`, as a proxy in front would. A probe then asks for links from one address,
as a venue's attendees scanning the room's online-vote QR code would (with the default
ONLINE_VOTE_LINKS_PER_IP: 429 from the 21st).

Prints a table and writes bench/out/ceremony.json: p50/p90/p99/max of every step, statuses,
the achieved rate, the server's own durations from its request log, the load average before
and after (the machine is shared). Target (issue 17): the ballot's p99 under 300 ms, no error.
"""

import argparse
import email
import email.message
import http.client
import json
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from http_bench import Server, copy_evaluations, git_commit, seed_three_awards  # noqa: E402

from judging import create_app  # noqa: E402
from judging.extensions import db  # noqa: E402
from judging.models import Award, Ballot, Base, VotingCredential  # noqa: E402
from judging.services import seeding, voting  # noqa: E402

SECRET = "ceremony-bench-secret"  # the app under gunicorn and this script hash codes alike
REDIS_URL = "redis://127.0.0.1:6379/11"  # no test uses 11 (they use 0, 13, 15)
TARGET_P99_MS = 300.0
WARM_ATTENDEES = 40  # before the measured run, on their own award: both workers warmed up
SPARE_CODES = 200  # printed but never used, as at a real ceremony
VOTE_WEIGHT = 30  # the suggestion of the vote's settings page
CARD_STEPS = ("ballot page", "review POST", "confirm page", "cast POST", "receipt page")
CARD_EXPECTED = {"ballot page": 200, "review POST": 303, "confirm page": 200, "cast POST": 303}
CARD_EXPECTED["receipt page"] = 200
ONLINE_EXPECTED = {
    "address page": 200,
    "link POST (sends mail)": 200,
    "link page": 200,
    "review POST": 303,
    "confirm page": 200,
    "cast POST": 303,
    "receipt page": 200,
}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# ---------------------------------------------------------------------------------------------
# Data


def prepare(url: str, instance: Path, args) -> dict:
    """Fill the empty database at `url`: four copies of the seeded award, open for the vote."""
    settings = {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url}
    app = create_app(settings, instance_path=str(instance))
    with app.app_context():
        Base.metadata.create_all(db.engine)
        three = seed_three_awards(app)
        shortlist = seeding.read_shortlist(app.config["SEED_PATH"])
        slug = shortlist["award"]["slug"] + "-online"
        data = {**shortlist, "award": {**shortlist["award"], "slug": slug}}
        seeding.seed_shortlist(data, actor=None)
        online = db.session.execute(select(Award).where(Award.slug == slug)).scalar_one()
        copy_evaluations(three["scoring"], online)
        awards = {
            "warm": three["scoring"],
            "cards": three["vote"],
            "api": three["published"],
            "online": online,
        }
        counts = {
            "warm": WARM_ATTENDEES * 2,
            "cards": args.ballots + SPARE_CODES,
            "api": args.api_ballots + SPARE_CODES,
            "online": 1,
        }
        codes: dict[str, list[str]] = {}
        for role, award in awards.items():
            voting.set_rules(
                award, vote_top_n=args.top_n, vote_weight=VOTE_WEIGHT, online_vote=True, actor=None
            )
            award.status = "voting"
            codes[role] = []
            while len(codes[role]) < counts[role]:
                wanted = min(voting.MAX_CODES, counts[role] - len(codes[role]))
                codes[role] += voting.generate_codes(award, wanted, actor=None)
        db.session.commit()
        found = {
            "slugs": {role: award.slug for role, award in awards.items()},
            "ids": {role: award.id for role, award in awards.items()},
            "nominees": [n.slug for n in voting.shortlist(awards["cards"])],
            "codes": codes,
        }
        db.engine.dispose()
    return found


def check_database(url: str, instance: Path, award_id: int, choices: Counter, kind: str) -> dict:
    """What the database holds for one award after a run: ballots, their credentials' kind,
    the tally, and whether it is the attendees' choices exactly."""
    settings = {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url}
    app = create_app(settings, instance_path=str(instance))
    with app.app_context():
        award = db.session.get_one(Award, award_id)
        ballots = db.session.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.award_id == award_id)
        )
        of_kind = db.session.scalar(
            select(func.count())
            .select_from(Ballot)
            .join(VotingCredential, VotingCredential.id == Ballot.credential_id)
            .where(Ballot.award_id == award_id, VotingCredential.kind == kind)
        )
        tally = voting.tally(award)
        db.engine.dispose()
    expected = sum(choices.values())
    adds_up = (
        tally["cast"] == tally["counted"] == sum(tally["votes"].values())
        and tally["votes"] == dict(choices)
        and tally["voided"] == 0
    )
    return {
        "ballots_in_database": ballots,
        "ballots_of_kind": of_kind,
        "expected": expected,
        "tally": tally,
        "exact": ballots == of_kind == expected,
        "tally_adds_up": adds_up,
    }


# ---------------------------------------------------------------------------------------------
# Clients


class Phone:
    """One voter's browser: a keep-alive connection and a cookie jar, no redirect following
    (every step is its own request, timed on its own)."""

    def __init__(self, port: int, tag: str, headers: dict | None = None):
        self.port = port
        self.tag, self.sent = tag, 0  # each request's X-Request-ID: tag-n
        self.cookies: dict[str, str] = {}
        self.headers = headers or {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, form: dict | None = None, body: bytes = b""):
        self.sent += 1
        request_id = f"{self.tag}-{self.sent}"
        headers = {"User-Agent": "ceremony-bench phone", "X-Request-ID": request_id}
        headers.update(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body or None, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # a new connection for the next request
            raise
        elapsed = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        location = response.getheader("Location") or ""
        return response.status, location, data.decode(), elapsed, request_id

    def close(self) -> None:
        self.connection.close()


class Recorder:
    """Every request's step, status and latency; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[dict] = []

    def add(
        self, voter: int, step: str, status: int | str, seconds: float, at: float, rid: str = ""
    ) -> None:
        row = {"voter": voter, "step": step, "status": status, "ms": seconds * 1000, "at": at}
        with self.lock:
            self.rows.append({**row, "request_id": rid})


class Refused(Exception):
    """A step did not answer what a voter needs to go on."""


def timed(
    recorder: Recorder, voter: int, step: str, expected: int, call: Callable[[], tuple]
) -> tuple:
    at = time.time()
    try:
        status, location, body, elapsed, rid = call()
    except (OSError, http.client.HTTPException) as exc:
        recorder.add(voter, step, type(exc).__name__, time.time() - at, at)
        raise Refused(step) from exc
    recorder.add(voter, step, status, elapsed, at, rid)
    if status != expected:
        raise Refused(f"{step}: {status}")
    return status, location, body


def card_attendee(port: int, slug: str, code: str, nominee: str, i: int, rec: Recorder) -> str:
    """One attendee's flow from the card's QR code to the receipt; returns the receipt."""
    phone = Phone(port, f"{slug}-{i}")
    try:
        query = urllib.parse.urlencode({"code": code})
        _, _, page = timed(
            rec, i, "ballot page", 200, lambda: phone.request("GET", f"/vote/{slug}?{query}")
        )
        token = CSRF.search(page)
        if token is None:
            raise Refused("no CSRF token on the ballot page")
        form = {"csrf_token": token.group(1), "code": code, "nominee": nominee}
        review = {**form, "action": "review"}
        timed(rec, i, "review POST", 303, lambda: phone.request("POST", f"/vote/{slug}", review))
        timed(rec, i, "confirm page", 200, lambda: phone.request("GET", f"/vote/{slug}/confirm"))
        confirm = {**form, "action": "confirm"}
        _, receipt_at, _ = timed(
            rec, i, "cast POST", 303, lambda: phone.request("POST", f"/vote/{slug}", confirm)
        )
        path = urllib.parse.urlsplit(receipt_at).path
        timed(rec, i, "receipt page", 200, lambda: phone.request("GET", path))
        return path.rsplit("/", 1)[1]
    finally:
        phone.close()


def api_voter(port: int, slug: str, code: str, nominee: str, i: int, rec: Recorder) -> str:
    phone = Phone(port, f"{slug}-{i}")
    try:
        body = json.dumps({"code": code, "nominee": nominee}).encode()
        path = f"/api/v1/awards/{slug}/ballots"
        _, _, answer = timed(
            rec, i, "API ballot POST", 201, lambda: phone.request("POST", path, body=body)
        )
        return json.loads(answer)["receipt"]
    finally:
        phone.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (/proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: the stat's 14th and 15th
    return total / ticks


class PhaseWatch:
    """While a phase runs: a `SELECT 1` and a one-row INSERT with its COMMIT (a WAL flush, as a
    ballot's) five times a second on a connection of its own, timed. What they take is what any
    request pays for each query and for its commit on this server at that moment (the server
    is shared with other work): the floor under the app's own durations. And the CPU time the
    gunicorn workers and this client used during the phase: the app's CPU per voter does not
    depend on the other load on the machine, the latencies do."""

    def __init__(self, url: str, workers: list[int], rate: float = 5.0):
        self.workers = workers
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with self.engine.connect() as c:
            c.execute(text("CREATE TABLE IF NOT EXISTS commit_probe (id serial PRIMARY KEY)"))
        self.rate = rate
        self.select_ms: list[float] = []
        self.commit_ms: list[float] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.engine.connect() as c:
            while not self.stopping.wait(1 / self.rate):
                started = time.perf_counter()
                c.execute(text("SELECT 1"))
                self.select_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                c.execute(text("INSERT INTO commit_probe DEFAULT VALUES"))  # autocommit
                self.commit_ms.append((time.perf_counter() - started) * 1000)

    def __enter__(self) -> "PhaseWatch":
        self.cpu = (cpu_seconds(self.workers), time.process_time(), time.perf_counter())
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        app, client, wall = self.cpu
        self.cpu = (
            cpu_seconds(self.workers) - app,
            time.process_time() - client,
            time.perf_counter() - wall,
        )
        self.stopping.set()
        self.thread.join()
        self.engine.dispose()

    def figures(self, voters: int) -> dict:
        app, client, wall = self.cpu
        return {
            "select_1": figures(self.select_ms),
            "insert_commit": figures(self.commit_ms),
            "app_cpu_s": round(app, 2),
            "app_cpu_ms_per_voter": round(app / max(voters, 1) * 1000, 1),
            "app_cores_busy": round(app / wall, 2),
            "client_cores_busy": round(client / wall, 2),
        }


def open_loop(count: int, rate: float, work: Callable[[int], object]) -> dict:
    """Start `work(i)` for i in range(count) at i / rate seconds, each in its own thread,
    whatever the earlier ones are doing; return what each returned (or its error) and how
    late the threads started."""
    results: dict[int, object] = {}
    lateness: list[float] = []
    lock = threading.Lock()

    def run(i: int, due: float) -> None:
        late = time.perf_counter() - due
        try:
            found = work(i)
        except Refused as exc:
            found = exc
        with lock:
            lateness.append(late)
            results[i] = found

    threads = []
    start = time.perf_counter() + 0.2
    for i in range(count):
        due = start + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        thread = threading.Thread(target=run, args=(i, due), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - start
    return {
        "results": results,
        "elapsed_s": elapsed,
        "start_late_ms_max": round(max(lateness, default=0) * 1000, 1),
        "start_late_ms_p99": round(percentile(lateness, 99) * 1000, 1),
    }


# ---------------------------------------------------------------------------------------------
# Mail


class Inbox:
    """A real SMTP server on loopback (aiosmtpd); each voter waits for its own message."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        inbox = self

        class Collect(Message):
            def __init__(self):
                super().__init__(message_class=email.message.EmailMessage)

            def handle_message(self, message):
                to = str(message["To"]).strip().lower()
                with inbox.lock:
                    inbox.messages[to] = (message, time.perf_counter())
                    inbox.arrived.notify_all()

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per connection
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.messages: dict[str, tuple[email.message.EmailMessage, float]] = {}
        from http_bench import free_port

        self.controller = Controller(Collect(), hostname="127.0.0.1", port=free_port())
        self.controller.start()
        self.port = self.controller.port

    def wait(self, to: str, timeout: float = 30) -> tuple[str, float]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: to in self.messages, timeout=timeout):
                raise Refused(f"no mail for {to} within {timeout} s")
            message, at = self.messages.pop(to)
        raw = message.as_bytes()
        body = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",))
        return (body.get_content() if body else ""), at

    def stop(self) -> None:
        self.controller.stop()


def online_voter(
    port: int, slug: str, inbox: Inbox, nominee: str, i: int, rec: Recorder, run: str
) -> str:
    """Ask for a link, read it in the mail, vote with it; from an address of one's own."""
    address = f"voter{i}.{run}@example.org"
    own_address = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
    phone = Phone(port, f"{slug}-{i}", headers={"X-Forwarded-For": own_address})
    try:
        start = f"/vote/{slug}/online"
        _, _, page = timed(rec, i, "address page", 200, lambda: phone.request("GET", start))
        token = CSRF.search(page)
        if token is None:
            raise Refused("no CSRF token on the address page")
        form = {"csrf_token": token.group(1), "email": address, "website": ""}
        sent = time.perf_counter()
        timed(rec, i, "link POST (sends mail)", 200, lambda: phone.request("POST", start, form))
        body, arrived = inbox.wait(address)
        # The link opens from the mail app: a new connection (the idle one may have been
        # closed by gunicorn's keep-alive timeout while the mail was on its way).
        phone.connection.close()
        rec.add(i, "mail arrives (from POST)", "mail", arrived - sent, time.time())
        link = re.search(r"https?://\S+/vote/\S+/online/\S+", body)
        if link is None:
            raise Refused("no link in the mail")
        path = urllib.parse.urlsplit(link.group(0)).path
        _, _, page = timed(rec, i, "link page", 200, lambda: phone.request("GET", path))
        token = CSRF.search(page)
        if token is None:
            raise Refused("no CSRF token on the ballot")
        choice = {"csrf_token": token.group(1), "nominee": nominee}
        review = {**choice, "action": "review"}
        timed(rec, i, "review POST", 303, lambda: phone.request("POST", path, review))
        timed(rec, i, "confirm page", 200, lambda: phone.request("GET", path + "/confirm"))
        confirm = {**choice, "action": "confirm"}
        _, receipt_at, _ = timed(
            rec, i, "cast POST", 303, lambda: phone.request("POST", path, confirm)
        )
        receipt_path = urllib.parse.urlsplit(receipt_at).path
        timed(rec, i, "receipt page", 200, lambda: phone.request("GET", receipt_path))
        return receipt_path.rsplit("/", 1)[1]
    finally:
        phone.close()


def venue_probe(port: int, slug: str, count: int, rec: Recorder) -> dict:
    """`count` link requests from one address (a venue's Wi-Fi), one after the other."""
    statuses: Counter = Counter()

    def page_of(phone: Phone) -> Callable[[], tuple]:
        return lambda: phone.request("GET", f"/vote/{slug}/online")

    for i in range(count):
        phone = Phone(port, f"probe-{i}")
        try:
            _, _, page = timed(rec, i, "probe page", 200, page_of(phone))
            token = CSRF.search(page)
            form = {
                "csrf_token": token.group(1) if token else "",
                "email": f"venue{i}@example.org",
                "website": "",
            }
            status, *_ = phone.request("POST", f"/vote/{slug}/online", form)
            statuses[status] += 1
        except Refused:
            statuses["page refused"] += 1
        finally:
            phone.close()
    return {"requests": count, "statuses": {str(k): v for k, v in sorted(statuses.items())}}


# ---------------------------------------------------------------------------------------------
# Figures


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def figures(latencies_ms: list[float]) -> dict:
    return {
        "n": len(latencies_ms),
        "p50_ms": round(percentile(latencies_ms, 50), 1),
        "p90_ms": round(percentile(latencies_ms, 90), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1),
        "max_ms": round(max(latencies_ms, default=0), 1),
        "mean_ms": round(statistics.fmean(latencies_ms), 1) if latencies_ms else 0.0,
    }


def summarise(rows: list[dict], expected: dict[str, int], server: dict[str, float]) -> dict:
    """Per step: the latency the voter saw, its statuses, and the app's own duration of the
    same requests (from its request log, matched by request id): the difference is time in
    gunicorn's queue, the network stack and this client."""
    by_step: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_step[row["step"]].append(row)
    steps = {}
    for step, found in by_step.items():
        statuses = Counter(str(r["status"]) for r in found)
        wanted = expected.get(step)
        errors = sum(n for s, n in statuses.items() if wanted is not None and s != str(wanted))
        in_app = [server[r["request_id"]] for r in found if r["request_id"] in server]
        steps[step] = {
            **figures([r["ms"] for r in found]),
            "statuses": dict(sorted(statuses.items())),
            "errors": errors,
            "server": figures(in_app) if in_app else None,
        }
    return steps


def server_durations(log: Path) -> dict[str, float]:
    """The app's own duration of each request, by request id (its request log, JSON lines)."""
    found = {}
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "duration_ms" in entry and entry.get("request_id"):
            found[entry["request_id"]] = float(entry["duration_ms"])
    return found


def phase_report(
    name: str,
    run: dict,
    recorder: Recorder,
    expected: dict[str, int],
    target_step: str,
    log: Path,
) -> dict:
    steps = summarise(recorder.rows, expected, server_durations(log))
    cast_ok = sum(1 for r in run["results"].values() if isinstance(r, str))
    flows: dict[int, float] = defaultdict(float)
    for row in recorder.rows:
        if row["step"] in expected:
            flows[row["voter"]] += row["ms"]
    errors = {
        f"{step} {status}": n
        for step, found in steps.items()
        for status, n in found["statuses"].items()
        if expected.get(step) is not None and status != str(expected[step])
    }
    every = [r["ms"] for r in recorder.rows if r["step"] in expected]
    target = steps.get(target_step, {})
    return {
        "phase": name,
        "voters": len(run["results"]),
        "cast": cast_ok,
        "elapsed_s": round(run["elapsed_s"], 1),
        "achieved_rate_per_s": round(cast_ok / run["elapsed_s"], 2) if run["elapsed_s"] else 0,
        "start_late_ms_max": run["start_late_ms_max"],
        "start_late_ms_p99": run["start_late_ms_p99"],
        "steps": steps,
        "every_request": figures(every),
        "flow_sum_of_requests": figures(list(flows.values())),
        "errors": errors,
        "target_step": target_step,
        "met": bool(target and target["p99_ms"] < TARGET_P99_MS and not errors),
        "load_average_after": os.getloadavg(),
    }


def table(report: dict) -> str:
    lines = [
        "| phase | step | n | p50 ms | p90 ms | p99 ms | max ms | in app p50 / p99 ms | statuses |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for phase in report["phases"]:
        for step, f in phase["steps"].items():
            statuses = ", ".join(f"{s}×{n}" for s, n in f["statuses"].items())
            app = f["server"]
            in_app = f"{app['p50_ms']:.1f} / {app['p99_ms']:.1f}" if app else ""
            lines.append(
                f"| {phase['phase']} | {step} | {f['n']} | {f['p50_ms']:.1f} | {f['p90_ms']:.1f} "
                f"| {f['p99_ms']:.1f} | {f['max_ms']:.1f} | {in_app} | {statuses} |"
            )
        f = phase["every_request"]
        lines.append(
            f"| {phase['phase']} | every request of the flow | {f['n']} | {f['p50_ms']:.1f} "
            f"| {f['p90_ms']:.1f} | {f['p99_ms']:.1f} | {f['max_ms']:.1f} | | |"
        )
    lines += [
        "",
        "| phase | voters | cast | rate /s | errors | DB ballots | tally adds up "
        "| p99 of the target step | met? |",
        "|---|---:|---:|---:|---|---:|---|---|---|",
    ]
    for phase in report["phases"]:
        check = phase.get("database", {})
        target = phase["steps"].get(phase["target_step"], {})
        errors = ", ".join(f"{k}×{v}" for k, v in phase["errors"].items()) or "none"
        lines.append(
            f"| {phase['phase']} | {phase['voters']} | {phase['cast']} "
            f"| {phase['achieved_rate_per_s']:.2f} | {errors} "
            f"| {check.get('ballots_in_database', '')} | "
            f"{'yes' if check.get('tally_adds_up') else 'NO'} "
            f"| {phase['target_step']}: {target.get('p99_ms', 0):.1f} ms (< {TARGET_P99_MS:.0f}) "
            f"| {'yes' if phase['met'] else 'NO'} |"
        )
    lines += [
        "",
        "| phase | DB probe: SELECT 1 p50 / p99 ms | INSERT + COMMIT p50 / p99 / max ms "
        "| app CPU ms per voter | cores busy: app / client | load average after |",
        "|---|---:|---:|---:|---|---|",
    ]
    for phase in report["phases"]:
        probe = phase["database_probe"]
        one, commit = probe["select_1"], probe["insert_commit"]
        load = ", ".join(f"{x:.1f}" for x in phase["load_average_after"])
        lines.append(
            f"| {phase['phase']} | {one['p50_ms']:.1f} / {one['p99_ms']:.1f} "
            f"| {commit['p50_ms']:.1f} / {commit['p99_ms']:.1f} / {commit['max_ms']:.1f} "
            f"| {probe['app_cpu_ms_per_voter']:.1f} "
            f"| {probe['app_cores_busy']:.2f} / {probe['client_cores_busy']:.2f} | {load} |"
        )
    probe = report.get("venue_probe")
    if probe:
        statuses = ", ".join(f"{s}×{n}" for s, n in probe["statuses"].items())
        lines += ["", f"Online links asked for from one address: {statuses}"]
    load = report["machine"]
    lines += [
        "",
        f"Load average before {', '.join(f'{x:.1f}' for x in load['load_average_before'])}, "
        f"after {', '.join(f'{x:.1f}' for x in load['load_average_after'])}"
        f" ({load['cpus']} CPUs); {report['elapsed_s']} s in all.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The run


def run(url: str, args, work: Path, report: dict) -> None:
    instance = work / "instance"
    print("preparing the database...", file=sys.stderr, flush=True)
    data = prepare(url, instance, args)
    slugs, nominees, codes = data["slugs"], data["nominees"], data["codes"]
    inbox = Inbox()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "REDIS_URL": REDIS_URL,
        "JUDGING_ENV": "development",  # plain-HTTP cookies on 127.0.0.1
        "JUDGING_INSTANCE_PATH": str(instance),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "TRUSTED_PROXIES": "1",  # online voters' own addresses, as a proxy would pass them
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(inbox.port),
    }
    log = work / "gunicorn.log"
    app = Server("wsgi:app", chdir=ROOT, env=env, log=log)
    # Pages queue mail in the outbox; a sender beside gunicorn delivers it, as in production
    # (docs/operations.md), polling every MAIL_POLL_SECONDS (2 s) when idle.
    with (work / "mail-sender.log").open("wb") as sender_log:
        sender = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "send"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sender_log,
        )
    try:
        processes = [*app.workers(), sender.pid]  # the app's CPU: its workers and its sender

        # Attendee i chooses nominee i mod n: the expected tally is known exactly.
        def chosen(i: int) -> str:
            return nominees[(i * 7) % len(nominees)]

        print(f"warm-up: {WARM_ATTENDEES} card attendees", file=sys.stderr, flush=True)
        warm = Recorder()
        open_loop(
            WARM_ATTENDEES,
            args.rate,
            lambda i: card_attendee(app.port, slugs["warm"], codes["warm"][i], chosen(i), i, warm),
        )
        time.sleep(1)

        phases = []
        print(f"cards: {args.ballots} attendees at {args.rate}/s", file=sys.stderr, flush=True)
        rec = Recorder()
        with PhaseWatch(url, processes) as probe:
            cards = open_loop(
                args.ballots,
                args.rate,
                lambda i: card_attendee(
                    app.port, slugs["cards"], codes["cards"][i], chosen(i), i, rec
                ),
            )
        phase = phase_report("cards", cards, rec, CARD_EXPECTED, "cast POST", log)
        phase["database_probe"] = probe.figures(args.ballots)
        choices = Counter(chosen(i) for i, r in cards["results"].items() if isinstance(r, str))
        phase["database"] = check_database(url, instance, data["ids"]["cards"], choices, "code")
        phases.append(phase)

        if args.api_ballots:
            time.sleep(1)
            print(f"API: {args.api_ballots} ballots at {args.rate}/s", file=sys.stderr, flush=True)
            rec = Recorder()
            with PhaseWatch(url, processes) as probe:
                api = open_loop(
                    args.api_ballots,
                    args.rate,
                    lambda i: api_voter(app.port, slugs["api"], codes["api"][i], chosen(i), i, rec),
                )
            expected = {"API ballot POST": 201}
            phase = phase_report("API", api, rec, expected, "API ballot POST", log)
            phase["database_probe"] = probe.figures(args.api_ballots)
            choices = Counter(chosen(i) for i, r in api["results"].items() if isinstance(r, str))
            phase["database"] = check_database(url, instance, data["ids"]["api"], choices, "code")
            phases.append(phase)

        if args.online_seconds:
            time.sleep(1)
            count = int(args.online_rate * args.online_seconds)
            print(f"online: {count} voters at {args.online_rate}/s", file=sys.stderr, flush=True)
            rec, tag = Recorder(), uuid.uuid4().hex[:6]
            with PhaseWatch(url, processes) as probe:
                online = open_loop(
                    count,
                    args.online_rate,
                    lambda i: online_voter(
                        app.port, slugs["online"], inbox, chosen(i), i, rec, tag
                    ),
                )
            expected = ONLINE_EXPECTED
            phase = phase_report("online", online, rec, expected, "cast POST", log)
            phase["database_probe"] = probe.figures(count)
            mail = [r["ms"] for r in rec.rows if r["step"] == "mail arrives (from POST)"]
            phase["mail_arrival"] = figures(mail)
            choices = Counter(chosen(i) for i, r in online["results"].items() if isinstance(r, str))
            phase["database"] = check_database(
                url, instance, data["ids"]["online"], choices, "email"
            )
            phases.append(phase)
            report["venue_probe"] = venue_probe(app.port, slugs["online"], 25, Recorder())
        report["phases"] = phases
        report["worker_rss_mb"] = app.worker_rss_mb()
    finally:
        app.stop()
        sender.send_signal(signal.SIGTERM)  # it stops after the message in hand
        try:
            sender.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sender.kill()
            sender.wait()
        inbox.stop()


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="the PostgreSQL server: a throw-away database bench_* is made on it and dropped",
    )
    parser.add_argument("--ballots", type=int, default=1000, help="card attendees")
    parser.add_argument("--rate", type=float, default=20.0, help="attendees (and API ballots) /s")
    parser.add_argument("--api-ballots", type=int, default=1000, help="0: no API phase")
    parser.add_argument("--online-rate", type=float, default=5.0)
    parser.add_argument("--online-seconds", type=float, default=30.0, help="0: no online phase")
    parser.add_argument("--top-n", type=int, default=None, help="vote for the jury's top N only")
    parser.add_argument(
        "--synchronous-commit",
        choices=["on", "off"],
        default="on",
        help="off only to see how much of the latency is the WAL flush: ballots must be durable",
    )
    parser.add_argument("--out", default=str(BENCH / "out"))
    args = parser.parse_args()

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    work = Path(tempfile.mkdtemp(prefix="ceremony-bench-"))
    started = datetime.now(UTC)
    report: dict = {
        "date": started.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()},
        "settings": {
            "ballots": args.ballots,
            "rate_per_s": args.rate,
            "api_ballots": args.api_ballots,
            "online_rate_per_s": args.online_rate,
            "online_seconds": args.online_seconds,
            "vote_top_n": args.top_n,
            "synchronous_commit": args.synchronous_commit,
            "gunicorn": "--workers 2 --worker-class gthread --threads 4",
            "redis": REDIS_URL,
        },
    }
    server = make_url(args.database_url).set(drivername="postgresql+psycopg")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
        if args.synchronous_commit == "off":
            c.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        run(url, args, work, report)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        store.flushdb()
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["load_average_after"] = os.getloadavg()
    report["elapsed_s"] = round((datetime.now(UTC) - started).total_seconds())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ceremony.json").write_text(json.dumps(report, indent=2) + "\n")
    rendered = table(report)
    (out / "ceremony.md").write_text(rendered + "\n")
    print(rendered)
    return report


if __name__ == "__main__":
    main()
