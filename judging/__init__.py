"""judging: award judging and voting."""

import os
from pathlib import Path

from flask import Flask

from judging import config, extensions
from judging.config import PROJECT_ROOT


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints and CLI commands.

    `test_config` replaces the environment's settings; `instance_path` (default: instance/
    in the project, or JUDGING_INSTANCE_PATH) holds the SQLite file, the generated secret key
    and the local mail outbox.
    """
    app = Flask(
        __name__,
        instance_path=instance_path
        or os.environ.get("JUDGING_INSTANCE_PATH")
        or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.DEFAULTS)
    if test_config is None:
        app.config.from_mapping(config.from_environment(app.instance_path))
    else:
        app.config.from_mapping(test_config)

    # Bound by module attribute: the name `api` is also this package's api/ sub-package.
    extensions.db.init_app(app)
    extensions.migrate.init_app(
        app, extensions.db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True
    )
    extensions.csrf.init_app(app)
    extensions.api.init_app(app)

    from judging import cli, errors
    from judging.api.views import blueprint as api_blueprint
    from judging.public.views import blueprint as public_blueprint

    app.register_blueprint(public_blueprint)
    extensions.api.register_blueprint(api_blueprint)
    errors.register(app)
    cli.register(app)
    return app
