"""Helpers for the notification tests. Call them inside an app context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from casemgmt.cases.models import new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.extensions import db
from casemgmt.notifications.models import Notification
from casemgmt.referrals import operations as referrals
from casemgmt.referrals.models import Referral
from tests import factories


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()


@dataclass(frozen=True)
class Seen:
    kind: str
    link: str
    read: bool
    done: bool
    case_id: str | None


def notices(user, kind: str | None = None) -> list[Seen]:
    """What `user` (or a user id) has been told, oldest first."""
    user_id = getattr(user, "id", user)
    db.session.expire_all()
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return [Seen(n.kind, n.link, n.read_at is not None, n.done_at is not None, n.case_id)
            for n in db.session.scalars(query)]


def kinds(user) -> list[str]:
    return [n.kind for n in notices(user)]


def everyone_told(kind: str) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def shared_consent(case) -> ConsentRecord:
    """The person's consent to share and to return, recorded directly (the consent feature has its own tests)."""
    record = ConsentRecord(id=new_uuid(), case_id=case.id, obtained_on=date.today(), obtained_by_id=case.created_by_id,
                           language="es", point_interview=True, consents_to_share=True, consents_to_return=True)
    db.session.add(record)
    db.session.commit()
    return record


def referred(sender, case, to_org) -> Referral:
    """A referral sent through the referrals operation, under the person's consent."""
    shared_consent(case)
    referral = referrals.create_referral(sender, case, to_org.id, "MigrationOrChangeOfLocation")
    db.session.commit()
    return referral
