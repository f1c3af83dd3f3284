"""Filling a benchmark database with synthetic cases, through the same encryption and audit chain as real data."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from benchmarks.databases import PASSWORD, BenchDatabase
from benchmarks.memory import peak_rss_mb
from casemgmt.extensions import db


def build(target: BenchDatabase, progress: Callable | None = None) -> dict:
    """Build `target` from nothing and write its marker; returns the build's facts (time, memory)."""
    target.reset()
    app = target.app()
    started = time.perf_counter()
    with app.app_context():
        upgrade()  # the schema exactly as a deployment gets it, migrations and their indexes included
        _populate(target, progress)
        db.session.commit()
        if target.backend == "postgresql":
            # Autovacuum would vacuum and analyse the freshly loaded tables within minutes (where it is on; this
            # machine's server runs with it off). Doing it now makes the plans the same on every run, and the
            # visibility map lets index-only scans skip the table, as they would on a server that has settled.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
                # Write the load's dirty pages out now: otherwise the checkpointer does it during the first
                # measurements (2 GB at 100,000 cases), and they time the server's own write-back. CHECKPOINT needs
                # a superuser (PostgreSQL 15); without one the run goes on, as it did before.
                with contextlib.suppress(ProgrammingError):
                    conn.execute(text("CHECKPOINT"))
        else:
            # Move the load out of the write-ahead log into the database file, as a settled database has it.
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.session.remove()
        db.engine.dispose()
    facts = {
        "backend": target.backend, "cases": target.cases, "seed": target.seed, "generator": target.generator,
        "seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": peak_rss_mb(),
    }
    target.write_marker(facts)
    return facts


def _populate(target: BenchDatabase, progress: Callable | None) -> None:
    if target.generator == "synth":
        from casemgmt.synth import build as synth_build

        synth_build(target.cases, target.seed, PASSWORD, progress=progress)
    else:
        from casemgmt.demo import build_demo

        build_demo(PASSWORD, target.cases, target.seed)
