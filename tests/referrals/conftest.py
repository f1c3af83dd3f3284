from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.extensions import db
from tests import factories


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()


def give_consent(case_id: str, share: bool = True) -> None:
    """A consent record written directly (the consent feature's operations are built elsewhere)."""
    db.session.add(ConsentRecord(
        id=new_uuid(), case_id=case_id, obtained_on=date.today(), language="es", point_interview=True,
        consents_to_share=share,
    ))
    db.session.commit()


def new_case(app, owner, consent: bool = True, **values) -> str:
    with app.app_context():
        case = factories.case(owner, **values)
        if consent:
            give_consent(case.id)
        return case.id


def events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))
