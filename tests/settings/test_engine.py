"""Per-backend session settings applied on every new connection."""

from __future__ import annotations

from sqlalchemy import text

from casemgmt.extensions import db


def test_every_connection_gets_its_settings(ctx, backend):
    db.engine.dispose()  # a fresh connection, as a new worker would open
    with db.engine.connect() as conn:
        if backend == "postgresql":
            # JIT compilation cost seconds on report aggregates (see casemgmt/database.py).
            assert conn.execute(text("SHOW jit")).scalar() == "off"
        else:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
