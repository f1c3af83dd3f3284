"""The migrations run in one transaction that commits only when every foreign key holds (issue 11).

Each test adds revisions of its own on top of a copy of migrations/ and runs them against a copy of the demo
database: a run that fails half-way must leave the database exactly as it was, with no `_alembic_tmp_*` table, and on
SQLite the run must have foreign keys off (or rebuilding a table empties the tables that refer to it) and leave every
connection of the application's pool with foreign keys on again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import exc, text

from casemgmt.extensions import db
from casemgmt.migrating import ForeignKeyViolations
from tests.migrations.demo_data import differences, snapshot

REVISION = '''
from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None
downgrade_drops = []


def upgrade():
{body}


def downgrade():
    pass
'''

# Records, in a table of its own, whether foreign keys are on while the migration runs.
RECORD_FOREIGN_KEYS = """\
    op.create_table("zz_marker", sa.Column("value", sa.Integer()))
    if op.get_bind().dialect.name == "sqlite":
        value = op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar_one()
        op.execute(sa.text("INSERT INTO zz_marker (value) VALUES (:v)").bindparams(v=value))"""

# Rebuilds cases on SQLite (batch mode) and fails copying its rows: most cases are open (no closed_at).
FAIL_REBUILDING_CASES = """\
    with op.batch_alter_table("cases") as batch_op:
        batch_op.alter_column("closed_at", existing_type=sa.DateTime(), nullable=False)"""

# Deletes two cases without their persons, stage changes...: with foreign keys off nothing stops it.
ORPHAN_ROWS = """\
    op.execute("DELETE FROM cases WHERE id IN (SELECT id FROM cases ORDER BY id LIMIT 2)")"""


def _with_revisions(tmp_path: Path, *bodies: str) -> str:
    """A copy of the migrations directory with `bodies` as new revisions after head; returns the directory."""
    directory = tmp_path / "migrations"
    shutil.copytree(current_app.extensions["migrate"].directory, directory,
                    ignore=shutil.ignore_patterns("__pycache__"))
    down = ScriptDirectory(str(directory)).get_current_head()
    for number, body in enumerate(bodies, 1):
        revision = f"ffff0000000{number}"
        (directory / "versions" / f"{revision}_test.py").write_text(
            REVISION.format(revision=revision, down_revision=down, body=body))
        down = revision
    return str(directory)


def _state():
    with db.engine.connect() as connection:
        return snapshot(connection)


def _changes(before, after) -> list[str]:
    """Tables added or removed, then rows and values changed (names and counts only)."""
    tables = [f"table {name} {'added' if name in after else 'removed'}" for name in sorted(set(before) ^ set(after))]
    return tables + differences(before, after)


def _foreign_keys_of_pooled_connections() -> list[int]:
    connections = [db.engine.connect() for _ in range(3)]
    try:
        return [c.exec_driver_sql("PRAGMA foreign_keys").scalar_one() for c in connections]
    finally:
        for connection in connections:
            connection.close()


def test_a_failed_migration_changes_nothing(demo_app, tmp_path):
    """The first revision succeeds, the second fails: the first is rolled back too, and the half-built copy of
    cases (`_alembic_tmp_cases` on SQLite) goes with it."""
    directory = _with_revisions(tmp_path, RECORD_FOREIGN_KEYS, FAIL_REBUILDING_CASES)
    before = _state()
    with pytest.raises(exc.IntegrityError):
        upgrade(directory=directory)
    assert _changes(before, _state()) == []
    if db.engine.dialect.name == "sqlite":
        assert _foreign_keys_of_pooled_connections() == [1, 1, 1]


def test_foreign_keys_are_off_while_migrating_and_on_again_after(sqlite_only, demo_app, tmp_path):
    """(PostgreSQL keeps its foreign keys on: it rebuilds no table.)"""
    upgrade(directory=_with_revisions(tmp_path, RECORD_FOREIGN_KEYS))
    assert db.session.execute(text("SELECT value FROM zz_marker")).scalars().all() == [0]
    assert _foreign_keys_of_pooled_connections() == [1, 1, 1]


def test_rows_left_without_their_parent_roll_the_migration_back(sqlite_only, demo_app, tmp_path):
    """(PostgreSQL checks foreign keys at each statement.)"""
    config = current_app.extensions["migrate"].migrate.get_config(_with_revisions(tmp_path, ORPHAN_ROWS))
    before = _state()
    with pytest.raises(ForeignKeyViolations) as refused:
        command.upgrade(config, "head")
    message = str(refused.value)
    assert "nothing was changed" in message
    assert "  persons: 2 rows refer to missing rows of cases" in message.splitlines()
    assert "  data_keys: 2 rows refer to missing rows of cases" in message.splitlines()
    assert _changes(before, _state()) == []
    assert _foreign_keys_of_pooled_connections() == [1, 1, 1]
