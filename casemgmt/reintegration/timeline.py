"""Reintegration on the case timeline: the plan (made, ended), services delivered, monitoring visits with scores."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.reintegration import queries
from casemgmt.reintegration.models import SUPPORT_TYPES


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.REINTEGRATION_MANAGE, case):
        return []
    plan = queries.plan_of(case.id)
    services = queries.services_of(case.id)
    visits = queries.visits_of(case.id)
    if plan is None and not services and not visits:
        return []
    ids = {s.recorded_by_id for s in services} | {v.visited_by_id for v in visits}
    if plan:
        ids.add(plan.created_by_id)
    names = queries.user_names(ids)
    url = url_for("reintegration.case_index", case_id=case.id)
    out: list[TimelineEntry] = []
    if plan:
        out.append(dated(
            plan.created_on, plan.created_at, kind="reintegration", title=gettext("Reintegration plan made"),
            detail=", ".join(SUPPORT_TYPES.label(code) for code in plan.support_types),
            actor=names.get(plan.created_by_id, ""), url=url,
        ))
        if plan.actual_end_on:
            out.append(dated(plan.actual_end_on, kind="reintegration", title=gettext("Reintegration plan ended"),
                             url=url))
    for s in services:
        detail = gettext("%(type)s by %(provider)s, %(amount)s %(currency)s", type=SUPPORT_TYPES.label(s.service_type),
                         provider=s.provider, amount=s.amount, currency=s.currency)
        if not s.implemented:
            detail += " · " + gettext("not implemented")
        out.append(dated(s.delivered_on, s.created_at, kind="service", title=gettext("Reintegration service"),
                         detail=detail, actor=names.get(s.recorded_by_id, ""), url=url))
    for v in visits:
        out.append(dated(
            v.visited_on, v.created_at, kind="visit", title=gettext("Monitoring visit"),
            detail=gettext("Sustainability (1-5): economic %(economic)d, social %(social)d, psychosocial "
                           "%(psychosocial)d", economic=v.economic_score, social=v.social_score,
                           psychosocial=v.psychosocial_score),
            actor=names.get(v.visited_by_id, ""), url=url,
        ))
    return out
