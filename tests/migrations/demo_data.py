"""A database at head with the demo data and a row in every table, cloned cheaply for each test; and snapshots of
every table, row by row, to compare before and after migrations.

Building the demo takes a few seconds (more on PostgreSQL); each backend builds it once per module and every test
gets a copy: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, func, inspect, literal_column, select, text
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection, make_url

from casemgmt.crypto.fields import EncryptedBytes, Sealed
from casemgmt.extensions import db
from tests.conftest import PG_ADMIN_URL, drop_postgres_database, make_test_app, postgres_database, test_root_keys

PASSPHRASE = "quartz-meadow-lantern-orbit-71"
DEMO_CASES = 12  # the fewest that give the journey tables rows (one monitoring visit, one reintegration plan)

# The tables the demo leaves empty get one row each, whatever the values mean: the migrations copy bytes, they do
# not read them. A table whose constraints refuse these values gets its own here.
FILL_VALUES: dict[str, dict[str, object]] = {}

Snapshot = dict[str, dict[tuple, dict[str, object]]]
_clones = itertools.count()


@dataclass
class DemoDatabase:
    """The template: a database with the demo data, and what a copy of it needs (the same root keys)."""

    backend: str
    url: str
    root_keys: str
    tmp: Path

    def clone(self) -> tuple[Flask, str]:
        """A new app on a copy of the template database; returns (app, url). Drop it with drop_clone()."""
        number = next(_clones)
        if self.backend == "postgresql":
            url = _clone_postgres(self.url, f"roundtrip_{number}")
        else:
            path = self.tmp / f"clone-{number}.db"
            shutil.copyfile(make_url(self.url).database, path)
            url = f"sqlite:///{path}"
        instance = self.tmp / f"instance-{number}"
        instance.mkdir()
        return make_test_app(instance, url, ROOT_KEYS=self.root_keys), url


def build_template(backend: str, tmp: Path) -> DemoDatabase:
    url = postgres_database("roundtrip_template") if backend == "postgresql" else f"sqlite:///{tmp / 'template.db'}"
    root_keys = test_root_keys()
    instance = tmp / "instance-template"
    instance.mkdir()
    application = make_test_app(instance, url, ROOT_KEYS=root_keys)
    with application.app_context():
        # `casemgmt demo` runs the migrations to head on the empty database, then writes the demo through the
        # application's operations.
        result = application.test_cli_runner().invoke(
            args=["demo", "--cases", str(DEMO_CASES), "--password", PASSPHRASE], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        fill_empty_tables()
        with db.engine.connect() as connection:
            empty = [name for name, rows in snapshot(connection).items() if not rows]
        assert not empty, f"tables without rows, add values for them to FILL_VALUES: {empty}"
        db.session.remove()
        db.engine.dispose()
    if backend == "sqlite":
        # One self-contained file to copy: the write-ahead log folded back in.
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
    return DemoDatabase(backend, url, root_keys, tmp)


def drop_template(template: DemoDatabase) -> None:
    if template.backend == "postgresql":
        drop_postgres_database(template.url)


def drop_clone(application: Flask, url: str) -> None:
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if url.startswith("postgresql"):
        drop_postgres_database(url)


def _clone_postgres(template_url: str, suffix: str) -> str:
    template = make_url(template_url).database
    name = template.replace("roundtrip_template", suffix)
    engine = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    return make_url(template_url).set(database=name).render_as_string(hide_password=False)


def fill_empty_tables() -> None:
    """One row in each model table the demo left empty (parents first), every column given a value."""
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            if connection.execute(select(func.count()).select_from(table)).scalar_one():
                continue
            values = {}
            for column in table.columns:
                if column.primary_key and column.type.python_type is int and not column.foreign_keys:
                    continue  # the database numbers it
                values[column.name] = FILL_VALUES.get(table.name, {}).get(column.name, _value(connection, column))
            connection.execute(table.insert().values(**values))


def _value(connection: Connection, column):
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column
        return connection.execute(select(target).order_by(target).limit(1)).scalar_one()
    if column.default is not None and getattr(column.default, "is_scalar", False):
        return column.default.arg
    if isinstance(column.type, EncryptedBytes):
        return Sealed(os.urandom(48))
    kind = column.type.python_type
    if kind is str:
        return str(uuid.uuid4())[: getattr(column.type, "length", None) or 36]
    return {bool: True, int: 1, float: 1.5, bytes: os.urandom(16), datetime: datetime(2026, 1, 2, 3, 4, 5),
            date: date(2026, 1, 2)}[kind]


def snapshot(connection: Connection) -> Snapshot:
    """Every table: primary key -> the row as the driver returns it (all columns)."""
    inspector = inspect(connection)
    result: Snapshot = {}
    for name in inspector.get_table_names():
        key = inspector.get_pk_constraint(name)["constrained_columns"]
        rows = connection.execute(select(literal_column("*")).select_from(sql_table(name))).mappings()
        table = {}
        for row in rows:
            row = dict(row)
            table[tuple(row[c] for c in key) if key else tuple(sorted(row.items()))] = row
        result[name] = dict(sorted(table.items()))
    return result


def differences(before: Snapshot, after: Snapshot, skip: set[str] = frozenset()) -> list[str]:
    """What `after` lost or changed of `before`, for the tables and columns both have; `skip` names tables and
    "table.column"s not to compare. Names tables, columns and row counts, never values."""
    found = []
    for name in sorted(set(before) & set(after)):
        if name in skip:
            continue
        old, new = before[name], after[name]
        missing = [key for key in old if key not in new]
        added = [key for key in new if key not in old]
        if missing or added:
            found.append(f"{name}: {len(missing)} of {len(old)} rows missing, {len(added)} rows added")
            continue
        if not old:
            continue
        columns = set(next(iter(old.values()))) & set(next(iter(new.values())))
        changed = sorted({
            column for key, row in old.items() for column in columns
            if f"{name}.{column}" not in skip and row[column] != new[key][column]
        })
        for column in changed:
            count = sum(1 for key, row in old.items() if row[column] != new[key][column])
            found.append(f"{name}.{column}: {count} of {len(old)} rows changed")
    return found
