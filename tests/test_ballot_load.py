"""Ballots under load, nothing lost or doubled: real gunicorn processes, concurrent clients.

PostgreSQL: two gunicorn processes on two ports share one database; 1,000 ballots from 1,000
codes plus 200 repeats of used codes go to both at once. SQLite: the same with one process.
Exactly 1,000 count, the 200 are refused with a clear message, nothing answers 5xx, and an
independent recount from the database agrees.
"""

import http.cookiejar
import json
import random
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Ballot
from judging.services import voting

from .servers import gunicorns

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL

CODES, REPEATS, CLIENTS = 1000, 200, 24


class Voter:
    """One phone: its own cookie and CSRF token, against one server."""

    def __init__(self, url: str, slug: str):
        self.url, self.slug = url, slug
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        # The ballot page, as a phone opens it (the award page has no form, so no token).
        page = self.opener.open(f"{url}/vote/{slug}", timeout=30).read().decode()
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def vote(self, code: str, nominee: str) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.url}/api/v1/awards/{self.slug}/ballots",
            data=json.dumps({"code": code, "nominee": nominee}).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.token},
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def test_ballots_under_load_are_counted_exactly_once(app, database_url, seeded_award, tmp_path):
    seeded_award.status = "voting"
    db.session.commit()
    codes = voting.generate_codes(seeded_award, CODES, actor=None)
    db.session.commit()
    nominees = [n.slug for n in seeded_award.nominees]
    count = 2 if db.engine.dialect.name == "postgresql" else 1
    with gunicorns(count, database_url, tmp_path) as servers:
        rnd = random.Random(8)
        jobs = [(code, rnd.choice(nominees)) for code in codes]
        jobs += [(rnd.choice(codes), rnd.choice(nominees)) for _ in range(REPEATS)]
        # The repeats go last in each client's queue, so each one's code has been used by then.
        per_client = [jobs[i::CLIENTS] for i in range(CLIENTS)]

        def run(i: int):
            voter = Voter(servers[i % len(servers)].url, seeded_award.slug)
            return [voter.vote(code, nominee) for code, nominee in per_client[i]]

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [a for batch in pool.map(run, range(CLIENTS)) for a in batch]

    statuses = [status for status, _ in answers]
    assert not [s for s in statuses if s >= 500], "a server error under load"
    assert statuses.count(201) == CODES
    refused = [body for status, body in answers if status == 409]
    assert len(refused) == REPEATS
    assert all("already been used" in body["message"] for body in refused)
    db.session.expire_all()
    recount = db.session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.award_id == seeded_award.id)
    )
    assert recount == CODES == voting.tally(seeded_award)["counted"]
    receipts = {body["receipt"] for status, body in answers if status == 201}
    assert len(receipts) == CODES
