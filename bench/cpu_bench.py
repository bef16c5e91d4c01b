"""CPU time per request of the app's endpoints, in one process, beside bare Flask (issue 17).

    python bench/cpu_bench.py [--database-url URL] [--requests 300] [--rounds 3] [--json PATH]

Unlike http_bench.py this does not depend on what else runs on the machine: each endpoint is
driven through the Flask test client (no server, no socket), and `time.process_time` counts the
CPU the whole process spent on its requests (every thread: a log line written off the request
thread is counted too, the batch waits for it). For each endpoint, `--rounds` times: bare Flask
(bench/bare_app.py) for `--requests` requests, then the endpoint for as many; the best round of
each gives CPU ms per request and the ratio bare/endpoint (1.0: as cheap as bare Flask).

Data, in a throw-away SQLite file and, with --database-url, a throw-away PostgreSQL database
`cpubench_*` (dropped at the end): the seeded award three times with the demo's 12 jurors'
scores (one in scoring, one published, one open for the vote with enough one-time codes), a
juror and an admin who log in through the login form. Prints a table, then one JSON object.
"""

import argparse
import contextlib
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from bare_app import app as bare_app  # noqa: E402
from http_bench import PASSWORD, seed_three_awards  # noqa: E402
from throwaway import postgres_database  # noqa: E402

from judging import create_app, observability  # noqa: E402
from judging.extensions import db  # noqa: E402
from judging.models import Base, JuryMember, User  # noqa: E402
from judging.passwords import app_passwords  # noqa: E402
from judging.services import publication, voting  # noqa: E402

SECRET = "cpu-bench-secret"
WARMUP = 20  # requests before the rounds: templates compiled, caches filled, as in a server

# Each endpoint's target, as bare Flask's CPU per request over the endpoint's (issue 17).
TARGETS = {
    "app floor (/healthz)": 0.5,
    "public award page": 0.3,
    "public nominee page": 0.3,
    "evaluation page": 0.12,
    "autosave PUT": 0.06,
    "published results page": 0.4,
    "published results JSON": 0.4,
    "ballot cast": 0.12,
}


def prepare(app, codes_needed: int) -> dict:
    """Fill the app's empty database; return the slugs, accounts and codes the run needs."""
    with app.app_context():
        Base.metadata.create_all(db.engine)
        awards = seed_three_awards(app)
        passwords = app_passwords()
        people = {
            role: User(
                email=f"{role}@cpu-bench.invalid",
                name=f"Bench {role}",
                role=role,
                password_hash=passwords.hash(PASSWORD),
            )
            for role in ("juror", "admin")
        }
        db.session.add_all(people.values())
        db.session.flush()
        db.session.add(JuryMember(award_id=awards["scoring"].id, user_id=people["juror"].id))
        awards["scoring"].status = "scoring"
        awards["published"].status = "closed"
        db.session.flush()
        publication.publish(awards["published"], actor=None, override_reason="benchmark data")
        awards["vote"].status = "voting"
        codes: list[str] = []
        while len(codes) < codes_needed:
            count = min(voting.MAX_CODES, codes_needed - len(codes))
            codes += voting.generate_codes(awards["vote"], count, actor=None)
        db.session.commit()
        found = {
            "slugs": {role: award.slug for role, award in awards.items()},
            "nominee": awards["scoring"].nominees[0].slug,
            "criteria": {
                c.slug: (c.scale_min + c.scale_max) // 2 for c in awards["scoring"].criteria
            },
            "vote_nominees": [n.slug for n in voting.shortlist(awards["vote"])],
            "codes": codes,
        }
        db.session.remove()
    return found


def csrf_of(page: str) -> str:
    marker = '<meta name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def log_in(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page)}
    )
    if answer.status_code != 302 or "/login" in answer.location:
        raise RuntimeError(f"could not log in as {email}: {answer.status_code}")


def endpoints(app, data: dict) -> list[tuple[str, object]]:
    """(name, one request) for every endpoint of issue 17's table; each checks its status."""
    slugs, nominee = data["slugs"], data["nominee"]
    anonymous = app.test_client()
    juror, admin = app.test_client(), app.test_client()
    log_in(juror, "juror@cpu-bench.invalid")
    log_in(admin, "admin@cpu-bench.invalid")
    evaluate_path = f"/jury/awards/{slugs['scoring']}/nominees/{nominee}"
    juror_csrf = csrf_of(juror.get(evaluate_path).get_data(as_text=True))
    autosave_path = f"/api/v1/awards/{slugs['scoring']}/nominees/{nominee}/my-evaluation"
    saved = {"version": juror.get(autosave_path).get_json()["version"], "count": 0}
    codes = iter(data["codes"])
    vote_nominees = data["vote_nominees"]

    def get(client, path: str, status: int = 200):
        def one():
            answer = client.get(path)
            if answer.status_code != status:
                raise RuntimeError(f"GET {path}: {answer.status_code}")
            answer.close()

        return one

    def autosave():
        saved["count"] += 1
        body = {
            "scores": data["criteria"],
            "comment": f"autosave {saved['count']}",
            "submitted": False,
            "version": saved["version"],
        }
        answer = juror.put(autosave_path, json=body, headers={"X-CSRFToken": juror_csrf})
        if answer.status_code != 200:
            raise RuntimeError(f"autosave: {answer.status_code} {answer.get_data()[:200]!r}")
        saved["version"] = answer.get_json()["version"]

    def ballot():
        saved["count"] += 1
        choice = vote_nominees[saved["count"] % len(vote_nominees)]
        answer = anonymous.post(
            f"/api/v1/awards/{slugs['vote']}/ballots",
            json={"code": next(codes), "nominee": choice},
        )
        if answer.status_code != 201:
            raise RuntimeError(f"ballot: {answer.status_code} {answer.get_data()[:200]!r}")

    return [
        ("app floor (/healthz)", get(anonymous, "/healthz")),
        ("public award page", get(anonymous, f"/awards/{slugs['scoring']}")),
        ("public nominee page", get(anonymous, f"/awards/{slugs['scoring']}/nominees/{nominee}")),
        ("evaluation page", get(juror, evaluate_path)),
        ("autosave PUT", autosave),
        ("admin leaderboard", get(admin, f"/admin/awards/{slugs['scoring']}/leaderboard")),
        ("published results page", get(anonymous, f"/awards/{slugs['published']}/results")),
        ("published results JSON", get(anonymous, f"/api/v1/awards/{slugs['published']}/results")),
        ("ballot cast", ballot),
    ]


def cpu_ms(one, requests: int) -> float:
    """CPU milliseconds per request over `requests` requests, the request log written out."""
    gc.collect()
    started = time.process_time()
    for _ in range(requests):
        one()
    flush = getattr(observability, "flush_request_log", None)
    if flush is not None:  # the log lines written off the request thread count too
        flush()
    return (time.process_time() - started) * 1000 / requests


def run_engine(name: str, url: str, args, work: Path) -> list[dict]:
    print(f"[{name}] preparing the database...", file=sys.__stderr__, flush=True)
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "DEVELOPMENT": True,  # as http_bench: plain-HTTP cookies on 127.0.0.1
            "SESSION_COOKIE_SECURE": False,
        },
        instance_path=str(work / f"instance-{name}"),
    )
    ballots = (WARMUP + args.requests * args.rounds) + 10
    data = prepare(app, ballots)
    bare = bare_app.test_client()

    def bare_one():
        bare.get("/").close()

    rows = []
    # No app context held here: each request has its own, as in a server (a shared one would
    # share `g`, and with it the logged-in user, between the clients).
    for endpoint, one in endpoints(app, data):
        if args.only and not any(part in endpoint for part in args.only):
            continue
        print(f"[{name}] {endpoint}", file=sys.__stderr__, flush=True)
        for _ in range(WARMUP):
            one()
            bare_one()
        bare_runs, runs = [], []
        for _ in range(args.rounds):
            bare_runs.append(cpu_ms(bare_one, args.requests))
            runs.append(cpu_ms(one, args.requests))
        bare_ms, ms = min(bare_runs), min(runs)
        target = TARGETS.get(endpoint)
        ratio = bare_ms / ms
        rows.append(
            {
                "endpoint": endpoint,
                "engine": name,
                "cpu_ms": round(ms, 3),
                "bare_cpu_ms": round(bare_ms, 3),
                "ratio": round(ratio, 3),
                "target": target,
                "met": None if target is None else ratio >= target,
                "runs_ms": [round(r, 3) for r in runs],
                "bare_runs_ms": [round(r, 3) for r in bare_runs],
            }
        )
    with app.app_context():
        db.engine.dispose()
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| endpoint | engine | CPU ms/request | bare Flask CPU ms | ratio bare/endpoint "
        "| target | met? |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        target = f"≥ {r['target']}" if r["target"] else ""
        lines.append(
            f"| {r['endpoint']} | {r['engine']} | {r['cpu_ms']:.2f} | {r['bare_cpu_ms']:.2f} "
            f"| {r['ratio']:.2f} | {target} | {met} |"
        )
    return "\n".join(lines)


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server to use too")
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best one counts")
    parser.add_argument("--json", default=None, help="also write the JSON to this file")
    parser.add_argument(
        "--only", action="append", help="only the endpoints whose name holds this (repeatable)"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cpu-bench-"))
    rows: list[dict] = []
    # The app's request log goes to a file, as under gunicorn, not to the terminal.
    with (work / "app.log").open("w") as log, contextlib.redirect_stderr(log):
        rows += run_engine("sqlite", f"sqlite:///{work / 'bench.sqlite'}", args, work)
        if args.database_url:
            with postgres_database(args.database_url, "cpubench") as url:
                rows += run_engine("postgresql", url, args, work)
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "requests": args.requests,
        "rounds": args.rounds,
        "rows": rows,
    }
    print(table(rows))
    print(json.dumps(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
