"""Reflection periods that end within a week, for the caseworker the case is assigned to."""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select

from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.extensions import db
from casemgmt.shelter.models import Placement

HORIZON = timedelta(days=7)
LIMIT = 50


def items(user) -> list[WorkItem]:
    if getattr(user, "id", None) is None:
        return []
    today = date.today()
    rows = db.session.execute(
        select(Placement.case_id, Placement.reflection_period_until, Case.reference)
        .join(Case, Case.id == Placement.case_id)
        .where(
            Case.assigned_to_id == user.id, Case.organisation_id == user.organisation_id,
            Case.erased_at.is_(None), Case.stage != "closed",
            Placement.holding_a_bed(), Placement.reflection_period_until.is_not(None),
            Placement.reflection_period_until <= today + HORIZON,
        )
        .order_by(Placement.reflection_period_until)
        .limit(LIMIT)
    )
    return [
        WorkItem(
            section="tasks", title=gettext("Reflection period ends: %(ref)s", ref=reference),
            url=url_for("shelter.case_index", case_id=case_id), due=until, overdue=until < today, case_id=case_id,
        )
        for case_id, until, reference in rows
    ]
