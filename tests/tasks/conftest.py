from __future__ import annotations

import pytest
from sqlalchemy import event, select

from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from tests import factories


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        found = list(rows)
        db.session.expunge_all()
        return found


def count_queries(app, call) -> int:
    """How many SQL statements `call()` sends."""
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)
