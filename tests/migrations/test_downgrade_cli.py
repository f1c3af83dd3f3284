"""`casemgmt db downgrade` refuses to delete data unless --allow-data-loss, in a real `casemgmt` process (issue 11)."""

from __future__ import annotations

from alembic.migration import MigrationContext

from casemgmt.extensions import db
from tests.cli.support import cli_env, run_cli, run_console
from tests.migrations.demo_data import differences, snapshot


def _env(application, demo_template) -> dict[str, str]:
    url = db.engine.url.render_as_string(hide_password=False)
    return cli_env(url, application.config["SETTINGS"].instance_path, demo_template.root_keys)


def _state():
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision(), snapshot(connection)


def test_a_downgrade_that_deletes_data_needs_the_flag(demo_app, demo_template):
    env = _env(demo_app, demo_template)
    revision, before = _state()
    # Down to 9360dd4436d1 crosses a3f1c2d4e5b6, whose downgrade drops the audit events' subject organisation.
    refused = run_console(["db", "downgrade", "9360dd4436d1"], env)
    assert refused.returncode == 1, refused.stderr
    assert "Error: refusing to downgrade, nothing was changed" in refused.stderr
    assert "a3f1c2d4e5b6" in refused.stderr and "audit_events.subject_organisation_id" in refused.stderr
    assert "--allow-data-loss" in refused.stderr
    now, after = _state()
    assert now == revision
    assert differences(before, after) == [] and set(after) == set(before)

    db.session.remove()
    allowed = run_cli(demo_app, ["db", "downgrade", "--allow-data-loss", "9360dd4436d1"])  # in-process: faster
    assert allowed.exit_code == 0, allowed.output
    assert _state()[0] == "9360dd4436d1"


def test_db_keeps_flask_migrates_other_commands(sqlite_only, demo_app):
    listed = run_cli(demo_app, ["db", "--help"]).output
    for name in ("upgrade", "downgrade", "current", "history", "migrate", "stamp", "check"):
        assert f"  {name} " in listed
    assert "--allow-data-loss" in run_cli(demo_app, ["db", "downgrade", "--help"]).output
    assert run_cli(demo_app, ["db", "current"]).exit_code == 0
    # Stamping down deletes nothing, so it needs no flag.
    assert run_cli(demo_app, ["db", "stamp", "9360dd4436d1"]).exit_code == 0
    assert run_cli(demo_app, ["db", "stamp", "head"]).exit_code == 0
