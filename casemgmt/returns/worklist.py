"""Approvals waiting for a supervisor: return plans of their organisation's cases submitted for approval, except
those the supervisor submitted themselves (nobody approves what they requested: another supervisor does).

A submitted plan that can no longer be approved (consent withdrawn since, an escort now needed) is not offered to the
supervisors: it goes back to whoever submitted it, as something to complete (guards.missing_for_submission)."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access.roles import Role
from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.extensions import db
from casemgmt.returns.guards import missing_for_submission
from casemgmt.returns.models import ReturnPlan

LIMIT = 50


def _submitted(user, own: bool) -> list[ReturnPlan]:
    mine = ReturnPlan.submitted_by_id == user.id
    return list(db.session.scalars(
        select(ReturnPlan)
        .join(Case, Case.id == ReturnPlan.case_id)
        .where(
            ReturnPlan.status == "submitted",
            Case.organisation_id == user.organisation_id,
            Case.erased_at.is_(None),
            mine if own else (ReturnPlan.submitted_by_id.is_(None) | ~mine),
        )
        .options(selectinload(ReturnPlan.case))
        .order_by(ReturnPlan.submitted_at, ReturnPlan.id)
        .limit(LIMIT)
    ))


def _item(plan: ReturnPlan, section: str, title: str, today: date) -> WorkItem:
    departure = plan.planned_departure_on
    return WorkItem(section=section, title=title, url=url_for("returns.case_index", case_id=plan.case_id),
                    due=departure, overdue=departure is not None and departure < today, case_id=plan.case_id)


def items(user) -> list[WorkItem]:
    if getattr(user, "id", None) is None or getattr(user, "organisation_id", None) is None:
        return []
    today = date.today()
    out = []
    if getattr(user, "role", None) == Role.SUPERVISOR:
        out += [
            _item(plan, "approvals", gettext("Approve the return plan of case %(ref)s", ref=plan.case.reference),
                  today)
            for plan in _submitted(user, own=False) if not missing_for_submission(plan)
        ]
    out += [
        _item(plan, "tasks", gettext("Complete the return plan of case %(ref)s: it cannot be approved as it is",
                                     ref=plan.case.reference), today)
        for plan in _submitted(user, own=True) if missing_for_submission(plan)
    ]
    return out
