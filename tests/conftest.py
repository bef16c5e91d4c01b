"""Fixtures: an app on a fresh database per test, on SQLite and, when TEST_DATABASE_URL is set,
on PostgreSQL too; a test client; a CLI runner; factories for the domain's rows."""

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from judging import create_app
from judging.extensions import db
from judging.models import Award, Base, Evaluation, Score, User, utcnow
from judging.services.seeding import read_shortlist, seed_shortlist

ROOT = Path(__file__).resolve().parent.parent
SHORTLIST = ROOT / "seed" / "shortlist.json"
IN_CI = bool(os.environ.get("CI"))
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "").strip()

if IN_CI and not POSTGRES_URL:
    raise pytest.UsageError(
        "CI must set TEST_DATABASE_URL: the PostgreSQL tests may not be skipped"
    )

ENGINES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


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
    tables = Base.metadata.sorted_tables
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database_url, tmp_path):
    """The application on a database that is empty at the start of every test."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": database_url,
        },
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        yield app
        db.session.rollback()
        _empty_all_tables()
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
def make_user(app):
    """Create a user: make_user(role="admin", email=...)."""
    counter = iter(range(1, 10_000))

    def make(
        *,
        email: str | None = None,
        name: str | None = None,
        role: str = "juror",
        active: bool = True,
    ) -> User:
        n = next(counter)
        user = User(
            email=email or f"{role}{n}@example.org",
            name=name or f"{role.title()} {n}",
            role=role,
            active=active,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


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
    from playwright.sync_api import sync_playwright

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
