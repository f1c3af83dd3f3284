"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL, both ways.

Each test builds its own app on an empty database (a file in tmp_path for SQLite, a private database for
PostgreSQL), so nothing here shares state with the session-wide `app` fixture.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

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


def test_report_columns_are_filled_in_from_existing_rows(empty_app):
    """9360dd4436d1 derives cases.next_visit_due (from the latest visit) and stage_changes.stay_started_at (from the
    previous change) for the rows that exist when it runs."""
    upgrade(revision="eb75123076d2")
    day, t0 = date(2026, 3, 1), datetime(2026, 1, 5, 9, 30)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, org_type, country, created_at) "
                          "VALUES (1, 'NGO', 'NGO', 'PE', :t)"), {"t": t0})
        for case_id in ("c-visited", "c-quiet"):
            conn.execute(text(
                "INSERT INTO cases (id, reference, organisation_id, stage, status, unaccompanied_minor, pregnant, "
                "elderly, ill, version, created_at, updated_at) VALUES (:id, :id, 1, 'reintegration', 'Active', "
                "false, false, false, false, 1, :t, :t)"), {"id": case_id, "t": t0})
        # Recorded in this order: the backdated third visit must not replace the plan made at the latest visit, and
        # of two visits on one day the one recorded later counts.
        visits = [("v1", day, date(2026, 4, 1), t0 + timedelta(days=60)),
                  ("v2", day + timedelta(days=30), date(2026, 5, 15), t0 + timedelta(days=90)),
                  ("v3", day + timedelta(days=30), date(2026, 5, 20), t0 + timedelta(days=91)),
                  ("v4", day + timedelta(days=10), date(2026, 9, 1), t0 + timedelta(days=95))]
        for visit_id, visited_on, due, recorded in visits:
            conn.execute(text(
                "INSERT INTO monitoring_visits (id, case_id, visited_on, economic_score, social_score, "
                "psychosocial_score, next_visit_due, created_at) VALUES (:id, 'c-visited', :v, 3, 3, 3, :d, :r)"),
                {"id": visit_id, "v": visited_on, "d": due, "r": recorded})
        moves = [(None, "intake", t0), ("intake", "shelter", t0 + timedelta(days=3)),
                 ("shelter", "reintegration", t0 + timedelta(days=40))]
        for n, (before, after, at) in enumerate(moves):
            conn.execute(text("INSERT INTO stage_changes (id, case_id, from_stage, to_stage, changed_at) "
                              "VALUES (:id, 'c-visited', :f, :s, :t)"),
                         {"id": f"s{n}", "f": before, "s": after, "t": at})
    upgrade()
    with db.engine.connect() as conn:
        due = dict(conn.execute(text("SELECT id, next_visit_due FROM cases")).all())
        started = dict(conn.execute(text("SELECT id, stay_started_at FROM stage_changes")).all())
    as_date = {k: v if v is None or isinstance(v, date) else date.fromisoformat(v) for k, v in due.items()}
    assert as_date == {"c-visited": date(2026, 5, 20), "c-quiet": None}
    as_time = {k: v if v is None or isinstance(v, datetime) else datetime.fromisoformat(v) for k, v in started.items()}
    assert as_time == {"s0": None, "s1": t0, "s2": t0 + timedelta(days=3)}
