"""Every revision, down and up again, keeps every row it does not declare dropped, on SQLite and PostgreSQL, with the
demo data in every table (issue 11).

On SQLite batch mode rebuilds a table by copying it and dropping the original. The migrations used to run with
foreign keys on (the application's engine turns them on for every connection), so `DROP TABLE cases` emptied every
table that refers to cases, silently, and a rebuild of `users` failed half-way and left `_alembic_tmp_users` behind.
"""

from __future__ import annotations

import re

import pytest
from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from casemgmt.extensions import db
from casemgmt.migrating import ALLOW_DATA_LOSS, DataLossRefused, foreign_key_violations
from tests.cli.support import run_cli
from tests.conftest import make_test_app
from tests.migrations.demo_data import differences, snapshot

ALLOW = [ALLOW_DATA_LOSS]


def _scripts():
    """The revisions from head down to the first."""
    config = current_app.extensions["migrate"].migrate.get_config()
    return list(ScriptDirectory.from_config(config).walk_revisions())


def _snapshot():
    with db.engine.connect() as connection:
        return snapshot(connection)


def _current() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _leftovers() -> list[str]:
    """Tables a batch rebuild left behind, and (SQLite) rows whose parent is missing."""
    with db.engine.connect() as connection:
        found = [name for name in inspect(connection).get_table_names() if name.startswith("_alembic_tmp_")]
        if connection.dialect.name == "sqlite":
            found += [f"{table} -> {parent}: {count}" for (table, parent), count in
                      foreign_key_violations(connection).items()]
    return found


def _declared(script, name: str = "downgrade_drops") -> list[str]:
    return list(getattr(script.module, name, []))


def _gone(target: str, after) -> bool:
    table, _, column = target.partition(".")
    if table not in after:
        return True
    return bool(column) and all(column not in row for row in after[table].values())


def _audit_verify() -> str:
    db.session.remove()
    result = run_cli(current_app, ["audit", "verify"])
    return result.output


def test_every_revision_keeps_the_data_it_does_not_declare_dropped(demo_app):
    head = _snapshot()
    assert all(head.values()), "every table should have rows"
    crossed: list[str] = []
    rederived: dict[str, str] = {}
    for script in _scripts():
        before = _snapshot()
        downgrade(revision=script.down_revision or "base", x_arg=ALLOW)
        after = _snapshot()
        assert _current() == script.down_revision
        assert _leftovers() == [], f"after the downgrade of {script.revision}"
        changed = differences(before, after, skip={"alembic_version"})
        assert changed == [], f"the downgrade of {script.revision} changed rows it keeps"
        for target in _declared(script) + _declared(script, "downgrade_rederives"):
            assert _gone(target, after), f"{script.revision} declares {target} dropped, but it is still there"
        crossed += _declared(script)
        # A derived column comes back as upgrade() computes it again: without its data if its source was dropped.
        rederived.update(getattr(script.module, "downgrade_rederives", {}))
        crossed += [column for column, source in rederived.items() if source in crossed]
        if script.down_revision is None:
            break  # nothing left to compare
        upgrade()
        assert _leftovers() == []
        lost = differences(head, _snapshot(), skip=set(crossed))
        assert lost == [], f"a round trip through {script.revision} lost data its revisions do not declare dropped"
        verified = _audit_verify()
        if any(target.startswith("audit_events") for target in crossed):
            # The hash of an event covers its subject organisation: losing it is what the refusal protects.
            assert "audit chain BROKEN" in verified
        else:
            assert "audit chain intact" in verified, verified
        downgrade(revision=script.down_revision, x_arg=ALLOW)  # back to where the walk down has got to


CHILDREN_OF_CASES = ("persons", "data_keys", "case_codes", "stage_changes", "consent_records", "placements",
                     "return_plans", "documents", "tasks")


def test_rebuilding_cases_and_users_keeps_the_rows_that_refer_to_them(demo_app):
    """The bug of issue 11: 9360dd4436d1's downgrade rebuilds cases and 3455bdec95f5's rebuilds users and cases."""
    before = _snapshot()
    downgrade(revision="9360dd4436d1", x_arg=ALLOW)
    downgrade(revision="eb75123076d2")  # one step, which drops nothing
    assert _current() == "eb75123076d2"
    after = _snapshot()
    assert {t: len(after[t]) for t in CHILDREN_OF_CASES} == {t: len(before[t]) for t in CHILDREN_OF_CASES}
    assert _leftovers() == []
    downgrade(revision="42428856ab20", x_arg=ALLOW)
    assert _current() == "42428856ab20"
    assert _leftovers() == []
    after = _snapshot()
    assert {t: len(after[t]) for t in CHILDREN_OF_CASES} == {t: len(before[t]) for t in CHILDREN_OF_CASES}


def test_a_downgrade_that_would_delete_data_refuses_and_changes_nothing(demo_app):
    before = _snapshot()
    config = current_app.extensions["migrate"].migrate.get_config()
    with pytest.raises(DataLossRefused) as refused:
        command.downgrade(config, "9360dd4436d1")
    message = str(refused.value)
    assert re.search(r"a3f1c2d4e5b6 \(.*\) drops audit_events\.subject_organisation_id: \d+ rows", message), message
    assert "--allow-data-loss" in message and "restore the backup" in message
    # As Flask-Migrate's downgrade() runs it (the `casemgmt db downgrade` of the CLI path): exits 1.
    with pytest.raises(SystemExit) as exited:
        downgrade(revision="9360dd4436d1")
    assert exited.value.code == 1
    assert _snapshot() == before
    downgrade(revision="9360dd4436d1", x_arg=ALLOW)
    assert _current() == "9360dd4436d1"


def test_a_downgrade_over_empty_tables_needs_no_flag(demo_app):
    """Declared drops of tables (and columns) without data are no loss: d5e8a1b2c3f4 drops three tables."""
    downgrade(revision="d5e8a1b2c3f4", x_arg=ALLOW)
    with db.engine.begin() as connection:
        for table in ("recovery_codes", "enrolment_links", "account_requests"):
            connection.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    downgrade(revision="a3f1c2d4e5b6")
    assert _current() == "a3f1c2d4e5b6"


def test_every_revision_declares_what_its_downgrade_drops(tmp_path):
    """Absent, the guard would take a new revision's downgrade for harmless: every revision says, even if []."""
    with make_test_app(tmp_path, None).app_context():
        scripts = _scripts()
    undeclared = [s.revision for s in scripts if not isinstance(getattr(s.module, "downgrade_drops", None), list)]
    assert undeclared == [], "declare downgrade_drops = [...] in these revisions (see casemgmt/migrating.py)"
    for script in scripts:
        names = [*script.module.downgrade_drops, *getattr(script.module, "downgrade_rederives", {})]
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?", name) for name in names), script.revision
