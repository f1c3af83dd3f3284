"""Per-backend session settings applied on every new connection."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from casemgmt.extensions import db


def test_every_connection_gets_its_settings(ctx, backend):
    db.engine.dispose()  # a fresh connection, as a new worker would open
    with db.engine.connect() as conn:
        if backend == "postgresql":
            # JIT compilation cost seconds on report aggregates (see casemgmt/database.py).
            assert conn.execute(text("SHOW jit")).scalar() == "off"
            # Report sorts (the median stays) spilled to disk with the 4 MB default.
            assert conn.execute(text("SHOW work_mem")).scalar() == "16MB"
        else:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_sqlite_has_a_median_aggregate(ctx, backend):
    """SQLite has no percentile function; database.py registers median() for the dashboard's median stays."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL has percentile_cont; median() is SQLite's")
    with db.engine.connect() as conn:
        def median(values: list) -> float | None:
            return conn.execute(text("SELECT median(value) FROM json_each(:v)"), {"v": json.dumps(values)}).scalar()

        assert median([7, 1, 3]) == 3
        assert median([4, 1, 10, 2]) == 3
        assert median([None, 2.5]) == 2.5  # NULLs are not values
        assert median([]) is None


def test_a_database_error_does_not_carry_its_parameters_into_the_log(ctx, backend):
    """An unexpected database error is logged with its message under the page's reference; SQLAlchemy's message
    lists the bound parameters by default, which would put a username or a searched name in the server log."""
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as raised, db.engine.connect() as conn:
        conn.execute(text("SELECT no_such_column FROM users WHERE username = :name"), {"name": "maria-quispe"})
    assert "maria-quispe" not in str(raised.value)
