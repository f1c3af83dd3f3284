"""Reads that gather the journey: the case timeline, each user's work, the stage outlook on the case page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.policies import case_scope_filter
from casemgmt.access.roles import Role
from casemgmt.accounts import worklist as account_worklist  # supervisors approve account requests too
from casemgmt.cases import stages
from casemgmt.cases.models import Case
from casemgmt.core.journey import WORK_SECTIONS, TimelineEntry, WorkItem, in_order
from casemgmt.extensions import db
from casemgmt.journey.discovery import feature_modules
from casemgmt.journey.models import ClosureRequest

WORKLIST_LIMIT = 50
MY_CASES_LIMIT = 20


def closure_requests(case: Case) -> list[ClosureRequest]:
    return list(db.session.scalars(
        select(ClosureRequest)
        .where(ClosureRequest.case_id == case.id)
        .options(selectinload(ClosureRequest.requested_by), selectinload(ClosureRequest.decided_by))
        .order_by(ClosureRequest.requested_at.desc(), ClosureRequest.id)
    ))


def closures_waiting_for(user) -> list[ClosureRequest]:
    """Closure requests on cases of the supervisor's organisation that wait for a decision, except the supervisor's
    own requests (nobody approves what they requested: another supervisor does)."""
    if not allowed(user, Action.CLOSURE_APPROVE):
        return []
    return list(db.session.scalars(
        select(ClosureRequest)
        .join(Case, Case.id == ClosureRequest.case_id)
        .where(ClosureRequest.status == "requested", Case.organisation_id == user.organisation_id,
               Case.erased_at.is_(None),
               ClosureRequest.requested_by_id.is_(None) | (ClosureRequest.requested_by_id != user.id))
        .options(selectinload(ClosureRequest.case), selectinload(ClosureRequest.requested_by))
        .order_by(ClosureRequest.requested_at)
        .limit(WORKLIST_LIMIT)
    ))


def timeline(actor, case: Case, newest_first: bool = True) -> list[TimelineEntry]:
    """Every installed feature's entries for the case (each leaves out what the actor may not read), in order."""
    entries: list[TimelineEntry] = []
    for module in feature_modules("timeline"):
        entries.extend(module.entries(actor, case))
    return in_order(entries, newest_first)


def _work_order(item: WorkItem):
    return (not item.urgent, not item.overdue, item.due or date.max)


def work_for(user) -> dict[str, list[WorkItem]]:
    """What waits for the user, by section (WORK_SECTIONS order): urgent, then overdue, then by due date."""
    sections: dict[str, list[WorkItem]] = {name: [] for name in WORK_SECTIONS}
    for module in [*feature_modules("worklist"), account_worklist]:
        for item in module.items(user):
            sections.setdefault(item.section, []).append(item)
    return {name: sorted(items, key=_work_order) for name, items in sections.items()}


def my_cases(user, limit: int = MY_CASES_LIMIT) -> tuple[list[Case], int]:
    """The user's open cases (assigned to them; for a hotline operator, the ones they opened), latest change first,
    and how many there are in all."""
    if not allowed(user, Action.CASE_LIST):
        return [], 0
    mine = Case.created_by_id == user.id if user.role == Role.HOTLINE else Case.assigned_to_id == user.id
    condition = case_scope_filter(user) & mine & (Case.stage != "closed")
    total = db.session.scalar(select(func.count()).select_from(Case).where(condition)) or 0
    cases = list(db.session.scalars(
        select(Case).where(condition).order_by(Case.updated_at.desc(), Case.id).limit(limit)
    ))
    return cases, total


@dataclass(frozen=True)
class NextStage:
    code: str
    label: str
    needs_reason: bool
    refusal: str | None  # why a guard would refuse the move now, or None


@dataclass(frozen=True)
class StageOutlook:
    stages: list[NextStage]
    closure_url: str | None       # where to request (or decide) closure, for those who may
    closure_pending: bool


def stage_outlook(case: Case) -> StageOutlook:
    """For the case page's stage form: the stages that may follow, which need a reason, and what a guard would say
    now (one or two queries per guarded stage), so the user learns before submitting."""
    outlook = [
        NextStage(code=s, label=htcds.STAGES.label(s), needs_reason=stages.needs_reason(case.stage, s),
                  refusal=stages.refusal(case, s))
        for s in stages.allowed_next(case.stage)
    ]
    may_request = "closed" in stages.TRANSITIONS.get(case.stage, ()) and allowed(
        current_user, Action.CASE_CHANGE_STAGE, case)
    pending = may_request and db.session.scalar(
        select(ClosureRequest.id).where(ClosureRequest.case_id == case.id, ClosureRequest.status == "requested")
        .limit(1)
    ) is not None
    return StageOutlook(
        stages=outlook, closure_url=url_for("journey.closure", case_id=case.id) if may_request else None,
        closure_pending=pending,
    )
