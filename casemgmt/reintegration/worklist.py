"""Monitoring visits due within a week, or overdue: the next_visit_due of each case's latest visit."""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for
from flask_babel import format_date, gettext
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.access.policies import case_scope_filter
from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.extensions import db

LIMIT = 50
DUE_WITHIN = timedelta(days=7)


def items(user) -> list[WorkItem]:
    if not allowed(user, Action.REINTEGRATION_MANAGE):
        return []
    today = date.today()
    # Case.next_visit_due is the latest visit's plan (operations.refresh_next_visit): walked in date order through
    # its index, so the home page does not rank every visit in the database before it knows which cases are ours.
    rows = db.session.execute(
        select(Case.id, Case.reference, Case.next_visit_due)
        .where(
            Case.next_visit_due <= today + DUE_WITHIN,
            Case.stage != "closed",
            case_scope_filter(user),
        )
        .order_by(Case.next_visit_due, Case.id)
        .limit(LIMIT)
    ).all()
    return [
        WorkItem(
            section="tasks",
            title=gettext("Monitoring visit for case %(ref)s (due %(day)s)", ref=reference, day=format_date(due)),
            url=url_for("reintegration.case_index", case_id=case_id),
            due=due,
            overdue=due < today,
            case_id=case_id,
        )
        for case_id, reference, due in rows
    ]
