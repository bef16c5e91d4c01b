"""HTTP throughput of the app's main endpoints beside a bare Flask app, under real gunicorn.

    python bench/http_bench.py [--database-url URL] [--duration 10] [--warmup 2]

For each engine (SQLite, and PostgreSQL when --database-url is given) it builds a throw-away
database with realistic data: the seeded award (seed/shortlist.json) three times over with
the demo's 12 jurors' scores (one copy in scoring, one published, one open for the vote) and
the synthetic large award of ranking_bench.py (5,000 nominees, 25,000 evaluations). It starts
the app and bench/bare_app.py under gunicorn with the same settings, drives each endpoint over
loopback with wrk (bench/wrk_bench.lua), times the large award's leaderboard, reads the
workers' resident memory, and writes bench/out/latest.json and bench/out/latest.md (a table
of req/s, p50, p99 and the ratio to the bare-Flask figure of the same engine block).
"""

import argparse
import http.cookiejar
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from ranking_bench import build as build_large  # noqa: E402

from judging import create_app  # noqa: E402
from judging.extensions import db  # noqa: E402
from judging.models import Award, Base, Evaluation, JuryMember, Score, User  # noqa: E402
from judging.passwords import app_passwords  # noqa: E402
from judging.services import demo, publication, seeding, voting  # noqa: E402

SECRET = "http-bench-secret"  # the app under gunicorn and this script hash codes alike
PASSWORD = "bench password, not for production"
# gthread: two processes (one per core) of four threads; the bare app gets exactly the same.
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--timeout", "120"]
# Codes for the ballot cast: a share for the warm-up, the rest for the measured run; a run
# that uses them all up sends used codes, whose refusals show as non-2xx.
CODES_PER_ENGINE, WARM_CODES = 20_000, 4_000

# Each endpoint's target, as a ratio to bare Flask's req/s in the same engine block (issue 9).
TARGETS = {
    "public award page": 0.5,
    "evaluation page": 0.4,
    "autosave PUT": 0.3,
    "published results page": 0.8,
    "published results JSON": 0.8,
    "ballot cast": 0.3,
}
LEADERBOARD_TARGET_S = 1.0
RSS_TARGET_MB = 150.0
PAUSE_S = 3  # after each wrk run, for the requests it left in flight
# More refused or failed answers than this and a figure says nothing: it is marked invalid.
MAX_FAILED_SHARE = 0.01


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn master with its workers, stopped on exit."""

    def __init__(self, app: str, *, chdir: Path, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "gunicorn", *GUNICORN]
        command += ["--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        # Started from the project folder, both read its gunicorn.conf.py (the command line
        # overrides it); the app logs a line per request, to a file, never to a full pipe.
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [*command, "--chdir", str(chdir), app],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn {app} did not start: {log.read_text()[-2000:]}")

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()]

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            kib = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
            sizes.append(round(kib / 1024, 1))
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---------------------------------------------------------------------------------------------
# Data


def copy_evaluations(source: Award, target: Award) -> None:
    """The demo jurors' evaluations of `source`, again on `target` (same slugs, same scores).

    The demo makes its jurors once (their addresses are unique), so the other copies of the
    seeded award get the same jurors and scores this way.
    """
    nominees = {n.slug: n.id for n in target.nominees}
    criteria = {c.slug: c.id for c in target.criteria}
    source_criteria = {c.id: c.slug for c in source.criteria}
    jurors = set()
    for evaluation in db.session.scalars(
        select(Evaluation).where(Evaluation.award_id == source.id)
    ):
        jurors.add(evaluation.juror_id)
        copy = Evaluation(
            award_id=target.id,
            nominee_id=nominees[evaluation.nominee.slug],
            juror_id=evaluation.juror_id,
            submitted_at=evaluation.submitted_at,
            comment=evaluation.comment,
        )
        copy.scores = [
            Score(criterion_id=criteria[source_criteria[s.criterion_id]], value=s.value)
            for s in evaluation.scores
        ]
        db.session.add(copy)
    db.session.add_all(JuryMember(award_id=target.id, user_id=j) for j in jurors)
    db.session.flush()


def seed_three_awards(app) -> dict[str, Award]:
    """The seeded award three times with the demo jury's scores: "scoring" (still being
    scored), "published" and "vote" (both still to be moved on by the caller)."""
    shortlist = seeding.read_shortlist(app.config["SEED_PATH"])
    slug = shortlist["award"]["slug"]
    awards = {}
    for role, suffix in (("scoring", ""), ("published", "-published"), ("vote", "-vote")):
        data = {**shortlist, "award": {**shortlist["award"], "slug": slug + suffix}}
        seeding.seed_shortlist(data, actor=None)
        awards[role] = db.session.scalar(select(Award).where(Award.slug == slug + suffix))
    demo.add_demo_data(awards["scoring"])
    copy_evaluations(awards["scoring"], awards["published"])
    copy_evaluations(awards["scoring"], awards["vote"])
    return awards


def prepare(url: str, instance: Path, codes_file: Path, warm_codes: Path) -> dict:
    """Fill the empty database at `url`; return the slugs and accounts the run needs."""
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url}, instance_path=instance)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        started = time.perf_counter()
        build_large()  # first: it picks its jurors by their address
        large_s = time.perf_counter() - started
        awards = seed_three_awards(app)

        passwords = app_passwords()
        juror = User(
            email="juror@http-bench.invalid",
            name="Bench juror",
            role="juror",
            password_hash=passwords.hash(PASSWORD),
        )
        admin = User(
            email="admin@http-bench.invalid",
            name="Bench admin",
            role="admin",
            password_hash=passwords.hash(PASSWORD),
        )
        db.session.add_all([juror, admin])
        db.session.flush()
        db.session.add(JuryMember(award_id=awards["scoring"].id, user_id=juror.id))
        awards["scoring"].status = "scoring"
        awards["published"].status = "closed"
        db.session.flush()
        publication.publish(awards["published"], actor=None, override_reason="benchmark data")
        awards["vote"].status = "voting"
        codes = []
        while len(codes) < CODES_PER_ENGINE:
            codes += voting.generate_codes(
                awards["vote"], min(voting.MAX_CODES, CODES_PER_ENGINE - len(codes)), actor=None
            )
        db.session.commit()
        warm_codes.write_text("\n".join(codes[:WARM_CODES]) + "\n")
        codes_file.write_text("\n".join(codes[WARM_CODES:]) + "\n")
        found = {
            "slugs": {role: award.slug for role, award in awards.items()},
            "nominees": [n.slug for n in awards["scoring"].nominees],
            "criteria": {
                c.slug: (c.scale_min + c.scale_max) // 2 for c in awards["scoring"].criteria
            },
            "vote_nominees": [n.slug for n in voting.shortlist(awards["vote"])],
            "large_build_s": round(large_s, 1),
        }
        db.engine.dispose()
    return found


# ---------------------------------------------------------------------------------------------
# Clients


class Browser:
    """A cookie jar that logs in through the login form, as a person would."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=120) as response:
            return response.read().decode()

    def log_in(self, email: str) -> None:
        page = self.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = {"csrf_token": token, "email": email, "password": PASSWORD}
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=60) as response:
            landed = response.geturl()
        if "/login" in urllib.parse.urlsplit(landed).path:
            raise RuntimeError(f"could not log in as {email}")

    def csrf(self, path: str) -> str:
        return re.search(r'name="csrf-token" content="([^"]+)"', self.get(path)).group(1)

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def wrk(url: str, *, duration: int, connections: int, env: dict | None = None) -> dict:
    """Drive `url` with wrk for `duration` seconds; return the figures of wrk_bench.lua."""
    command = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s"]
    run_env = {**os.environ, "BENCH_THREADS": str(connections), **(env or {})}
    out = subprocess.run(
        [*command, "-s", str(BENCH / "wrk_bench.lua"), url],
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    socket_errors = sum(raw["socket_errors"].values())
    answered = sum(statuses.values())
    return {
        "rps": round(ok / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "requests": answered,
        "ok": ok,
        "non_2xx": answered - ok,
        "socket_errors": socket_errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def timed_get(browser: Browser, path: str, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        browser.get(path)
        times.append(time.perf_counter() - started)
    return {
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "runs_s": [round(t, 3) for t in times],
    }


# ---------------------------------------------------------------------------------------------
# One engine


def run_engine(name: str, url: str, bare: Server, args, work: Path) -> dict:
    print(f"[{name}] preparing the database...", file=sys.stderr, flush=True)
    instance = work / f"instance-{name}"
    codes_file = work / f"codes-{name}.txt"
    warm_codes = work / f"warm-codes-{name}.txt"
    data = prepare(url, instance, codes_file, warm_codes)
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "JUDGING_ENV": "development",  # plain-HTTP cookies on 127.0.0.1
        "JUDGING_INSTANCE_PATH": str(instance),
    }
    app = Server("wsgi:app", chdir=ROOT, env=env, log=work / f"gunicorn-{name}.log")
    try:
        slugs = data["slugs"]
        juror, admin, voter = Browser(app.url), Browser(app.url), Browser(app.url)
        juror.log_in("juror@http-bench.invalid")
        admin.log_in("admin@http-bench.invalid")
        first = data["nominees"][0]
        evaluate_path = f"/jury/awards/{slugs['scoring']}/nominees/{first}"
        juror_csrf = juror.csrf(evaluate_path)
        voter_csrf = voter.csrf(f"/vote/{slugs['vote']}")  # a page with a form
        get = {"BENCH_MODE": "get"}
        try:
            has_healthz = urllib.request.urlopen(app.url + "/healthz", timeout=10).status == 200
        except OSError:
            has_healthz = False
        as_juror = {**get, "BENCH_COOKIE": juror.cookie}
        as_admin = {**get, "BENCH_COOKIE": admin.cookie}
        endpoints = [
            ("bare Flask", bare.url + "/", get),
            # The app's floor: its whole request pipeline (hooks, logging, headers) around a
            # view that does nothing; measured only where the app has /healthz.
            *([("app floor (/healthz)", app.url + "/healthz", get)] if has_healthz else []),
            ("public award page", f"{app.url}/awards/{slugs['scoring']}", get),
            ("evaluation page", app.url + evaluate_path, as_juror),
            (
                "autosave PUT",
                app.url + "/",
                {
                    "BENCH_MODE": "autosave",
                    "BENCH_COOKIE": juror.cookie,
                    "BENCH_CSRF": juror_csrf,
                    "BENCH_NOMINEES": ",".join(data["nominees"]),
                    "BENCH_PATH_FMT": f"/api/v1/awards/{slugs['scoring']}/nominees/%s"
                    "/my-evaluation",
                    "BENCH_SCORES": json.dumps(data["criteria"], separators=(",", ":")),
                },
            ),
            (
                "admin leaderboard",
                f"{app.url}/admin/awards/{slugs['scoring']}/leaderboard",
                as_admin,
            ),
            ("published results page", f"{app.url}/awards/{slugs['published']}/results", get),
            (
                "published results JSON",
                f"{app.url}/api/v1/awards/{slugs['published']}/results",
                get,
            ),
            (
                "ballot cast",
                f"{app.url}/api/v1/awards/{slugs['vote']}/ballots",
                {
                    "BENCH_MODE": "ballot",
                    "BENCH_COOKIE": voter.cookie,
                    "BENCH_CSRF": voter_csrf,
                    "BENCH_NOMINEES": ",".join(data["vote_nominees"]),
                    "BENCH_CODES": str(codes_file),
                },
            ),
        ]
        rows = []
        for endpoint, target_url, wrk_env in endpoints:
            print(f"[{name}] {endpoint}", file=sys.stderr, flush=True)
            if args.warmup:
                # Each wrk run starts its codes afresh: the warm-up spends a share of its own.
                warm_env = {**wrk_env, "BENCH_CODES": str(warm_codes)}
                wrk(target_url, duration=args.warmup, connections=args.connections, env=warm_env)
                # wrk leaves its last requests in flight: let the server finish them, or an
                # autosave of the warm-up lands after the measured run has read the version.
                time.sleep(PAUSE_S)
            figures = wrk(
                target_url, duration=args.duration, connections=args.connections, env=wrk_env
            )
            time.sleep(PAUSE_S)
            rows.append({"endpoint": endpoint, "engine": name, **figures})
        bare_rps = rows[0]["rps"]
        for row in rows:
            row["ratio"] = round(row["rps"] / bare_rps, 3) if bare_rps else None
            row["target"] = TARGETS.get(row["endpoint"])
            failed = row["non_2xx"] + row["socket_errors"]
            valid = row["ok"] > 0 and failed <= MAX_FAILED_SHARE * max(row["requests"], 1)
            row["valid"] = valid
            row["met"] = (
                None if row["target"] is None else bool(valid and row["ratio"] >= row["target"])
            )

        print(f"[{name}] large award leaderboard", file=sys.stderr, flush=True)
        rss_before = app.worker_rss_mb()
        large_path = "/admin/awards/large/leaderboard"
        # Once per worker at least before timing, so that both hold the large award's data.
        for _ in range(4):
            admin.get(large_path)
        leaderboard = timed_get(admin, large_path, args.repeat)
        leaderboard["met"] = leaderboard["median_s"] < LEADERBOARD_TARGET_S
        rss = app.worker_rss_mb()
        memory = {
            "worker_rss_before_mb": rss_before,
            "worker_rss_mb": rss,
            "met": max(rss) < RSS_TARGET_MB,
        }
        return {
            "engine": name,
            "endpoints": rows,
            "large_leaderboard": leaderboard,
            "memory_after_large_leaderboard": memory,
            "large_build_s": data["large_build_s"],
        }
    finally:
        app.stop()


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "wrk": wrk_version.strip(),
        "load_average": os.getloadavg(),
    }


def git_commit() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return found.stdout.strip() + ("+dirty" if dirty else "")


def table(report: dict) -> str:
    lines = [
        "| endpoint | engine | req/s | p50 ms | p99 ms | non-2xx | ratio to bare | target | met? |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for block in report["engines"]:
        for r in block["endpoints"]:
            met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
            if not r["valid"]:
                met = "INVALID (failures)"
            target = f"≥ {r['target']}" if r["target"] else ""
            lines.append(
                f"| {r['endpoint']} | {r['engine']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['non_2xx'] + r['socket_errors']} | {r['ratio']:.2f} | "
                f"{target} | {met} |"
            )
    lines += ["", "| measure | engine | figure | target | met? |", "|---|---|---|---|---|"]
    for block in report["engines"]:
        lb = block["large_leaderboard"]
        lines.append(
            f"| large award leaderboard (HTTP, {len(lb['runs_s'])} runs) | {block['engine']} | "
            f"median {lb['median_s']:.2f} s, best {lb['best_s']:.2f} s | < 1 s | "
            f"{'yes' if lb['met'] else 'NO'} |"
        )
        mem = block["memory_after_large_leaderboard"]
        lines.append(
            f"| worker RSS after large leaderboard | {block['engine']} | "
            f"{' / '.join(f'{m:.0f}' for m in mem['worker_rss_mb'])} MB (before: "
            f"{' / '.join(f'{m:.0f}' for m in mem['worker_rss_before_mb'])} MB) | < 150 MB | "
            f"{'yes' if mem['met'] else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server to use too")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="timed large-leaderboard loads")
    parser.add_argument("--out", default=str(BENCH / "out"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (make bench does it)")

    work = Path(tempfile.mkdtemp(prefix="http-bench-"))
    started = datetime.now(UTC)
    report = {
        "date": started.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "settings": {
            "gunicorn": GUNICORN,
            "wrk": f"-t{args.connections} -c{args.connections} -d{args.duration}s "
            f"after {args.warmup}s of warm-up",
            "connections": args.connections,
        },
        "engines": [],
    }
    bare = Server("bare_app:app", chdir=BENCH, env=dict(os.environ), log=work / "bare.log")
    dropper = None
    try:
        report["engines"].append(
            run_engine("sqlite", f"sqlite:///{work / 'bench.sqlite'}", bare, args, work)
        )
        if args.database_url:
            server = make_url(args.database_url).set(drivername="postgresql+psycopg")
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))

            def dropper():
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()

            url = server.set(database=name).render_as_string(hide_password=False)
            report["engines"].append(run_engine("postgresql", url, bare, args, work))
    finally:
        bare.stop()
        if dropper:
            dropper()
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["load_average_after"] = os.getloadavg()
    report["elapsed_s"] = round((datetime.now(UTC) - started).total_seconds())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    rendered = table(report)
    (out / "latest.md").write_text(rendered + "\n")
    print(rendered)
    return report


if __name__ == "__main__":
    main()
