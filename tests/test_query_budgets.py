"""Query budgets: each busy page reads the database a fixed number of times, whatever the
number of nominees, jurors and ballots (no N+1). A page that grows a query per row fails here.

Every page is measured twice: on the seeded award with 2 jurors and 5 ballots, then after the
award has grown to 3x the nominees (39), 3x the jurors (6, every new one scoring every
nominee) and 3x the ballots (15). The two counts must be equal, and within the page's budget.
"""

import pytest
from sqlalchemy import event, select

from judging.extensions import db
from judging.models import Evaluation, Nominee, ResultSnapshot, Score, utcnow
from judging.services import publication, voting
from judging.services.awards import transition

from .fixtures.domain import csrf_token, log_in
from .fixtures.scoring import draft, evaluation_url

ALL = {"innovation": 6, "impact": 7, "person-centred": 8, "sustainability": 5, "transferability": 6}
NOMINEE = "evikomp"
# Cumulative growth: the second size has 3x the nominees, jurors and ballots of the first.
SIZES = [
    {"nominees": 0, "jurors": 2, "ballots": 5},  # 13 nominees, 2 jurors, 5 ballots
    {"nominees": 26, "jurors": 4, "ballots": 10},  # 39 nominees, 6 jurors, 15 ballots
]

# Budgets: SQL statements per request, counted on the app's engine, as measured when they were
# set (the same on SQLite and PostgreSQL but for AUTOSAVE). Raising one needs a reason (a new
# feature's read), never a loop over rows. A logged-in request starts by reading its user (1).
HOME = 1  # the awards with their nominee counts, one grouped query
PUBLIC_AWARD = 2  # the award, its nominees
PUBLIC_NOMINEE = 2  # the nominee (joined to its award), then the award itself
# The user, the award with the nominee (one join), the juror's seat on the jury, the juror's
# work in the award (every nominee with their evaluation, conflict of interest and assignment,
# in one query: progress, neighbours and the page's own evaluation come from it), the criteria.
# It was 11: the membership, nominees, evaluations and recusals were each read twice. (A juror
# who has saved this evaluation costs one more: its scores.)
EVALUATION_PAGE = 5
# The user, the award with the nominee, the juror's standing (seat, conflict of interest,
# assignment: one query), the criteria, the stored evaluation with its scores (read once),
# the compare-and-set INSERT or UPDATE of the evaluation, one upsert of the score rows that
# changed (and a DELETE when a criterion is cleared), the audit chain's head and the event's
# insert: 9 on SQLite, 10 on PostgreSQL (its ledger lock; the module runs on SQLite in the
# suite, both were checked). It was 17 and 18: the state read before and after, a refresh,
# the scores read three times, the criteria's slugs twice.
AUTOSAVE = 10
# The user, the 2FA setting, the award; the ranking's inputs in grouped reads (criteria,
# nominees, scores, recusals, casting decisions), juror labels, assignment, progress.
LEADERBOARD = 14
PROVISIONAL_RESULTS_JSON = 11  # an admin's live ranking before publication, with the tally
# Published results are the frozen snapshot: the award and the snapshot, nothing recomputed.
PUBLISHED_RESULTS_PAGE = 2
PUBLISHED_RESULTS_JSON = 2
# A card's ballot through the API: the award, the card's credential (with the ballot it cast,
# if any), the chosen nominee alone, the insert (RETURNING the ballot: its receipt is not read
# back). It was 6: every nominee, and the ballot read back after the insert.
BALLOT_CAST = 4
# The ballot is the jury's top N: the award, the credential, the nominees and the ranking's
# grouped reads (criteria, scores, recusals, casting decisions...), the insert.
BALLOT_CAST_TOP_N = 9
VOTE_PAGE = 2  # the printed card's ballot page: the award and its nominees
# The card's form, confirmed: the award, its nominees (the page's list, which finds the choice
# too), the credential, the insert returning the ballot. It was 10; 6 while the redirect to
# the receipt re-read the award after the commit, 5 while the ballot was read back.
VOTE_CONFIRM = 4
# The award, its nominees, and whether the link has already voted (said at once, issue 15).
ONLINE_BALLOT_PAGE = 3
# The award, its nominees, whether the link has voted, the address's credential inserted (or
# found) and read, the ballot's insert returning it. It was 21 and 47 at the two sizes (after
# the commit, finding the chosen nominee re-read every nominee before it), then 9, 8 and 7.
ONLINE_BALLOT_CAST = 6


@pytest.fixture
def queries(app):
    """count(fn) -> how many SQL statements fn ran (in the app's engine, on any thread)."""
    seen = []

    def listener(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", listener)

    def count(fn) -> int:
        seen.clear()
        response = fn()
        assert response.status_code < 400, (response.status_code, response.get_data(as_text=True))
        return len(seen)

    yield count
    event.remove(db.engine, "before_cursor_execute", listener)


def grow(award, make_user, *, nominees: int, jurors: int, ballots: int):
    """Add nominees and jurors, every new juror scoring every nominee (submitted), and ballots
    when the award's vote is open."""
    start = len(award.nominees)
    db.session.add_all(
        Nominee(
            award_id=award.id,
            slug=f"extra-{start + i}",
            title=f"Extra {i}",
            organisation="Org",
            city="City",
            country="Country",
            position=start + i,
        )
        for i in range(nominees)
    )
    db.session.commit()
    db.session.refresh(award)
    criteria = {c.slug: c for c in award.criteria}
    for _ in range(jurors):
        juror = make_user(awards=[award])
        db.session.add_all(
            Evaluation(
                award_id=award.id,
                nominee_id=nominee.id,
                juror_id=juror.id,
                submitted_at=utcnow(),
                scores=[Score(criterion=criteria[s], value=v) for s, v in ALL.items()],
            )
            for nominee in award.nominees
        )
    db.session.commit()
    if voting.voting_is_open(award):
        slugs = [n.slug for n in voting.shortlist(award)]
        for i, code in enumerate(voting.generate_codes(award, ballots, actor=None)):
            voting.cast(award, code=code, nominee_slug=slugs[i % len(slugs)])
        db.session.commit()


def at_two_sizes(app, award, make_user, queries, pages: dict) -> dict[str, tuple[int, int]]:
    """{page: (count at the first size, count at the second)}: each of `pages` maps a name to
    prepare(client), which readies one request (logging in, reading a CSRF token...) and
    returns it, uncounted; only the request itself is counted."""
    counts = {name: [] for name in pages}
    for size in SIZES:
        grow(award, make_user, **size)
        for name, prepare in pages.items():
            request = prepare(app.test_client())
            counts[name].append(queries(request))
    return {name: tuple(pair) for name, pair in counts.items()}


def assert_within_budgets(counts: dict[str, tuple[int, int]], budgets: dict[str, int]):
    """Every page: the same count at both sizes, and no more than its budget."""
    over = [
        f"{name}: {small} then {large} queries, budget {budget}"
        for name, budget in budgets.items()
        for small, large in [counts[name]]
        if not small == large <= budget
    ]
    assert not over, "\n".join(over)


def get(url: str):
    return lambda client: lambda: client.get(url)


def as_user(url: str, make_user, **user):
    def prepare(client):
        assert log_in(client, make_user(**user)).status_code == 302
        return lambda: client.get(url)

    return prepare


def open_voting(award, **settings):
    award.status = "voting"
    for name, value in settings.items():
        setattr(award, name, value)
    db.session.commit()


def last_choice(award) -> str:
    """The last nominee on the ballot: a view that walks the nominees to find the chosen one
    walks them all, and its count grows with the award."""
    return voting.shortlist(award)[-1].slug


def test_pages_while_jurors_score(app, award, make_user, queries):
    def autosave(client):
        log_in(client, make_user(awards=[award]))
        token = csrf_token(client, "/")
        body, headers = draft({"impact": 5}), {"X-CSRFToken": token}
        return lambda: client.put(evaluation_url(NOMINEE), json=body, headers=headers)

    pages = {
        "home": get("/"),
        "award": get("/awards/excellence-award"),
        "nominee": get(f"/awards/excellence-award/nominees/{NOMINEE}"),
        "evaluation page": as_user(
            f"/jury/awards/excellence-award/nominees/{NOMINEE}", make_user, awards=[award]
        ),
        "autosave": autosave,
        "leaderboard": as_user(
            "/admin/awards/excellence-award/leaderboard", make_user, role="admin"
        ),
        "provisional results": as_user(
            "/api/v1/awards/excellence-award/results", make_user, role="admin"
        ),
    }
    counts = at_two_sizes(app, award, make_user, queries, pages)
    assert_within_budgets(
        counts,
        {
            "home": HOME,
            "award": PUBLIC_AWARD,
            "nominee": PUBLIC_NOMINEE,
            "evaluation page": EVALUATION_PAGE,
            "autosave": AUTOSAVE,
            "leaderboard": LEADERBOARD,
            "provisional results": PROVISIONAL_RESULTS_JSON,
        },
    )


def test_the_published_results(app, seeded_award, make_user, queries):
    def publish():
        # Publish at this size: drop the previous snapshot (a test's liberty) and publish anew.
        db.session.execute(
            ResultSnapshot.__table__.delete().where(ResultSnapshot.award_id == seeded_award.id)
        )
        seeded_award.status = "draft"
        transition(seeded_award, "open_scoring", actor=None)
        transition(seeded_award, "close_scoring", actor=None)
        publication.publish(seeded_award, actor=None, override_reason="test")
        db.session.commit()

    def published(url):
        def prepare(client):
            if url.startswith("/awards"):  # the first of the two at each size
                publish()
            return lambda: client.get(url)

        return prepare

    pages = {
        "results page": published("/awards/excellence-award/results"),
        "results JSON": published("/api/v1/awards/excellence-award/results"),
    }
    counts = at_two_sizes(app, seeded_award, make_user, queries, pages)
    assert_within_budgets(
        counts, {"results page": PUBLISHED_RESULTS_PAGE, "results JSON": PUBLISHED_RESULTS_JSON}
    )
    snapshot = db.session.scalar(select(ResultSnapshot))
    assert snapshot.document.count('"slug"') >= 39  # the second count was of the grown award


def test_ballots(app, seeded_award, make_user, queries):
    open_voting(seeded_award, online_vote=True)
    addresses = iter(range(1000))

    def new_code() -> str:
        [code] = voting.generate_codes(seeded_award, 1, actor=None)
        db.session.commit()
        return code

    def online_link() -> str:
        token = voting.verification_token(seeded_award, f"voter{next(addresses)}@example.org")
        return f"/vote/excellence-award/online/{token}"

    def api_cast(client):
        body = {"code": new_code(), "nominee": last_choice(seeded_award)}
        headers = {"X-CSRFToken": csrf_token(client, "/vote/excellence-award")}
        url = "/api/v1/awards/excellence-award/ballots"
        return lambda: client.post(url, json=body, headers=headers)

    def card_confirm(client):
        form = {
            "code": new_code(),
            "nominee": last_choice(seeded_award),
            "action": "confirm",
            "csrf_token": csrf_token(client, "/vote/excellence-award"),
        }
        return lambda: client.post("/vote/excellence-award", data=form)

    def online_page(client):
        url = online_link()
        return lambda: client.get(url)

    def online_cast(client):
        url = online_link()
        form = {
            "nominee": last_choice(seeded_award),
            "action": "confirm",
            "csrf_token": csrf_token(client, url),
        }
        return lambda: client.post(url, data=form)

    pages = {
        "ballot cast (API)": api_cast,
        "card ballot page": get("/vote/excellence-award"),
        "card ballot cast": card_confirm,
        "online ballot page": online_page,
        "online ballot cast": online_cast,
    }
    counts = at_two_sizes(app, seeded_award, make_user, queries, pages)
    assert_within_budgets(
        counts,
        {
            "ballot cast (API)": BALLOT_CAST,
            "card ballot page": VOTE_PAGE,
            "card ballot cast": VOTE_CONFIRM,
            "online ballot page": ONLINE_BALLOT_PAGE,
            "online ballot cast": ONLINE_BALLOT_CAST,
        },
    )


def test_a_ballot_cast_when_only_the_jurys_top_n_are_on_the_ballot(
    app, seeded_award, make_user, queries
):
    open_voting(seeded_award, vote_top_n=5)

    def api_cast(client):
        [code] = voting.generate_codes(seeded_award, 1, actor=None)
        body = {"code": code, "nominee": last_choice(seeded_award)}
        db.session.commit()
        headers = {"X-CSRFToken": csrf_token(client, "/vote/excellence-award")}
        url = "/api/v1/awards/excellence-award/ballots"
        return lambda: client.post(url, json=body, headers=headers)

    counts = at_two_sizes(app, seeded_award, make_user, queries, {"cast": api_cast})
    assert_within_budgets(counts, {"cast": BALLOT_CAST_TOP_N})
