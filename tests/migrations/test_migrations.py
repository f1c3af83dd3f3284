"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL, both ways.

Each test builds its own app on an empty database (a file in tmp_path for SQLite, a private database for
PostgreSQL), so nothing here shares state with the session-wide `app` fixture.
"""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from casemgmt.extensions import db
from tests.conftest import BACKENDS, drop_postgres_database, make_test_app, postgres_database


@pytest.fixture(params=BACKENDS)
def empty_app(request, tmp_path):
    """An app on an empty database, without create_all(): only the migrations may build the schema."""
    # The process id keeps two test runs on one machine (two developers, or a developer and CI) apart.
    url = postgres_database(f"migrations_{os.getpid()}") if request.param == "postgresql" else None
    application = make_test_app(tmp_path, url)
    try:
        with application.app_context():
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if url:
            drop_postgres_database(url)


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _differences() -> list:
    """What autogenerate would put in a new revision, configured as env.py configures it."""
    opts = dict(current_app.extensions["migrate"].configure_args)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=opts)
        return compare_metadata(context, db.metadata)


def test_upgrade_to_head_on_an_empty_database(empty_app):
    assert _tables() == set()
    upgrade()
    model_tables = {t.name for t in db.metadata.sorted_tables}
    assert model_tables, "the models define no table"
    assert _tables() == model_tables | {"alembic_version"}


def test_head_revision_matches_the_models(empty_app):
    upgrade()
    differences = _differences()
    assert differences == [], "the migrations and the models disagree; run `flask db migrate`:\n" + "\n".join(
        map(repr, differences)
    )


def test_encrypted_columns_are_plain_binary_in_the_database(empty_app):
    upgrade()
    columns = {c["name"]: c["type"] for c in inspect(db.engine).get_columns("persons")}
    assert columns, "no persons table"
    model_columns = db.metadata.tables["persons"].columns
    encrypted = [c.name for c in model_columns if type(c.type).__name__ == "EncryptedBytes"]
    assert encrypted, "expected encrypted columns on persons"
    for name in encrypted:
        assert columns[name].python_type is bytes, f"persons.{name} is {columns[name]!r}, not binary"


def test_the_comparison_would_notice_a_difference(empty_app):
    """Guards the test above against passing vacuously (say, if it compared against an empty metadata)."""
    upgrade()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE stray_table (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("DROP INDEX ix_cases_created_by")
    kinds = {(diff[0], getattr(diff[1], "name", None)) for diff in _differences() if isinstance(diff, tuple)}
    assert ("remove_table", "stray_table") in kinds
    assert ("add_index", "ix_cases_created_by") in kinds


def test_downgrade_to_base_and_upgrade_again(empty_app):
    upgrade()
    downgrade(revision="base")
    assert _tables() == {"alembic_version"}
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is None
    upgrade()
    assert _differences() == []
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None
