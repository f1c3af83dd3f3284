from __future__ import annotations

import pytest
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from casemgmt.intake import operations
from tests import factories


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()


def contact(actor, **values):
    """Log a contact through the operation and commit it."""
    data = {"channel": "phone", "call_type": "tip", **values}
    created = operations.log_contact(actor, data)
    db.session.commit()
    return created


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))
