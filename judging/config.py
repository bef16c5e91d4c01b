"""Settings, read from the environment once, when the app is created."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


class ConfigurationError(RuntimeError):
    """A setting the app cannot run without, or cannot read; the message names it."""


def base_url() -> str | None:
    """BASE_URL, the only source of the links in emails (checked: an http(s) address)."""
    url = os.environ.get("BASE_URL", "").strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"BASE_URL={url!r} is not an address such as https://awards.example.org."
        )
    return url


def require_base_url(settings: dict) -> None:
    """Production needs BASE_URL: taking links from the request's Host header instead would let
    anyone have a reset link mailed that points to their own server. Without it, development
    (`make run`) links to http://127.0.0.1:5000."""
    if not settings["BASE_URL"] and not settings["DEVELOPMENT"]:
        raise ConfigurationError(
            "BASE_URL is not set. Set it to the public address people use, for example "
            "BASE_URL=https://awards.example.org: the links in invitation, password-reset and "
            "voting emails are built from it. (JUDGING_ENV=development, which `make run` "
            "sets, may leave it out.)"
        )


def trusted_hosts() -> list[str] | None:
    """TRUSTED_HOSTS: host names requests may carry (comma-separated); others are refused."""
    hosts = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    return hosts or None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _number(name: str) -> float:
    """A numeric setting from the environment, of its default's type (an int stays an int)."""
    value, default = os.environ.get(name, "").strip(), DEFAULTS[name]
    if not value:
        return default
    try:
        return type(default)(value)
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not a number") from None


def from_environment(instance_path: str) -> dict:
    """The configuration a deployment controls through environment variables."""
    env = os.environ.get
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        # Keys the audit chain (docs/audit.md); unset: derived from SECRET_KEY.
        "AUDIT_KEY": env("AUDIT_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "REDIS_URL": env("REDIS_URL") or None,
        "SEED_PATH": env("SEED_PATH") or DEFAULTS["SEED_PATH"],
        # development: plain-HTTP cookies and no HSTS, for `make run` on 127.0.0.1.
        "DEVELOPMENT": env("JUDGING_ENV", "production") == "development",
        "BASE_URL": base_url(),
        "TRUSTED_HOSTS": trusted_hosts(),
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES") or 0),
        "MAIL_SERVER": env("MAIL_SERVER") or None,
        "MAIL_PORT": int(env("MAIL_PORT") or 25),
        "MAIL_USERNAME": env("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_FROM": env("MAIL_FROM") or DEFAULTS["MAIL_FROM"],
        # `make run` sets it: the development server delivers the outbox itself (sender.py).
        "MAIL_SENDER_THREAD": _flag("MAIL_SENDER_THREAD"),
        **{name: _number(name) for name in SENDER_SETTINGS},
        "TIME_ZONE": env("TIME_ZONE") or DEFAULTS["TIME_ZONE"],
        "DEFAULT_LANGUAGE": env("DEFAULT_LANGUAGE") or "en",
        "LOG_FORMAT": env("LOG_FORMAT") or DEFAULTS["LOG_FORMAT"],
        "LOG_LEVEL": env("LOG_LEVEL") or DEFAULTS["LOG_LEVEL"],
        "ONLINE_VOTE_LINKS_PER_IP": env("ONLINE_VOTE_LINKS_PER_IP")
        or DEFAULTS["ONLINE_VOTE_LINKS_PER_IP"],
        **{name: int(env(name) or DEFAULTS[name]) for name in RETENTION_SETTINGS},
    }


DEFAULTS: dict[str, Any] = {
    # hide_parameters: a database error's message never carries an email or a hash into a log.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "API_TITLE": "judging",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "SEED_PATH": str(PROJECT_ROOT / "seed" / "shortlist.json"),
    "DEVELOPMENT": False,
    "BASE_URL": None,
    "TRUSTED_PROXIES": 0,
    "REDIS_URL": None,
    "AUDIT_KEY": None,
    # Mail: without MAIL_SERVER, messages land in instance/outbox/.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_TIMEOUT": 10,
    "MAIL_FROM": "awards@example.org",
    "MAIL_SENDER_NAME": "Awards",
    # The outbox's sender (judging/sender.py, `flask mail send`): a message is tried again
    # 30 s after its first failure, then after twice as long each time (at most an hour), and
    # marked failed after 8 attempts (about an hour and a half); a 5xx refusal fails at once.
    "MAIL_SENDER_THREAD": False,
    "MAIL_MAX_ATTEMPTS": 8,
    "MAIL_RETRY_SECONDS": 30,
    "MAIL_RETRY_MAX_SECONDS": 3600,
    # A sender holds the messages it claimed this long: one killed mid-delivery delays them by
    # at most this much. Far longer than a batch takes (MAIL_BATCH x MAIL_TIMEOUT at worst).
    "MAIL_CLAIM_SECONDS": 300,
    "MAIL_BATCH": 20,
    # How often an idle sender looks for new messages.
    "MAIL_POLL_SECONDS": 2.0,
    # argon2id, RFC 9106's second recommended option (argon2-cffi's defaults).
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "ARGON2_PARALLELISM": 4,
    # Sessions: a signed cookie that dies with the user's session_version.
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    # The language of a page when neither the visitor's choice nor the browser's says one the
    # page is offered in (judging/i18n.py).
    "DEFAULT_LANGUAGE": "en",
    # The cookie is sent again only when the session changed (auth/access.py, SEEN_AT_EVERY_S),
    # not with every answer: two answers that cross cannot undo each other's change.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "IDLE_TIMEOUT": {"admin": timedelta(minutes=30), "juror": timedelta(hours=10)},
    # Publishing, role changes and deactivations need a password typed this recently.
    "FRESH_LOGIN_WINDOW": timedelta(minutes=10),
    "INVITATION_LIFETIME": timedelta(hours=72),
    "RESET_LIFETIME": timedelta(hours=1),
    # Request bodies (judging/inputs.py): every request at most just above the nominee import's
    # 10 MB file; form fields held in memory at most 1 MiB (the nominee import: the whole limit);
    # JSON API bodies at most 64 KiB, an evaluation's 1 MiB (a comment per criterion, each up to
    # 10,000 characters of up to 4 bytes). Anything bigger is a 413, read no further.
    "MAX_CONTENT_LENGTH": 11 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
    "API_MAX_BODY": 64 * 1024,
    "EVALUATION_MAX_BODY": 1024 * 1024,
    # A CSRF token lives as long as the session: a juror's page open all day still saves.
    "WTF_CSRF_TIME_LIMIT": None,
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
    "LOGIN_LIMIT_PER_IP": "20 per 15 minutes",
    # Refused ballots (unknown or used codes) per address; accepted ones are never limited.
    # Generous: codes carry 80 bits, and a hall full of voters may share one address.
    "VOTE_FAILURES_PER_IP": "300 per minute",
    # Online-vote links asked for per client address (each mailbox: 3 an hour whatever the
    # address). Attendees scanning the room's online-vote QR code all share the venue's address:
    # raise it for a ceremony (ONLINE_VOTE_LINKS_PER_IP="600 per hour").
    "ONLINE_VOTE_LINKS_PER_IP": "20 per hour",
    # Every date and time is shown, and typed in the award forms, in this IANA zone
    # (judging/dates.py); the database keeps UTC.
    "TIME_ZONE": "UTC",
    # Logs (see judging/observability.py): json or text, on stderr.
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # /readyz answers 503 when the database has not answered SELECT 1 within this many seconds.
    "READYZ_TIMEOUT": 2.0,
    # Retention, in days (`flask purge` removes what is older; the privacy page quotes them).
    # Voters' IP and browser hashes and voting credentials, after the award's publication:
    "RETENTION_DAYS_AFTER_PUBLICATION": 90,
    # Invitation and reset links after they expired or were used; used recovery codes:
    "RETENTION_DAYS_ACCOUNT_TOKENS": 30,
    # Copies of sent mail in instance/outbox/ (only without a mail server):
    "RETENTION_DAYS_OUTBOX": 7,
}
SENDER_SETTINGS = (
    "MAIL_MAX_ATTEMPTS",
    "MAIL_RETRY_SECONDS",
    "MAIL_RETRY_MAX_SECONDS",
    "MAIL_CLAIM_SECONDS",
    "MAIL_BATCH",
    "MAIL_POLL_SECONDS",
)
RETENTION_SETTINGS = (
    "RETENTION_DAYS_AFTER_PUBLICATION",
    "RETENTION_DAYS_ACCOUNT_TOKENS",
    "RETENTION_DAYS_OUTBOX",
)
