"""Forgot-password for a known and an unknown address: does the answer take as long (issue 17)?

    python bench/forgot_password_bench.py [--database-url URL] [--requests 300] [--json PATH]

A difference in how long the request takes tells whoever asks which addresses have an account.
This drives `POST /password/forgot` through the Flask test client (no server, no socket), for
an account's address and for unknown addresses (a new one each time, as someone probing would),
interleaved: one of each per round, in an order drawn at random, so that whatever else the
machine does falls on both alike. Each POST is timed alone, wall clock (`perf_counter`) and CPU
(`process_time`); the table gives the median and the 90th percentile of each, and how far the
known address's median is from the unknown one's (target: within 10 %).

A third series, the control, is more unknown addresses, interleaved the same way: its gap to the
unknown series is what the same work measures as on this machine at this time (the noise of a
shared machine), to read the known address's gap against.

Untimed, between the POSTs, as in a browser and a server: the redirect's page is fetched (it
shows the flashed message, so the session does not pile them up), and every 50 rounds the outbox's
sender runs once (into the instance folder's outbox/, no mail server), as `flask mail send` would
have meanwhile. Each POST comes from a client address of its own, so the rate limit (10 per hour
per address) is consulted and counted on every request but never refuses one.

Data, in a throw-away SQLite file and, with --database-url, a throw-away PostgreSQL database
`forgotbench_*` (dropped at the end): one juror with a password. Prints a table, then one JSON
object.
"""

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from throwaway import postgres_database  # noqa: E402

from judging import create_app, observability  # noqa: E402
from judging.extensions import db  # noqa: E402
from judging.models import Base, User  # noqa: E402
from judging.passwords import app_passwords  # noqa: E402
from judging.sender import send_due  # noqa: E402

SECRET = "forgot-bench-secret"
KNOWN = "juror@forgot-bench.example"
WARMUP = 20  # rounds before the measured ones: templates compiled, caches filled
SEND_EVERY = 50  # rounds between two runs of the sender
# An account's address, unknown ones, and more unknown ones: the control (noise) series.
KINDS = ("known", "unknown", "control")
URL = "/password/forgot"


def csrf_of(page: str) -> str:
    marker = '<meta name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_engine(name: str, url: str, args, work: Path) -> dict:
    print(f"[{name}] preparing the database...", file=sys.__stderr__, flush=True)
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "DEVELOPMENT": True,  # plain-HTTP cookies on the test client's localhost
            "SESSION_COOKIE_SECURE": False,
        },
        instance_path=str(work / f"instance-{name}"),
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.add(
            User(
                email=KNOWN,
                name="Bench Juror",
                role="juror",
                password_hash=app_passwords().hash("a long bench password"),
            )
        )
        db.session.commit()
        db.session.remove()

    client = app.test_client()
    token = csrf_of(client.get(URL).get_data(as_text=True))
    counter = {"address": 0, "unknown": 0}
    times: dict[str, dict[str, list[float]]] = {kind: {"wall": [], "cpu": []} for kind in KINDS}

    def post(kind: str, record: bool) -> None:
        counter["address"] += 1
        n = counter["address"]
        remote = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        if kind == "known":
            address = KNOWN
        else:
            counter["unknown"] += 1
            address = f"nobody{counter['unknown']}@forgot-bench.example"
        wall, cpu = time.perf_counter(), time.process_time()
        answer = client.post(
            URL,
            data={"email": address, "csrf_token": token},
            environ_base={"REMOTE_ADDR": remote},
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if answer.status_code != 302:
            raise RuntimeError(f"POST {URL} ({kind}): {answer.status_code}")
        answer.close()
        client.get(answer.location).close()  # the flashed message, shown and gone
        if record:
            times[kind]["wall"].append(wall * 1000)
            times[kind]["cpu"].append(cpu * 1000)

    def deliver() -> None:
        with app.app_context():
            send_due()
            db.session.remove()

    print(f"[{name}] {args.requests} rounds", file=sys.__stderr__, flush=True)
    # The order within a round: at random (seeded), so that nothing periodic (the sender's
    # runs, SQLite's checkpoints) falls on one kind more than the others.
    coin = random.Random(17)
    for i in range(WARMUP + args.requests):
        order = list(KINDS)
        coin.shuffle(order)
        for kind in order:
            post(kind, record=i >= WARMUP)
        if i % SEND_EVERY == SEND_EVERY - 1:
            deliver()
    deliver()
    flush = getattr(observability, "flush_request_log", None)
    if flush is not None:
        flush()
    with app.app_context():
        db.engine.dispose()

    result: dict = {"engine": name, "requests": args.requests}
    for kind, measured in times.items():
        for clock, values in measured.items():
            result[f"{kind}_{clock}_median_ms"] = round(statistics.median(values), 3)
            result[f"{kind}_{clock}_p90_ms"] = round(percentile(values, 0.9), 3)
    for clock in ("wall", "cpu"):
        unknown = result[f"unknown_{clock}_median_ms"]
        for kind, key in (("known", "median_gap"), ("control", "control_gap")):
            other = result[f"{kind}_{clock}_median_ms"]
            result[f"{clock}_{key}_percent"] = round((other - unknown) / unknown * 100, 1)
    return result


def table(rows: list[dict]) -> str:
    lines = [
        "| engine | clock | known median ms | unknown median ms | gap | known p90 ms "
        "| unknown p90 ms | within 10 %? | control gap (noise) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        for clock in ("wall", "cpu"):
            gap = r[f"{clock}_median_gap_percent"]
            lines.append(
                f"| {r['engine']} | {clock} | {r[f'known_{clock}_median_ms']:.2f} "
                f"| {r[f'unknown_{clock}_median_ms']:.2f} | {gap:+.1f} % "
                f"| {r[f'known_{clock}_p90_ms']:.2f} | {r[f'unknown_{clock}_p90_ms']:.2f} "
                f"| {'yes' if abs(gap) <= 10 else 'NO'} "
                f"| {r[f'{clock}_control_gap_percent']:+.1f} % |"
            )
    return "\n".join(lines)


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server to use too")
    parser.add_argument("--requests", type=int, default=300, help="POSTs per series")
    parser.add_argument("--json", default=None, help="also write the JSON to this file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="forgot-bench-"))
    rows: list[dict] = []
    # The app's request log goes to a file, as under gunicorn, not to the terminal.
    with (work / "app.log").open("w") as log, contextlib.redirect_stderr(log):
        rows.append(run_engine("sqlite", f"sqlite:///{work / 'bench.sqlite'}", args, work))
        if args.database_url:
            with postgres_database(args.database_url, "forgotbench") as url:
                rows.append(run_engine("postgresql", url, args, work))
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "requests": args.requests,
        "rows": rows,
    }
    print(table(rows))
    print(json.dumps(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
