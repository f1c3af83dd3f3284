"""Admissions and discharges for the case timeline. The facility's name is shown only to its organisation's staff
(where a person sleeps is sensitive); the discharge note is never shown here."""

from __future__ import annotations

from flask import url_for
from flask_babel import format_date, gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.extensions import db
from casemgmt.shelter.models import DISCHARGE_REASONS, FACILITY_TYPES, Placement


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.CASE_VIEW, case):
        return []
    placements = db.session.scalars(
        select(Placement)
        .where(Placement.case_id == case.id, Placement.live())
        .options(
            selectinload(Placement.facility), selectinload(Placement.created_by),
            selectinload(Placement.discharged_by),
        )
    ).all()
    url = url_for("shelter.case_index", case_id=case.id) if allowed(actor, Action.PLACEMENT_MANAGE, case) else None
    result = []
    for p in placements:
        facility = p.facility
        where = facility.name if allowed(actor, Action.FACILITY_VIEW, facility) else \
            FACILITY_TYPES.label(facility.facility_type)
        detail = gettext("Reflection period until %(date)s", date=format_date(p.reflection_period_until)) \
            if p.reflection_period_until else ""
        result.append(dated(
            p.admitted_on, p.created_at, kind="placement", title=gettext("Admitted to %(facility)s", facility=where),
            detail=detail, actor=p.created_by.display_name if p.created_by else "", url=url,
        ))
        if p.discharged_on is not None:
            result.append(dated(
                p.discharged_on, p.discharged_at, kind="placement",
                title=gettext("Discharged from %(facility)s", facility=where),
                detail=DISCHARGE_REASONS.label(p.discharge_reason),
                actor=p.discharged_by.display_name if p.discharged_by else "", url=url,
            ))
    return result
