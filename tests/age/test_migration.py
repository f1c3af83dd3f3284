"""Migration a7c1d2e3f4b5 on SQLite and PostgreSQL: ticked "unaccompanied minor" boxes keep the fact, and a person
the box made a child stays one when nothing else records the age; facilities say whom they take (issue 12)."""

from __future__ import annotations

import os
from datetime import date, datetime

import pytest
from alembic import command
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import text

from casemgmt.cases.age import AgeFacts, child_from
from casemgmt.extensions import db
from tests.conftest import BACKENDS, drop_postgres_database, make_test_app, postgres_database
from tests.migrations.logging_guard import keep_logging_config  # noqa: F401  (autouse fixture)

BEFORE, REVISION = "f2b3c4d5e6a7", "a7c1d2e3f4b5"
T0 = datetime(2026, 1, 5, 9, 30)
SEALED = b"\x01\x00\x00\x00\x01ciphertext"  # the migration reads only whether a ciphertext is there

# case id: (box ticked, a date of birth, age band) -> the age basis the upgrade gives
CASES = {
    "ticked-nothing": ((True, False, None), "child_unknown"),
    "ticked-adult-band": ((True, False, "21-23"), "child_unknown"),  # the box said "minor": it wins over a band
    "ticked-child-band": ((True, False, "9-17"), None),  # the band already makes a child
    "ticked-born": ((True, True, "9-17"), "exact"),  # the date of birth decides from now on
    "born": ((False, True, "24-26"), "exact"),
    "nothing": ((False, False, None), None),
}


@pytest.fixture(params=BACKENDS)
def empty_app(request, tmp_path):
    """An app on an empty database, built by the migrations only (as tests/migrations/test_migrations.py)."""
    url = postgres_database(f"age_migration_{os.getpid()}") if request.param == "postgresql" else None
    application = make_test_app(tmp_path, url)
    try:
        with application.app_context():
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if url:
            drop_postgres_database(url)


def _fill() -> None:
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, org_type, country, created_at) "
                          "VALUES (1, 'NGO', 'NGO', 'PE', :t)"), {"t": T0})
        for n, (case_id, ((ticked, born, band), _basis)) in enumerate(CASES.items()):
            conn.execute(text(
                "INSERT INTO cases (id, reference, organisation_id, stage, status, unaccompanied_minor, pregnant, "
                "elderly, ill, version, created_at, updated_at) VALUES (:id, :ref, 1, 'intake', 'Active', :ticked, "
                "false, false, false, 1, :t, :t)"), {"id": case_id, "ref": f"C-{n}", "ticked": ticked, "t": T0})
            conn.execute(text("INSERT INTO persons (id, case_id, date_of_birth, age_band) VALUES (:id, :id, :dob, "
                              ":band)"), {"id": case_id, "dob": SEALED if born else None, "band": band})
        for facility_id, minors in ((1, True), (2, False)):
            conn.execute(text(
                "INSERT INTO facilities (id, organisation_id, name, facility_type, bed_capacity, accepts_minors, "
                "active, created_at, updated_at) VALUES (:id, 1, :name, 'shelter', 4, :minors, true, :t, :t)"),
                {"id": facility_id, "name": f"F{facility_id}", "minors": minors, "t": T0})


def _rows(sql: str) -> dict:
    with db.engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(text(sql))}


def _config(*x_arg: str):
    return current_app.extensions["migrate"].migrate.get_config(x_arg=list(x_arg))


def test_the_upgrade_keeps_every_ticked_box_and_every_child(empty_app):
    upgrade(revision=BEFORE)
    _fill()
    upgrade(revision=REVISION)
    cases = _rows("SELECT id, unaccompanied_or_separated FROM cases")
    assert {k: bool(v[0]) for k, v in cases.items()} == {k: spec[0][0] for k, spec in CASES.items()}
    persons = _rows("SELECT case_id, age_basis, age_band, estimated_age, birth_year FROM persons")
    assert {k: v[0] for k, v in persons.items()} == {k: basis for k, (_spec, basis) in CASES.items()}
    assert all(v[2] is None and v[3] is None for v in persons.values())
    # Whoever the box made a child is still one by the rules of cases.age when no date of birth says otherwise.
    for case_id in ("ticked-nothing", "ticked-adult-band", "ticked-child-band"):
        basis, band = persons[case_id][0], persons[case_id][1]
        assert child_from(AgeFacts(basis=basis, age_band=band), date(2090, 1, 1)), case_id
    assert not child_from(AgeFacts(basis=persons["nothing"][0], age_band=None), date(2026, 1, 1))
    facilities = _rows("SELECT id, age_group FROM facilities")
    assert facilities == {1: ("both",), 2: ("adults",)}


def test_the_downgrade_brings_the_box_back_and_refuses_what_it_cannot_say(empty_app):
    upgrade(revision=BEFORE)
    _fill()
    upgrade(revision=REVISION)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE facilities SET age_group = 'children' WHERE id = 2"))
        # A child recorded without an age whose box was later unticked: only the box can keep them a child.
        conn.execute(text("UPDATE cases SET unaccompanied_or_separated = false WHERE id = 'ticked-nothing'"))
    with pytest.raises(RuntimeError) as refused:
        command.downgrade(_config(), BEFORE)
    message = str(refused.value)
    assert "facility 2 takes children only" in message and "case ticked-nothing is recorded as a child" in message
    assert _rows("SELECT id, age_group FROM facilities")[2] == ("children",)  # nothing was changed
    command.downgrade(_config("allow-data-loss"), BEFORE)
    assert _rows("SELECT id, accepts_minors FROM facilities") in (
        {1: (True,), 2: (True,)}, {1: (1,), 2: (1,)})
    ticked = {k: bool(v[0]) for k, v in _rows("SELECT id, unaccompanied_minor FROM cases").items()}
    assert ticked == {k: spec[0][0] for k, spec in CASES.items()}  # ticked-nothing's box is back
    upgrade(revision=REVISION)
    assert _rows("SELECT case_id, age_basis FROM persons")["ticked-nothing"] == ("child_unknown",)
