"""judging: award judging and voting."""

import os
from pathlib import Path

from flask import Flask

from judging import config, extensions, i18n, inputs, observability
from judging.application import App
from judging.config import PROJECT_ROOT
from judging.passwords import Passwords


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints and CLI commands.

    `test_config` replaces the environment's settings; `instance_path` (default: instance/
    in the project, or JUDGING_INSTANCE_PATH) holds the SQLite file, the generated secret key
    and the local mail outbox.
    """
    app = App(
        __name__,
        instance_path=instance_path
        or os.environ.get("JUDGING_INSTANCE_PATH")
        or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure(app, test_config)
    # First: its request hooks then see every request, even one a later hook refuses.
    observability.register(app)
    # Before the CSRF check, which is the first to read a form.
    inputs.register_body_limits(app)
    _bind_extensions(app)
    _register_parts(app)
    if app.config["MAIL_SENDER_THREAD"]:  # `make run`: the development server sends the mail
        from judging.sender import SenderThread

        SenderThread(app).start()
    return app


def _configure(app: Flask, test_config: dict | None) -> None:
    """The defaults, then the environment's settings (or `test_config`), then what follows."""
    app.config.from_mapping(config.DEFAULTS)
    if test_config is None:
        overrides = config.from_environment(app.instance_path)
        config.require_base_url(overrides)  # refuse to start: links would follow the Host
    else:
        overrides = test_config
    app.config.from_mapping(overrides)
    # Secure cookies everywhere but on a developer's plain-HTTP 127.0.0.1.
    app.config["SESSION_COOKIE_SECURE"] = overrides.get(
        "SESSION_COOKIE_SECURE", not app.config["DEVELOPMENT"]
    )
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.extensions["passwords"] = Passwords(app.config)


def _bind_extensions(app: Flask) -> None:
    # Bound by module attribute: the name `api` is also this package's api/ sub-package.
    extensions.db.init_app(app)
    extensions.migrate.init_app(
        app, extensions.db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True
    )
    extensions.login_manager.init_app(app)
    extensions.login_manager.session_protection = None  # tablets change networks; see access.py
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    extensions.consult_limiter_only_where_limited(app)
    extensions.api.init_app(app)
    i18n.register(app)


def _register_parts(app: Flask) -> None:
    """The blueprints, error pages, template filters, security headers and CLI commands."""
    from judging import cli, errors, filters, ops, security
    from judging.admin import blueprint as admin_blueprint
    from judging.api import blueprint as api_blueprint
    from judging.auth import blueprint as auth_blueprint
    from judging.auth.access import enforce_idle_timeout
    from judging.jury import blueprint as jury_blueprint
    from judging.public import blueprint as public_blueprint

    app.before_request(enforce_idle_timeout)
    app.register_blueprint(public_blueprint)
    app.register_blueprint(ops.blueprint)
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(jury_blueprint, url_prefix="/jury")
    app.register_blueprint(admin_blueprint, url_prefix="/admin")
    extensions.api.register_blueprint(api_blueprint)
    errors.register(app)
    filters.register(app)
    security.register(app)
    cli.register(app)
