"""Tracing requests that have waited too long: open, with no action recorded for STALE_AFTER days. They wait for the
caseworker on the case and for the receiving mission that traces in the country of origin (the organisation an
accepted referral or return hand-off reached). One query, whatever the number of requests."""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for
from flask_babel import gettext
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed
from casemgmt.access.grants import AUDIENCES, CaseGrant
from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.extensions import db
from casemgmt.families.models import RELATIONSHIPS, TracingAction, TracingRequest

STALE_AFTER = timedelta(days=14)
LIMIT = 50


def stale_requests(user, today: date | None = None) -> list[TracingRequest]:
    today = today or date.today()
    since = today - STALE_AFTER
    last_action = (select(func.max(TracingAction.done_on))
                   .where(TracingAction.tracing_request_id == TracingRequest.id).scalar_subquery())
    mine = Case.assigned_to_id == user.id
    if getattr(user, "role", None) in AUDIENCES["referral"]:
        receiving = exists().where(
            CaseGrant.case_id == Case.id, CaseGrant.organisation_id == user.organisation_id,
            CaseGrant.level == "referral", CaseGrant.user_id.is_(None),
            CaseGrant.revoked_at.is_(None), CaseGrant.suspended_at.is_(None))
        mine = or_(mine, receiving)
    return list(db.session.scalars(
        select(TracingRequest)
        .join(Case, Case.id == TracingRequest.case_id)
        .where(TracingRequest.status == "open", Case.erased_at.is_(None), Case.stage != "closed", mine,
               func.coalesce(last_action, TracingRequest.opened_on) <= since)
        .options(selectinload(TracingRequest.case), selectinload(TracingRequest.family_member))
        .order_by(TracingRequest.opened_on, TracingRequest.id)
        .limit(LIMIT)
    ))


def items(user) -> list[WorkItem]:
    if getattr(user, "id", None) is None or not allowed(user, Action.TRACING_MANAGE):
        return []
    today = date.today()
    out = []
    for found in stale_requests(user, today):
        if not allowed(user, Action.TRACING_MANAGE, found):
            continue
        member = found.family_member
        out.append(WorkItem(
            section="tasks",
            title=gettext("Tracing for case %(ref)s (%(relationship)s) has had no action for %(days)d days",
                          ref=found.case.reference,
                          relationship=RELATIONSHIPS.label(member.relationship_code) if member else "—",
                          days=STALE_AFTER.days),
            url=url_for("families.tracing_request", request_id=found.id), overdue=True,
            case_id=found.case_id,
        ))
    return out
