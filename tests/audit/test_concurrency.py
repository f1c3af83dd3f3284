"""Concurrent writers: the head row lock (PostgreSQL) or SQLite's write lock serialises appends, so the chain never
forks and no writer fails."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from casemgmt.audit import record_event
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.audit.verify import verify_chain
from casemgmt.extensions import db

THREADS, EVENTS = 4, 25


def _append_concurrently(app, start: threading.Barrier, errors: list, name: str) -> None:
    try:
        start.wait(timeout=30)
        for i in range(EVENTS):
            with app.app_context():  # one session per "request", as in a worker
                record_event("test.concurrent", actor=SYSTEM, details={"writer": name, "i": i})
                db.session.commit()
                db.session.remove()
    except Exception as exc:  # reported to the main thread
        errors.append(exc)


@pytest.mark.parametrize("existing", [0, 1], ids=["empty-chain", "existing-chain"])
def test_concurrent_appends_keep_one_intact_chain(app, backend, existing):
    with app.app_context():
        for _ in range(existing):
            record_event("test.before", actor=SYSTEM)
        db.session.commit()
        db.session.remove()
    start = threading.Barrier(THREADS)
    errors: list = []
    threads = [threading.Thread(target=_append_concurrently, args=(app, start, errors, f"w{n}"))
               for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    with app.app_context():
        total = existing + THREADS * EVENTS
        seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, total + 1))
        assert verify_chain() == (total, [])
        writers = db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "test.concurrent")).all()
        assert len(writers) == THREADS * EVENTS
        assert {w.split('"writer":"')[1][:2] for w in writers} == {f"w{n}" for n in range(THREADS)}
        db.session.remove()
