"""Configuration from the environment, and the embedded SQLite database's settings."""

import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from judging import create_app
from judging.config import ConfigurationError, database_url, load_secret_key
from judging.extensions import db
from judging.models import Award

from .fixtures.mail import deliver_mail

pytestmark = pytest.mark.every_engine  # about what the database does: SQLite and PostgreSQL


def test_a_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(str(tmp_path))
    second = load_secret_key(str(tmp_path))
    assert first == second
    assert len(first) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_secret_key_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert load_secret_key(str(tmp_path)) == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_every_process_starting_at_once_gets_the_same_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    keys, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        keys.append(load_secret_key(str(tmp_path)))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", "sqlite:///{instance}/judging.sqlite"),
        ("postgres://u:p@db/awards", "postgresql+psycopg://u:p@db/awards"),
        ("postgresql://u@db/awards", "postgresql+psycopg://u@db/awards"),
        ("postgresql+psycopg://u@db/awards", "postgresql+psycopg://u@db/awards"),
    ],
)
def test_database_url(tmp_path, monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    assert database_url(str(tmp_path)) == expected.format(instance=tmp_path)


def test_the_app_reads_its_settings_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("BASE_URL", "https://awards.example.org/")
    monkeypatch.setenv("ONLINE_VOTE_LINKS_PER_IP", "600 per hour")
    monkeypatch.delenv("JUDGING_ENV", raising=False)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["BASE_URL"] == "https://awards.example.org"
    assert app.config["ONLINE_VOTE_LINKS_PER_IP"] == "600 per hour"
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/judging.sqlite"
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/0"


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """The environment of a deployment: a key and a database, nothing else set."""
    for name in ("BASE_URL", "TRUSTED_HOSTS", "JUDGING_ENV", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    return monkeypatch


def test_production_refuses_to_start_without_base_url(tmp_path, environment):
    with pytest.raises(ConfigurationError, match="BASE_URL is not set") as refused:
        create_app(instance_path=str(tmp_path))
    assert "https://awards.example.org" in str(refused.value)


@pytest.mark.parametrize("given", ["awards.example.org", "ftp://x.org", "https://x.org/?a=1"])
def test_a_base_url_that_is_not_an_address_is_refused_at_start(tmp_path, environment, given):
    environment.setenv("BASE_URL", given)
    with pytest.raises(ConfigurationError, match="BASE_URL="):
        create_app(instance_path=str(tmp_path))


def mailed_reset_link(app, host: str) -> str:
    """Ask for a reset link with a forged Host header; the link the outbox got."""
    from judging.models import User

    with app.app_context():
        db.create_all()
        db.session.add(User(email="ana@example.org", name="Ana", role="juror", password_hash="x"))
        db.session.commit()
    client = app.test_client()
    base = f"http://{host}"
    page = client.get("/password/forgot", base_url=base).get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    client.post(
        "/password/forgot",
        data={"email": "ana@example.org", "csrf_token": token},
        base_url=base,
    )
    assert deliver_mail(app).sent == 1  # forgot-password only queues it
    (mail,) = (Path(app.instance_path) / "outbox").glob("*.eml")
    with app.app_context():
        db.engine.dispose()
    return next(w for w in mail.read_text().split() if "/password/reset/" in w)


def test_make_run_without_base_url_links_to_127_0_0_1_whatever_the_host(tmp_path, environment):
    environment.setenv("JUDGING_ENV", "development")
    app = create_app(instance_path=str(tmp_path))
    link = mailed_reset_link(app, "evil.example")
    assert link.startswith("http://127.0.0.1:5000/password/reset/")


def test_production_links_come_from_base_url_whatever_the_host(tmp_path, environment):
    environment.setenv("BASE_URL", "https://awards.example.org")
    app = create_app(instance_path=str(tmp_path))
    link = mailed_reset_link(app, "evil.example")
    assert link.startswith("https://awards.example.org/password/reset/")


def test_trusted_hosts_refuse_any_other_host(tmp_path, environment):
    environment.setenv("BASE_URL", "https://awards.example.org")
    environment.setenv("TRUSTED_HOSTS", "awards.example.org, 10.0.0.5")
    app = create_app(instance_path=str(tmp_path))
    client = app.test_client()
    assert client.get("/healthz", base_url="https://awards.example.org").status_code == 200
    assert client.get("/healthz", base_url="http://10.0.0.5").status_code == 200
    refused = client.get("/login", base_url="https://evil.example")
    assert refused.status_code == 400
    assert "not served at the address" in refused.get_data(as_text=True)


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app(
        {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/j.sqlite"},
        instance_path=str(tmp_path),
    )
    with app.app_context():
        db.create_all()
        yield app
        db.engine.dispose()


def test_sqlite_runs_with_foreign_keys_wal_and_a_busy_timeout(sqlite_app):
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_concurrent_writers_on_sqlite_never_see_database_is_locked(sqlite_app):
    """Twelve jurors saving at the same moment: every write lands, none fails."""
    errors, barrier = [], threading.Barrier(12)

    def write(n):
        with sqlite_app.app_context():
            try:
                barrier.wait()
                for i in range(10):
                    db.session.add(Award(slug=f"award-{n}-{i}", title=f"Award {n}/{i}"))
                    db.session.commit()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Award)) == 120


def test_the_time_zone_comes_from_the_environment_and_a_misspelt_one_stops_the_start(
    tmp_path, monkeypatch
):
    from judging.config import from_environment

    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.setenv("TIME_ZONE", "Europe/Brussels")
    assert from_environment(str(tmp_path))["TIME_ZONE"] == "Europe/Brussels"
    monkeypatch.delenv("TIME_ZONE")
    assert from_environment(str(tmp_path))["TIME_ZONE"] == "UTC"
    with pytest.raises(Exception, match="Europe/Brusels"):
        create_app(
            {
                "SECRET_KEY": "k",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
                "TIME_ZONE": "Europe/Brusels",
            },
            instance_path=str(tmp_path),
        )
