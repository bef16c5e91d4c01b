"""gunicorn's settings for judging. gunicorn reads ./gunicorn.conf.py by itself when started from
the project directory (`gunicorn --workers 4 --bind 0.0.0.0:8000`); elsewhere pass
`-c /path/to/gunicorn.conf.py`. Command-line options override what is set here.

What matters here is the logs (docs/operations.md):
- gunicorn's access log stays off. Its lines print the raw request line, and raw paths and query
  strings carry invitation tokens, vote codes and voting links. The app writes one line per
  request itself, naming the route pattern (`/invitation/<token>`) and a request id.
- gunicorn's own messages go to stderr in the app's LOG_FORMAT (json or text), so that a log
  collector reading JSON gets nothing but JSON lines.
- gunicorn never logs below INFO, whatever LOG_LEVEL says: at DEBUG it prints its whole
  configuration, environment variables passed with -e (a SECRET_KEY, a DATABASE_URL) included.
"""

import os

wsgi_app = "wsgi:app"

accesslog = None
# Recent gunicorn opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl): two
# apps on one host, or parallel test runs, would take it from each other. Enable it per
# deployment, each with its own --control-socket path. (Older gunicorn ignores this setting.)
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
if loglevel not in {"info", "warning", "error", "critical"}:
    loglevel = "info"

_formatter = {"json": "JsonFormatter", "text": "TextFormatter"}.get(
    os.environ.get("LOG_FORMAT", "text").lower(), "TextFormatter"
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    # The app puts its own handler on the root logger in each worker (judging/observability.py).
    "root": {"handlers": []},
    "loggers": {
        # No level here: gunicorn's --log-level (or `loglevel` above) sets it.
        "gunicorn.error": {"handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": ["null"], "propagate": False},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "app",
            "stream": "ext://sys.stderr",
        },
        "null": {"class": "logging.NullHandler"},
    },
    "formatters": {"app": {"()": f"judging.observability.{_formatter}"}},
}
