"""The return's steps on the case timeline: plan started, assessments, submission, approval, departure, arrival."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.htcds import country_name
from casemgmt.returns import queries
from casemgmt.returns.models import FAMILY_OUTCOMES, RISK_LEVELS


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.RETURN_VIEW, case):
        return []
    plans = queries.plans_of(case.id)
    if not plans:
        return []
    names = queries.user_names(set().union(*(p.user_ids() for p in plans)))
    url = url_for("returns.case_index", case_id=case.id)
    out: list[TimelineEntry] = []

    def add(day, title: str, detail: str = "", who: int | None = None, recorded=None) -> None:
        if day is not None:
            out.append(dated(day, recorded, kind="return", title=title, detail=detail,
                             actor=names.get(who, "") if who else "", url=url))

    for plan in plans:
        add(plan.created_at, gettext("Return plan started"),
            gettext("Destination: %(country)s", country=country_name(plan.destination_country)), plan.created_by_id)
        add(plan.risk_assessed_on, gettext("Return risk assessment"),
            gettext("Risk: %(level)s", level=RISK_LEVELS.label(plan.risk_level)), plan.risk_assessed_by_id)
        add(plan.family_assessed_on, gettext("Family assessment"), FAMILY_OUTCOMES.label(plan.family_outcome),
            plan.family_assessed_by_id)
        add(plan.submitted_at, gettext("Return plan submitted for approval"), who=plan.submitted_by_id)
        add(plan.approved_at, gettext("Return plan approved"), who=plan.approved_by_id)
        add(plan.departed_on, gettext("Departure confirmed"), who=plan.departure_confirmed_by_id,
            recorded=plan.departure_confirmed_at)
        add(plan.arrived_on, gettext("Arrival confirmed"), who=plan.arrival_confirmed_by_id,
            recorded=plan.arrival_confirmed_at)
        add(plan.cancelled_at, gettext("Return plan cancelled"), who=plan.cancelled_by_id)
    return out
