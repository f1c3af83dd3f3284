"""Monitoring visits due within a week, or overdue: the next_visit_due of each case's latest visit."""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for
from flask_babel import format_date, gettext
from sqlalchemy import func, select

from casemgmt.access import Action, allowed
from casemgmt.access.policies import case_scope_filter
from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.extensions import db
from casemgmt.reintegration.models import MonitoringVisit

LIMIT = 50
DUE_WITHIN = timedelta(days=7)


def items(user) -> list[WorkItem]:
    if not allowed(user, Action.REINTEGRATION_MANAGE):
        return []
    today = date.today()
    latest = (
        select(
            MonitoringVisit.case_id,
            MonitoringVisit.next_visit_due,
            func.row_number().over(
                partition_by=MonitoringVisit.case_id,
                order_by=(MonitoringVisit.visited_on.desc(), MonitoringVisit.created_at.desc()),
            ).label("rank"),
        )
        .subquery()
    )
    rows = db.session.execute(
        select(Case.id, Case.reference, latest.c.next_visit_due)
        .join(latest, latest.c.case_id == Case.id)
        .where(
            latest.c.rank == 1,
            latest.c.next_visit_due.is_not(None),
            latest.c.next_visit_due <= today + DUE_WITHIN,
            Case.stage != "closed",
            case_scope_filter(user),
        )
        .order_by(latest.c.next_visit_due, Case.id)
        .limit(LIMIT)
    ).all()
    return [
        WorkItem(
            section="tasks",
            title=gettext("Monitoring visit for case %(ref)s (due %(day)s)", ref=reference, day=format_date(due)),
            url=url_for("reintegration.case_index", case_id=case_id),
            due=due,
            overdue=due < today,
        )
        for case_id, reference, due in rows
    ]
