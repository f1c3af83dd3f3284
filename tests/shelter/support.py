"""Builders for shelter tests: facilities and placements through the real operations, committed."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from casemgmt.shelter import operations
from casemgmt.shelter.models import Facility, Placement

TODAY = date.today()


def facility(supervisor, name: str = "Casa Refugio", beds: int = 2, takes: str = "adults", **extra) -> Facility:
    values = {"name": name, "facility_type": "shelter", "bed_capacity": beds, "age_group": takes,
              "active": True, "address": None, **extra}
    created = operations.create_facility(supervisor, values)
    db.session.commit()
    return created


def admit(actor, case, facility_id: int, admitted_on: date | None = None, until: date | None = None) -> Placement:
    placement = operations.admit(actor, case, facility_id, admitted_on or TODAY - timedelta(days=3), until)
    db.session.commit()
    return placement


def placements(**where) -> list[Placement]:
    db.session.expire_all()
    query = select(Placement).order_by(Placement.admitted_on)
    for key, value in where.items():
        query = query.where(getattr(Placement, key) == value)
    return list(db.session.scalars(query))


def facility_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Facility))


def event_count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))
