"""Fixtures: an app on a fresh database per test, on SQLite and, when TEST_DATABASE_URL is set,
on PostgreSQL too; a test client; a CLI runner; factories for the domain's rows."""

import contextvars
import email.message
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from judging import create_app
from judging.extensions import db
from judging.mail import outgoing
from judging.models import Award, Base, Evaluation, JuryMember, Score, User, utcnow
from judging.passwords import Passwords
from judging.services.seeding import read_shortlist, seed_shortlist

ROOT = Path(__file__).resolve().parent.parent
SHORTLIST = ROOT / "seed" / "shortlist.json"
IN_CI = bool(os.environ.get("CI"))
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "").strip()

if IN_CI and not POSTGRES_URL:
    raise pytest.UsageError(
        "CI must set TEST_DATABASE_URL: the PostgreSQL tests may not be skipped"
    )

FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1}
PASSWORD = "correct horse battery staple"
# Hashed once for the whole run, so that making a user costs nothing.
PASSWORD_HASH = Passwords(FAST_ARGON2).hash(PASSWORD)

ENGINES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
# Which engines a test runs on. The modules in EVERY_ENGINE are about what the database does
# (constraints, migrations, transactions, concurrency, the queries behind results): they run on
# SQLite and PostgreSQL. Browser journeys run once, on PostgreSQL when it is there (as in
# production and CI). Every other test is about the app, not the database, and runs once on
# SQLite, the quicker of the two: the suite stays within a few minutes.
EVERY_ENGINE = {
    "test_database",
    "test_migrations",
    "test_seed",
    "test_concurrency",
    "test_evaluations",
    "test_results",
    "test_voting",
    "test_ballot_load",
    "test_publication",
    "test_audit",
    "test_admin_nominees",
    "test_config",
    "test_health",
    "test_backup",
    "test_privacy",
}


def _engines_for(item) -> set[str]:
    if item.get_closest_marker("browser"):
        return {ENGINES[-1]}
    if item.module.__name__.rpartition(".")[2] in EVERY_ENGINE:
        return set(ENGINES)
    return {"sqlite"}


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        engine = getattr(item, "callspec", None) and item.callspec.params.get("database_url")
        (drop if engine and engine not in _engines_for(item) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class PostgresDatabases:
    """Throw-away databases on the server named by TEST_DATABASE_URL, one per use.

    Each gets a unique name, so two test runs on one server never collide.
    """

    def __init__(self, url: str):
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"judging_test_{uuid.uuid4().hex[:12]}"
        try:
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # an unreachable server must fail the run, not skip it
            raise RuntimeError(f"PostgreSQL at {self.url} is not usable: {exc}") from exc
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres():
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def fresh_database_url(request, tmp_path_factory):
    """A callable giving the URL of a new, empty database of the given engine."""

    def make(engine: str) -> str:
        if engine == "postgresql":
            return request.getfixturevalue("postgres").create()
        path = tmp_path_factory.mktemp("db") / "judging.sqlite"
        return f"sqlite:///{path}"

    return make


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request, fresh_database_url):
    """One database per engine for the whole run, with the models' tables."""
    url = fresh_database_url(request.param)
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


def _empty_all_tables() -> None:
    # DELETE, not TRUNCATE: on tables this small PostgreSQL deletes far faster than it truncates.
    for table in reversed(Base.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


class CompiledTemplates(BytecodeCache):
    """Templates compiled once for the whole run, not once per test's app (a third of the time
    of a page's first request)."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


class IsolatedClient(FlaskClient):
    """Runs each request in an app context of its own, as a server does.

    The test itself holds an app context (for db.session); without this, requests would share
    its `g` and its session, and a login in one client would leak into another.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_test_app(database_url: str, instance_path: Path):
    """The application as the tests use it: the given database, cheap hashing, own counters."""
    app = create_app(
        {
            "TESTING": True,
            "DEVELOPMENT": True,  # plain-HTTP cookies for the test client and the live server
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "BASE_URL": "http://localhost",  # the test client's address: links in mails open
            # Cheap hashing keeps the suite fast; production parameters are tested apart.
            **FAST_ARGON2,
            # Each app gets its own limiter counters.
            "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        },
        instance_path=str(instance_path),
    )
    app.test_client_class = IsolatedClient
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@contextmanager
def emptied_after(app):
    """The app's context for one test; every table emptied at its end."""
    with app.app_context():
        yield app
        outgoing.wait(timeout=30)  # mail the test's requests queued: sent before tables empty
        db.session.rollback()
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    """The application on a database that is empty at the start of every test."""
    with emptied_after(make_test_app(database_url, tmp_path / "instance")) as app:
        yield app


@pytest.fixture
def make_app(database_url, tmp_path):
    """Another app on the test's database, like a second gunicorn worker: make_app(**config).

    Unlike `app`, its configuration is production's unless overridden (no DEVELOPMENT).
    """
    made = []

    def make(**config):
        other = create_app(
            {
                "SECRET_KEY": "test-secret-key-not-for-production",
                "SQLALCHEMY_DATABASE_URI": database_url,
                **FAST_ARGON2,
                **config,
            },
            instance_path=str(tmp_path / f"app{len(made)}"),
        )
        other.test_client_class = IsolatedClient
        other.jinja_env.bytecode_cache = COMPILED_TEMPLATES
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded_award(app):
    """The Excellence Award with its 13 nominees and 5 criteria, as `make run` loads it."""
    report = seed_shortlist(read_shortlist(SHORTLIST), actor=None)
    db.session.commit()
    return db.session.scalar(db.select(Award).where(Award.slug == report.award))


@pytest.fixture
def award(seeded_award):
    """The Excellence Award, open for scoring."""
    seeded_award.status = "scoring"
    db.session.commit()
    return seeded_award


@pytest.fixture
def juror(make_user, award):
    """A juror of the award open for scoring."""
    return make_user(role="juror", awards=[award])


@pytest.fixture
def juror_client(client, juror):
    """The test client, logged in as that juror."""
    assert log_in(client, juror).status_code == 302
    return client


@pytest.fixture
def make_user(app):
    """Create a user whose password is PASSWORD: make_user(role="admin", awards=[award])."""
    counter = iter(range(1, 10_000))

    def make(
        *,
        email: str | None = None,
        name: str | None = None,
        role: str = "juror",
        active: bool = True,
        invited: bool = False,
        awards=(),
    ) -> User:
        n = next(counter)
        user = User(
            email=email or f"{role}{n}@example.org",
            name=name or f"{role.title()} {n}",
            role=role,
            active=active,
            password_hash=None if invited else PASSWORD_HASH,
        )
        db.session.add(user)
        db.session.flush()
        db.session.add_all(JuryMember(award_id=award.id, user_id=user.id) for award in awards)
        db.session.commit()
        return user

    return make


def log_in(client, user: User, password: str = PASSWORD):
    """Log in through the real form, CSRF token and all; return the response."""
    return client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": csrf_token(client)},
    )


def csrf_token(client, url: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's meta tag."""
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert "csrf-token" in page, (response.status_code, response.location, page[:300])
    marker = '<meta name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


@pytest.fixture
def logged_in(client, make_user):
    """A client logged in as a new user: logged_in(role="admin") returns (client, user)."""

    def login(**user_options):
        user = make_user(**user_options)
        response = log_in(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client, user

    return login


@pytest.fixture
def make_evaluation(app):
    """Create an evaluation: make_evaluation(nominee, juror, {"impact": 7}, submitted=True)."""

    def make(
        nominee,
        juror,
        scores: dict[str, int] | None = None,
        *,
        submitted: bool = False,
        comment: str = "",
    ) -> Evaluation:
        criteria = {c.slug: c for c in nominee.award.criteria}
        evaluation = Evaluation(
            award_id=nominee.award_id,
            nominee_id=nominee.id,
            juror_id=juror.id,
            comment=comment,
            submitted_at=utcnow() if submitted else None,
            scores=[
                Score(criterion=criteria[slug], value=value)
                for slug, value in (scores or {}).items()
            ],
        )
        db.session.add(evaluation)
        db.session.commit()
        return evaluation

    return make


@pytest.fixture
def redis_url():
    """The Redis the limiter counts in when REDIS_URL is set (database 15, for tests)."""
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed for this test and is not reachable at {url}: {exc}")
    return url


# --- Real mail: an SMTP server on loopback ------------------------------------------------------


class Inbox:
    """What the loopback SMTP server received, as parsed messages.

    `accepting.clear()` makes it a slow server: it holds each message, its sender waiting for the
    answer, until `accepting.set()` (or 5 seconds)."""

    def __init__(self):
        import threading

        from aiosmtpd.handlers import Message

        class Collect(Message):
            def __init__(inner):
                super().__init__(message_class=email.message.EmailMessage)

            def handle_message(inner, message):
                self.accepting.wait(timeout=5)
                self.messages.append(message)

        self.messages = []
        self.accepting = threading.Event()
        self.accepting.set()
        self.handler = Collect()


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on a free loopback port, and the app sending to it."""
    from aiosmtpd.controller import Controller

    from .servers import free_port

    inbox = Inbox()
    controller = Controller(inbox.handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield inbox
    controller.stop()


# --- The real browser: Playwright driving Debian's Chromium ------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)  # in CI a browser test may never be skipped
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait up to 15 s: a shared CI machine can be slow for a moment.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free loopback port, in a thread, for the browser."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = server.url  # links in mails and on printed cards lead back to it
    yield server
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser):
    """A fresh browser tab at tablet size (jurors' usual device)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    yield page
    context.close()
