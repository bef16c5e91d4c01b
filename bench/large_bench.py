"""The large award's leaderboard, in-process and over HTTP (issue 17, "Large awards").

    python bench/large_bench.py [--database-url URL] [--repeat 5] [--json PATH]

Builds the synthetic award of ranking_bench.py (5,000 nominees, 300 jurors, 25,000 evaluations,
150,000 scores) once per engine, in a throw-away SQLite file and, with --database-url, a
throw-away PostgreSQL database (dropped at the end), with an administrator who logs in through
the login form. Then, per engine:

- in-process: the bare read of the score rows (`results.score_rows`), `results.compute` cold
  (the per-process cache emptied before each run) and cached, best of --repeat; the leaderboard
  through the Flask test client, cold and cached, with the page's size;
- over HTTP: the app under gunicorn (2 gthread workers of 4 threads, as http_bench.py runs it);
  the leaderboard loaded 4 times (so that both workers have served it), then --repeat timed
  loads (median and best), the page's size, and each worker's VmRSS before and after.

Targets: leaderboard median under 1 s over HTTP, page under 1 MB, no worker above 150 MB, the
cold ranking at most twice the bare read. Prints one JSON object per engine (and writes them
all to --json).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from http_bench import Browser, Server  # noqa: E402
from ranking_bench import build  # noqa: E402
from throwaway import postgres_database  # noqa: E402

from judging import create_app  # noqa: E402
from judging.extensions import db  # noqa: E402
from judging.models import Award, Base, User  # noqa: E402
from judging.passwords import app_passwords  # noqa: E402
from judging.services import results  # noqa: E402

# Before the cache existed there was nothing to clear: the same script measures older commits.
clear_cache = getattr(results, "clear_cache", lambda: None)

SECRET = "large-bench-secret"
PASSWORD = "bench password, not for production"
ADMIN = "admin@large-bench.invalid"
PATH = "/admin/awards/large/leaderboard"
TARGET_S, TARGET_PAGE_MB, TARGET_RSS_MB = 1.0, 1.0, 150.0


def timings(repeat: int, fn) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def prepare(url: str, instance: Path) -> float:
    """The large award and an administrator in the empty database at `url`; the build time."""
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url}, instance_path=instance)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        started = time.perf_counter()
        build()
        built = time.perf_counter() - started
        db.session.add(
            User(
                email=ADMIN,
                name="Bench admin",
                role="admin",
                password_hash=app_passwords().hash(PASSWORD),
            )
        )
        db.session.commit()
        db.engine.dispose()
    return built


def in_process(url: str, instance: Path, repeat: int) -> dict:
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url}, instance_path=instance)
    with app.app_context():
        award = db.session.query(Award).filter_by(slug="large").one()
        bare = timings(repeat, lambda: results.score_rows(award))

        def cold():
            clear_cache()
            results.compute(award)

        computed_cold = timings(repeat, cold)
        computed_cached = timings(repeat, lambda: results.compute(award))
        db.session.remove()

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    marker = '<meta name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    token = page[start : page.index('"', start)]
    answer = client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302 and "/login" not in answer.location, answer.status_code
    sizes = []

    def load():
        response = client.get(PATH)
        assert response.status_code == 200, response.status_code
        sizes.append(len(response.data))

    def load_cold():
        clear_cache()
        load()

    page_cold = timings(repeat, load_cold)
    page_cached = timings(repeat, load)
    clear_cache()
    with app.app_context():
        db.engine.dispose()
    return {
        "bare_read_s": round(min(bare), 4),
        "compute_cold_s": round(min(computed_cold), 4),
        "compute_cached_s": round(min(computed_cached), 4),
        "ratio_cold_to_bare": round(min(computed_cold) / min(bare), 2),
        "test_client_leaderboard_cold_s": round(min(page_cold), 3),
        "test_client_leaderboard_cached_s": round(min(page_cached), 3),
        "page_bytes": sizes[-1],
    }


def over_http(url: str, instance: Path, repeat: int, work: Path) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "JUDGING_ENV": "development",  # plain-HTTP cookies on 127.0.0.1
        "JUDGING_INSTANCE_PATH": str(instance),
    }
    server = Server("wsgi:app", chdir=ROOT, env=env, log=work / "gunicorn.log")
    try:
        admin = Browser(server.url)
        admin.log_in(ADMIN)
        rss_before = server.worker_rss_mb()
        first = timings(1, lambda: admin.get(PATH))
        for _ in range(3):  # so that both workers have served it
            admin.get(PATH)
        sizes = []
        times = timings(repeat, lambda: sizes.append(len(admin.get(PATH).encode())))
        rss = server.worker_rss_mb()
    finally:
        server.stop()
    return {
        "http_first_s": round(first[0], 3),
        "http_median_s": round(statistics.median(times), 3),
        "http_best_s": round(min(times), 3),
        "http_runs_s": [round(t, 3) for t in times],
        "http_page_bytes": sizes[-1],
        "worker_rss_before_mb": rss_before,
        "worker_rss_mb": rss,
    }


def run_engine(url: str, repeat: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="large-bench-"))
    instance = work / "instance"
    built = prepare(url, instance)
    report = {"engine": make_url(url).get_backend_name(), "build_s": round(built, 1)}
    report |= in_process(url, instance, repeat)
    report |= over_http(url, instance, repeat, work)
    report["met"] = {
        "leaderboard_under_1s": report["http_median_s"] < TARGET_S,
        "page_under_1mb": report["http_page_bytes"] < TARGET_PAGE_MB * 1e6,
        "rss_under_150mb": max(report["worker_rss_mb"]) < TARGET_RSS_MB,
        "ranking_at_most_2x_bare": report["ratio_cold_to_bare"] <= 2,
    }
    return report


def main() -> list[dict]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the reports to this file")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="large-bench-sqlite-"))
    reports = [run_engine(f"sqlite:///{folder / 'bench.sqlite'}", args.repeat)]
    print(json.dumps(reports[-1]), flush=True)
    if args.database_url:
        with postgres_database(args.database_url, "large_bench") as url:
            reports.append(run_engine(url, args.repeat))
            print(json.dumps(reports[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2) + "\n")
    return reports


if __name__ == "__main__":
    main()
