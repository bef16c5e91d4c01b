"""Ranking a large award: the time of results.compute beside a bare read of the same rows.

    python bench/ranking_bench.py [--database-url URL] [--repeat 5]

Builds a synthetic award of 5,000 nominees, 300 jurors, 6 criteria and 5 submitted
evaluations per nominee (25,000 evaluations, 150,000 scores) in a throw-away database
(SQLite in a temporary folder by default; with a PostgreSQL URL, a new database on that
server), then reports the best of --repeat runs of each. Goal: ranking at most twice the bare
read, and under one second. The bare read is `results.score_rows` (every row, as a list); the
streamed read, the same SELECT consumed row by row as `results.compute` reads it.
"""

import argparse
import collections
import json
import os
import random
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from judging import create_app
from judging.extensions import db
from judging.models import Award, Base, Criterion, Evaluation, JuryMember, Nominee, Score, User
from judging.services import results

NOMINEES, JURORS, CRITERIA, PER_NOMINEE = 5000, 300, 6, 5


def build(award_slug: str = "large") -> Award:
    rnd = random.Random(42)
    now = datetime(2026, 11, 1)
    award = Award(slug=award_slug, title="A large synthetic award", status="closed")
    db.session.add(award)
    db.session.flush()
    db.session.execute(
        insert(Criterion),
        [
            {
                "award_id": award.id,
                "slug": f"c{i}",
                "name": f"Criterion {i}",
                "weight": i + 1,
                "scale_min": 1,
                "scale_max": 10,
                "position": i,
            }
            for i in range(CRITERIA)
        ],
    )
    db.session.execute(
        insert(Nominee),
        [
            {
                "award_id": award.id,
                "slug": f"n{i}",
                "title": f"Nominee {i}",
                "organisation": "Org",
                "city": "City",
                "country": "Country",
                "summary": "",
                "position": i,
            }
            for i in range(NOMINEES)
        ],
    )
    db.session.execute(
        insert(User),
        [
            {
                "email": f"juror{i}@bench.invalid",
                "name": f"Juror {i}",
                "role": "juror",
                "active": True,
                "session_version": 1,
            }
            for i in range(JURORS)
        ],
    )
    criteria = (
        db.session.execute(
            text("SELECT id FROM criterion WHERE award_id = :a ORDER BY position"), {"a": award.id}
        )
        .scalars()
        .all()
    )
    nominees = (
        db.session.execute(
            text("SELECT id FROM nominee WHERE award_id = :a ORDER BY position"), {"a": award.id}
        )
        .scalars()
        .all()
    )
    jurors = (
        db.session.execute(
            text("SELECT id FROM user_account WHERE email LIKE '%@bench.invalid' ORDER BY id")
        )
        .scalars()
        .all()
    )
    db.session.execute(insert(JuryMember), [{"award_id": award.id, "user_id": j} for j in jurors])
    evaluations = []
    for nominee in nominees:
        for juror in rnd.sample(jurors, PER_NOMINEE):
            evaluations.append(
                {
                    "award_id": award.id,
                    "nominee_id": nominee,
                    "juror_id": juror,
                    "comment": "",
                    "submitted_at": now,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    db.session.execute(insert(Evaluation), evaluations)
    ids = (
        db.session.execute(text("SELECT id FROM evaluation WHERE award_id = :a"), {"a": award.id})
        .scalars()
        .all()
    )
    db.session.execute(
        insert(Score),
        [
            {"evaluation_id": e, "criterion_id": c, "value": rnd.randint(1, 10), "comment": ""}
            for e in ids
            for c in criteria
        ],
    )
    db.session.commit()
    return award


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    dropper = None
    if args.database_url:
        server = make_url(args.database_url).set(drivername="postgresql+psycopg")
        name = f"judging_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)

        def dropper():
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        folder = tempfile.mkdtemp()
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
    app = create_app(
        {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url}, instance_path=tempfile.mkdtemp()
    )
    try:
        with app.app_context():
            Base.metadata.create_all(db.engine)
            start = time.perf_counter()
            award = build()
            built = time.perf_counter() - start
            bare = best_of(args.repeat, lambda: results.score_rows(award))
            # The same rows as results.compute reads them: streamed, each dropped at once.
            streamed = best_of(
                args.repeat, lambda: collections.deque(results.stream_score_rows(award), 0)
            )

            # The ranking itself: computed afresh, as publication does. The leaderboard's path
            # also reads a fingerprint of the scores first, to look in the per-process cache.
            ranked = best_of(args.repeat, lambda: results.compute(award, cached=False))

            def cold():
                results.clear_cache()
                results.compute(award)

            cold_cached = best_of(args.repeat, cold)
            fingerprint = best_of(args.repeat, lambda: results.scores_fingerprint(award))
            engine = db.engine.dialect.name
            db.engine.dispose()
    finally:
        if dropper:
            dropper()
    report = {
        "engine": engine,
        "scores": NOMINEES * PER_NOMINEE * CRITERIA,
        "build_s": round(built, 2),
        "bare_read_s": round(bare, 4),
        "streamed_read_s": round(streamed, 4),
        "ranking_s": round(ranked, 4),
        "fingerprint_s": round(fingerprint, 4),
        "cold_leaderboard_compute_s": round(cold_cached, 4),
        "ratio": round(ranked / bare, 2),
        "ratio_to_streamed": round(ranked / streamed, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "goal_met": ranked <= 2 * bare and ranked < 1.0,
    }
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
