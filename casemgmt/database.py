"""Engine set-up per backend: SQLite gets WAL and foreign keys, on every connection."""

from __future__ import annotations

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


def _postgresql_session(dbapi_connection, _record) -> None:
    # PostgreSQL's JIT compiler judges the report queries (aggregates over the whole caseload) worth compiling and
    # spends seconds doing it: the donor report took 5.1 s at 10,000 cases with JIT and 0.4 s without. Our queries
    # are short OLTP and report aggregates, which never repay the compilation.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET jit = off")
    # The default (4) models spinning disks and made the planner scan all cases to find a few hundred referred-in
    # ones (35-70 ms per case-list page at 100,000 cases) instead of looking them up (3-5 ms).
    cursor.execute("SET random_page_cost = 1.1")
    cursor.close()
    dbapi_connection.commit()


def configure_engine(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        elif engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _postgresql_session)
