"""Settings, read from the environment once, when the app is created."""

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_secret_key(instance_path: str) -> str:
    """The SECRET_KEY from the environment, else one generated once and kept under instance/.

    Several gunicorn workers may start at the same moment. Each writes a candidate key to a
    file of its own and links it into place; a link never replaces an existing file, so the
    first one wins and every process reads back the same complete key.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        candidate = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty; delete it to generate a new key")
    return key


def database_url(instance_path: str) -> str:
    """DATABASE_URL, or an SQLite file under instance/ (the embedded default)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{Path(instance_path) / 'judging.sqlite'}"
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def from_environment(instance_path: str) -> dict:
    """The configuration a deployment controls through environment variables."""
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "SEED_PATH": os.environ.get("SEED_PATH") or DEFAULTS["SEED_PATH"],
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "API_TITLE": "judging",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "SEED_PATH": str(PROJECT_ROOT / "seed" / "shortlist.json"),
}
