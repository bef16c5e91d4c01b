"""The Alembic revisions build exactly the schema the models describe, on every engine."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from judging import create_app
from judging.extensions import db
from judging.models import Base

from .conftest import ENGINES


@pytest.fixture(params=ENGINES)
def empty_app(request, fresh_database_url, tmp_path):
    app = create_app(
        {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": fresh_database_url(request.param)},
        instance_path=str(tmp_path),
    )
    with app.app_context():
        yield app
        db.engine.dispose()


def test_upgrade_from_empty_matches_the_models(empty_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_downgrade_to_base_removes_every_table(empty_app):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
