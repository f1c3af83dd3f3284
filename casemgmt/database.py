"""Engine set-up per backend: SQLite gets WAL, foreign keys and a median aggregate, on every connection."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from casemgmt.extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer commits; foreign keys are off in SQLite unless asked for.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    dbapi_connection.create_aggregate("median", 1, _Median)


class _Median:
    """median(x): the middle value, or the mean of the two middle ones, NULLs ignored; NULL for no values. SQLite has
    no percentile function, and fetching every value to find the middle in Python cost the dashboard 150 ms at
    100,000 cases (52,000 stays) in row objects alone: here only the numbers cross, inside SQLite's own loop."""

    def __init__(self):
        self.values: list[float] = []

    def step(self, value) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


def _postgresql_session(dbapi_connection, _record) -> None:
    # PostgreSQL's JIT compiler judges the report queries (aggregates over the whole caseload) worth compiling and
    # spends seconds doing it: the donor report took 5.1 s at 10,000 cases with JIT and 0.4 s without. Our queries
    # are short OLTP and report aggregates, which never repay the compilation.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET jit = off")
    # The default (4) models spinning disks and made the planner scan all cases to find a few hundred referred-in
    # ones (35-70 ms per case-list page at 100,000 cases) instead of looking them up (3-5 ms).
    cursor.execute("SET random_page_cost = 1.1")
    # The default (4 MB) made the dashboard's median stays spill their sort to disk at 100,000 cases (52,000 stays:
    # 108 ms against 60 ms). Each sort or hash of a query may take this much; a request runs one query at a time.
    cursor.execute("SET work_mem = '16MB'")
    cursor.close()
    dbapi_connection.commit()


def _private_sqlite_file(database: str | None) -> None:
    """Create the SQLite file owner-only (0600) before SQLite first opens it, and tighten one that exists.

    SQLite creates a missing database file 0644 (less what the umask removes): readable by every local account.
    It gives its -wal and -shm files the mode of the database file, so a database created here 0600 keeps all
    three private, whatever the umask (tests/security/test_file_modes.py checks the three). An in-memory database
    has no file.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.chmod(0o600)


def configure_engine(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _private_sqlite_file(engine.url.database)
            event.listen(engine, "connect", _sqlite_pragmas)
        elif engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _postgresql_session)
