"""Running the Alembic migrations without losing data: what migrations/env.py and `casemgmt db downgrade` rely on.

- One transaction for the whole run, on both backends, so a failed migration changes nothing.
- On SQLite, foreign keys are off while the migrations run and checked before the commit. Batch mode rebuilds a
  table by copying it and dropping the original; with foreign keys on, `DROP TABLE cases` deletes (ON DELETE
  CASCADE) or refuses to delete (no action) the rows of every table that refers to it. This is SQLite's own
  procedure for changing a table (https://www.sqlite.org/lang_altertable.html#otheralter).
- A downgrade that would delete data refuses unless asked for explicitly. Each revision module declares
  `downgrade_drops`: the tables ("table") and columns ("table.column") whose data its downgrade() deletes and its
  upgrade() cannot bring back. A derived column that upgrade() computes again from other data is listed in
  `downgrade_rederives` instead, {"table.column": "the table it is derived from"}
  (tests/migrations/test_roundtrip_data.py holds both to the truth).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import click
from alembic import command
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.util import CommandError
from flask import current_app, g
from flask.cli import with_appcontext
from sqlalchemy import column as sql_column
from sqlalchemy import func, inspect, select
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection

# The -x argument of `db downgrade` (and of flask_migrate.downgrade(x_arg=...)) that lets a downgrade delete data.
ALLOW_DATA_LOSS = "allow-data-loss"


class DataLossRefused(CommandError):
    """A downgrade would delete data and was not allowed to."""


class ForeignKeyViolations(CommandError):
    """The migrations would leave rows that refer to rows that do not exist; nothing was committed."""


@dataclass(frozen=True)
class Loss:
    revision: str
    title: str
    target: str  # "table" or "table.column"
    rows: int

    def describe(self) -> str:
        what = "rows" if "." not in self.target else "rows with a value"
        return f"{self.revision} ({self.title}) drops {self.target}: {self.rows} {what}"


# --- one transaction, foreign keys checked -------------------------------------------------------------------------


@contextlib.contextmanager
def one_transaction(connection: Connection) -> Iterator[None]:
    """Run the block in a single transaction that commits only if every foreign key holds.

    Configure the Alembic context inside the block: it then sees a transaction already begun and runs every
    revision in it instead of starting (on SQLite: committing) its own per revision.
    """
    if connection.dialect.name != "sqlite":
        with connection.begin():  # PostgreSQL has transactional DDL and enforces foreign keys itself
            yield
        return
    sqlite = connection.connection.driver_connection
    with _foreign_keys_off(connection, sqlite), connection.begin():
        # pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so the CREATE TABLE _alembic_tmp_... of a
        # batch rebuild would commit on its own and outlive a failed migration. Open it ourselves.
        connection.exec_driver_sql("BEGIN")
        yield
        violations = foreign_key_violations(connection)
        if violations:
            raise ForeignKeyViolations(_describe_violations(violations))


@contextlib.contextmanager
def _foreign_keys_off(connection: Connection, sqlite) -> Iterator[None]:
    # PRAGMA foreign_keys is ignored inside a transaction: it runs on the driver's connection, before any begins.
    if sqlite.in_transaction:
        sqlite.rollback()
    sqlite.execute("PRAGMA foreign_keys=OFF")
    if _foreign_keys(sqlite) != 0:
        raise CommandError("could not turn SQLite's foreign keys off for the migration; nothing was changed")
    try:
        yield
    finally:
        # The connection goes back to the application's pool: it must enforce foreign keys again, or not be reused.
        if sqlite.in_transaction:
            sqlite.rollback()
        sqlite.execute("PRAGMA foreign_keys=ON")
        if _foreign_keys(sqlite) != 1:
            connection.invalidate()


def _foreign_keys(sqlite) -> int:
    return sqlite.execute("PRAGMA foreign_keys").fetchone()[0]


def foreign_key_violations(connection: Connection) -> Counter:
    """(table, parent table) -> how many rows of table refer to a missing row of parent; SQLite only."""
    return Counter((row[0], row[2]) for row in connection.exec_driver_sql("PRAGMA foreign_key_check"))


def _describe_violations(violations: Counter) -> str:
    lines = [f"  {table}: {count} rows refer to missing rows of {parent}"
             for (table, parent), count in sorted(violations.items())]
    return ("the migration was rolled back, nothing was changed: it would have left rows that refer to rows that do "
            "not exist\n" + "\n".join(lines))


# --- the data-loss guard -------------------------------------------------------------------------------------------


def guard_data_loss(migration_context: MigrationContext, x_arguments: dict[str, str]) -> None:
    """Make the coming run_migrations() raise DataLossRefused, before any step runs, when its downgrade steps would
    delete data and the -x argument does not allow it."""
    if ALLOW_DATA_LOSS in x_arguments:
        return
    # The steps come from the function the Alembic command gave the context (command.downgrade's, upgrade's,
    # stamp's...); run_migrations() calls it once, after reading the current heads. Wrapping it sees exactly the
    # steps that will run, relative targets ("-1", "base") resolved, without calling it a second time (for
    # `db current` or autogenerate it has side effects).
    steps_for = migration_context._migrations_fn
    if steps_for is None:
        return

    def checked_steps(heads, context):
        steps = list(steps_for(heads, context))
        losses = planned_losses(steps, context.connection)
        if losses:
            raise DataLossRefused(_describe_losses(losses))
        return steps

    migration_context._migrations_fn = checked_steps


def planned_losses(steps, connection: Connection) -> list[Loss]:
    """What the downgrade steps among `steps` would delete, counted in the database as it is now."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    losses = []
    for step in steps:
        if not isinstance(step, RevisionStep) or step.is_upgrade:
            continue  # upgrades and stamps delete nothing
        script = step.revision
        for target in getattr(script.module, "downgrade_drops", ()):
            table, _, column = target.partition(".")
            if table not in tables:
                continue
            if column and column not in {c["name"] for c in inspector.get_columns(table)}:
                continue
            rows = _count(connection, table, column)
            if rows:
                losses.append(Loss(script.revision, (script.doc or "").split("\n")[0], target, rows))
    return losses


def _count(connection: Connection, table: str, column: str) -> int:
    query = select(func.count()).select_from(sql_table(table))
    if column:
        query = query.where(sql_column(column).is_not(None))
    return connection.execute(query).scalar_one()


def _describe_losses(losses: list[Loss]) -> str:
    lines = "\n".join(f"  {loss.describe()}" for loss in losses)
    return (
        "refusing to downgrade, nothing was changed: the downgrade would delete data\n"
        f"{lines}\n"
        "To undo an upgrade, restore the backup taken before it instead. To delete this data, back the database up "
        "(`casemgmt backup`) and run `casemgmt db downgrade --allow-data-loss` (from Python: "
        f"flask_migrate.downgrade(x_arg=\"{ALLOW_DATA_LOSS}\"))."
    )


# --- `casemgmt db downgrade` ---------------------------------------------------------------------------------------


@click.command("downgrade")
@click.option("-d", "--directory", default=None, help='Migration script directory (default is "migrations")')
@click.option("--sql", is_flag=True, help="Don't emit SQL to database - dump to standard output instead")
@click.option("--tag", default=None, help='Arbitrary "tag" name - can be used by custom env.py scripts')
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments consumed by custom env.py scripts")
@click.option("--allow-data-loss", is_flag=True,
              help="Downgrade even past revisions whose downgrade deletes data (back the database up first).")
@click.argument("revision", default="-1")
@with_appcontext
def downgrade_command(directory, sql, tag, x_arg, revision, allow_data_loss):
    """Revert to a previous version. Refuses to delete data (tables or columns with rows) unless --allow-data-loss;
    to undo an upgrade, restore the backup taken before it instead."""
    extra = [*x_arg, *([ALLOW_DATA_LOSS] if allow_data_loss else [])]
    # Flask-Migrate's get_config() adds the group's -x arguments (g.x_arg) itself.
    config = current_app.extensions["migrate"].migrate.get_config(directory or g.directory, x_arg=extra)
    if sql and revision == "-1":
        revision = "head:-1"
    try:
        command.downgrade(config, revision, sql=sql, tag=tag)
    except CommandError as exc:
        raise click.ClickException(str(exc)) from None


# --- `casemgmt db upgrade` ----------------------------------------------------------------------------------------


def _upgrade_command() -> click.Command:
    """Flask-Migrate's upgrade, then the matching indexes' rebuild when one is needed: a migration cannot decrypt,
    so the keys of the people already there (after fa1b2c3d4e5f, or a rebuild interrupted before the upgrade) are
    computed here, resumably, rather than leaving search blind until someone thinks of `casemgmt indexes rebuild`."""
    from flask_migrate.cli import upgrade as flask_migrate_upgrade

    @click.pass_context
    @with_appcontext
    def callback(ctx, **options):
        ctx.invoke(flask_migrate_upgrade, **options)
        if options["sql"] or options["revision"] != "head":
            return  # SQL printed, not run; or a schema older than the application's models
        from casemgmt.extensions import db
        from casemgmt.matching import rebuild
        from casemgmt.matching.cli import run_rebuild

        if rebuild.needed():
            click.echo("rebuilding the matching indexes (safe to interrupt: `casemgmt indexes rebuild` resumes)")
            run_rebuild()
        db.session.remove()

    return click.Command("upgrade", callback=callback, params=list(flask_migrate_upgrade.params),
                         help=(flask_migrate_upgrade.help or "").strip() + ", then rebuild the matching indexes if "
                         "they need it (casemgmt indexes rebuild).")


def db_group() -> click.Group:
    """Flask-Migrate's `db` group, with our `downgrade` and `upgrade` in place of its own."""
    from flask_migrate.cli import db as flask_migrate_db

    group = click.Group(name="db", callback=flask_migrate_db.callback, params=list(flask_migrate_db.params),
                        help=flask_migrate_db.help, commands=dict(flask_migrate_db.commands))
    group.add_command(downgrade_command, "downgrade")
    group.add_command(_upgrade_command(), "upgrade")
    return group
