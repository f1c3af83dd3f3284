"""Approvals waiting for a supervisor: return plans of their organisation's cases submitted for approval, except
those the supervisor submitted themselves (nobody approves what they requested: another supervisor does)."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select

from casemgmt.access.roles import Role
from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.extensions import db
from casemgmt.returns.models import ReturnPlan

LIMIT = 50


def items(user) -> list[WorkItem]:
    if getattr(user, "role", None) != Role.SUPERVISOR:
        return []
    rows = db.session.execute(
        select(ReturnPlan.case_id, ReturnPlan.planned_departure_on, Case.reference)
        .join(Case, Case.id == ReturnPlan.case_id)
        .where(
            ReturnPlan.status == "submitted",
            Case.organisation_id == user.organisation_id,
            Case.erased_at.is_(None),
            ReturnPlan.submitted_by_id.is_(None) | (ReturnPlan.submitted_by_id != user.id),
        )
        .order_by(ReturnPlan.submitted_at, ReturnPlan.id)
        .limit(LIMIT)
    ).all()
    today = date.today()
    return [
        WorkItem(
            section="approvals",
            title=gettext("Approve the return plan of case %(ref)s", ref=reference),
            url=url_for("returns.case_index", case_id=case_id),
            due=departure,
            overdue=departure is not None and departure < today,
        )
        for case_id, departure, reference in rows
    ]
