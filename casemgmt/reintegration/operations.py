"""Named verbs of reintegration: the plan, services delivered, monitoring visits. Each checks its policy, writes its
audit event (field names, never values) and leaves the commit to the caller."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from casemgmt.access import Action, authorize
from casemgmt.access.policies import CASE_WORKERS
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core import versions
from casemgmt.core.invariants import insert_or_refuse
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.reintegration import queries
from casemgmt.reintegration.models import (
    SCORE_DIMENSIONS,
    SCORE_MAX,
    SCORE_MIN,
    SUPPORT_TYPES,
    MonitoringVisit,
    ReintegrationPlan,
    ReintegrationSupport,
    ServiceDelivered,
)
from casemgmt.returns.queries import case_or_404

MAX_AMOUNT = Decimal("9999999999.99")  # what Numeric(12, 2) holds


class ReintegrationError(ValueError):
    """A change that cannot be made; the message is shown to the user (already translated)."""


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _a_date(value, missing: str) -> date:
    if not isinstance(value, date):
        raise ReintegrationError(missing)
    return value


def _not_in_future(day: date | None, message: str) -> None:
    if day is not None and day > date.today():
        raise ReintegrationError(message)


def check_case_open(case: Case) -> None:
    if case.stage == "closed":
        raise ReintegrationError(gettext("This case is closed: reopen it before changing its reintegration."))


def open_page(actor, case_id: str) -> Case:
    """Load a case for its reintegration page (another organisation's case answers 404) and audit the view."""
    case = case_or_404(case_id)
    authorize(actor, Action.REINTEGRATION_MANAGE, case)
    record_event("reintegration.view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def load_case(actor, case_id: str) -> Case:
    case = case_or_404(case_id)
    authorize(actor, Action.REINTEGRATION_MANAGE, case)
    return case


# The plan ----------------------------------------------------------------------------------------------------------

PLAN_FIELDS = ("created_on", "support_types", "objectives", "planned_end_on", "actual_end_on",
               "responsible_organisation_id")


def plan_snapshot(plan: ReintegrationPlan) -> dict:
    data = {name: getattr(plan, name) for name in PLAN_FIELDS if name != "objectives"}
    data["objectives"] = queries.revealed_objectives(plan)
    return data


def save_plan(actor, case: Case, values: dict, base: int | None = None) -> ReintegrationPlan:
    """Create the case's reintegration plan, or update it from version `base` of the plan (core/versions.py: an
    EditConflict rather than overwriting a newer version). A plan made later than a month after arrival is saved
    (late is better than never); the page says it is late."""
    authorize(actor, Action.REINTEGRATION_MANAGE, case)
    check_case_open(case)
    created_on = _a_date(values.get("created_on"), gettext("Give the date the plan was made."))
    _not_in_future(created_on, gettext("The date the plan was made cannot be in the future."))
    supports = values.get("support_types") or []
    if not supports:
        raise ReintegrationError(gettext("Choose at least one type of support."))
    if any(code not in SUPPORT_TYPES for code in supports):
        raise ReintegrationError(gettext("Choose the types of support from the list."))
    objectives = _clean(values.get("objectives"))
    if objectives is None:
        raise ReintegrationError(gettext("Write the plan's objectives."))
    planned_end = values.get("planned_end_on")
    actual_end = values.get("actual_end_on")
    if planned_end is not None and planned_end < created_on:
        raise ReintegrationError(gettext("The planned end cannot be before the plan was made."))
    if actual_end is not None and actual_end < created_on:
        raise ReintegrationError(gettext("The actual end cannot be before the plan was made."))
    _not_in_future(actual_end, gettext("The actual end cannot be in the future: record it when the plan ends."))
    org_id = values.get("responsible_organisation_id")
    if not isinstance(org_id, int) or db.session.get(Organisation, org_id) is None:
        raise ReintegrationError(gettext("Choose the organisation responsible for the plan."))

    plan = queries.plan_of(case.id)
    someone_else_first = ReintegrationError(gettext(
        "Someone else has just made this case's reintegration plan. Look at it, then save your changes to it."
    ))
    # values["plan_id"]: the plan the form was filled from (none for a first plan). Two first plans one after the
    # other must not become a first plan silently replaced by the second.
    if (plan.id if plan is not None else None) != (values.get("plan_id") or None):
        raise someone_else_first
    created = plan is None
    cleaned = {"created_on": created_on, "support_types": supports, "objectives": objectives,
               "planned_end_on": planned_end, "actual_end_on": actual_end, "responsible_organisation_id": org_id}
    if not created:
        versions.check(plan, "reintegration_plan", base, lambda: plan_snapshot(plan), cleaned, PLAN_FIELDS)
    if created:
        plan = ReintegrationPlan(id=new_uuid(), case_id=case.id, created_by_id=actor.id, created_at=utcnow())
        plan.case = case
        plan.created_on, plan.responsible_organisation_id = created_on, org_id
        # One plan per case: when two people make the first plan at the same instant, the unique index keeps the
        # first and this one is refused rather than saved over it unseen.
        insert_or_refuse(plan, "ix_reintegration_plans_case", someone_else_first)
    plan.created_on = created_on
    plan.planned_end_on = planned_end
    plan.actual_end_on = actual_end
    plan.responsible_organisation_id = org_id
    plan.updated_at = utcnow()
    seal(plan, "objectives", objectives)
    wanted = sorted(set(supports))
    for row in [s for s in plan.supports if s.support_type not in wanted]:
        plan.supports.remove(row)
    have = set(plan.support_types)
    for code in wanted:
        if code not in have:
            plan.supports.append(ReintegrationSupport(support_type=code))
    if not created:
        versions.flush(plan, "reintegration_plan", plan_snapshot, cleaned, PLAN_FIELDS)
    record_event(
        "reintegration.plan_create" if created else "reintegration.plan_update", object_type="reintegration_plan",
        object_id=plan.id, case_id=case.id, actor=actor,
        details={"fields": ["created_on", "support_types", "objectives", "planned_end_on", "actual_end_on",
                            "responsible_organisation_id"]},
    )
    return plan


# Services ----------------------------------------------------------------------------------------------------------

def parse_amount(value) -> Decimal:
    """A sum of money: a finite decimal, not negative, with at most two decimal places."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ReintegrationError(gettext("The amount must be a number, such as 150 or 150.50.")) from None
    if not amount.is_finite():
        raise ReintegrationError(gettext("The amount must be a number, such as 150 or 150.50."))
    if amount < 0:
        raise ReintegrationError(gettext("The amount cannot be negative."))
    if amount > MAX_AMOUNT:
        raise ReintegrationError(gettext("The amount is too large."))
    if amount != amount.quantize(Decimal("0.01")):
        raise ReintegrationError(gettext("The amount can have at most two decimal places."))
    return amount.quantize(Decimal("0.01"))


def clean_service(values: dict) -> dict:
    """A service's fields checked (the same for recording one and correcting it)."""
    service_type = values.get("service_type")
    if service_type not in SUPPORT_TYPES:
        raise ReintegrationError(gettext("Choose the type of service."))
    provider = _clean(values.get("provider"))
    if provider is None or len(provider) > 200:
        raise ReintegrationError(gettext("Name the service provider (at most 200 characters)."))
    amount = parse_amount(values.get("amount"))
    currency = (values.get("currency") or "").strip().upper()
    if currency not in queries.CURRENCIES:
        raise ReintegrationError(gettext("Give the currency as an ISO 4217 code, such as USD or HTG."))
    delivered_on = _a_date(values.get("delivered_on"), gettext("Give the date the service was delivered."))
    _not_in_future(delivered_on, gettext("The delivery date cannot be in the future."))
    return {"service_type": service_type, "provider": provider, "amount": amount, "currency": currency,
            "delivered_on": delivered_on, "implemented": bool(values.get("implemented")),
            "note": _clean(values.get("note"))}


def record_service(actor, case: Case, values: dict) -> ServiceDelivered:
    authorize(actor, Action.REINTEGRATION_MANAGE, case)
    check_case_open(case)
    plan = queries.plan_of(case.id)
    if plan is None:
        raise ReintegrationError(gettext("Make the reintegration plan before recording services."))
    cleaned = clean_service(values)
    note = cleaned.pop("note")
    service = ServiceDelivered(id=new_uuid(), plan_id=plan.id, case_id=case.id, recorded_by_id=actor.id,
                               created_at=utcnow(), **cleaned)
    service.case = case
    seal(service, "note", note)
    db.session.add(service)
    record_event("reintegration.service", object_type="reintegration_service", object_id=service.id,
                 case_id=case.id, actor=actor,
                 details={"fields": ["service_type", "provider", "amount", "currency", "delivered_on", "implemented"]
                          + (["note"] if service.note is not None else [])})
    return service


# Monitoring visits -------------------------------------------------------------------------------------------------

def _score(values: dict, dimension: str) -> int:
    value = values.get(dimension)
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = None
    if score is None or isinstance(value, bool) or not SCORE_MIN <= score <= SCORE_MAX:
        raise ReintegrationError(gettext(
            "Each sustainability score is from %(low)d (not sustainable) to %(high)d (fully sustainable).",
            low=SCORE_MIN, high=SCORE_MAX))
    return score


def clean_visit(actor, values: dict, visitor_before: int | None = None) -> dict:
    """A visit's fields checked (the same for recording one and correcting it). The visitor is an active colleague of
    the actor, or, in a correction that keeps them, the visitor the visit already names."""
    visited_on = _a_date(values.get("visited_on"), gettext("Give the date of the visit."))
    _not_in_future(visited_on, gettext("A visit cannot be recorded for a date in the future."))
    scores = {dimension: _score(values, dimension) for dimension in SCORE_DIMENSIONS}
    next_due = values.get("next_visit_due")
    if next_due is not None and next_due <= visited_on:
        raise ReintegrationError(gettext("The next visit must be due after this one."))
    visitor_id = values.get("visited_by_id") or actor.id
    visitor = db.session.get(User, visitor_id)
    if visitor is not None and visitor.id == visitor_before:
        pass
    elif (
        visitor is None or not visitor.active or visitor.organisation_id != actor.organisation_id
        or visitor.role not in CASE_WORKERS
    ):
        raise ReintegrationError(gettext("The visitor must be an active colleague of your organisation."))
    return {"visited_on": visited_on, "visited_by_id": visitor.id, **scores, "next_visit_due": next_due,
            "observations": _clean(values.get("observations"))}


def record_visit(actor, case: Case, values: dict) -> MonitoringVisit:
    authorize(actor, Action.REINTEGRATION_MANAGE, case)
    check_case_open(case)
    cleaned = clean_visit(actor, values)
    observations = cleaned.pop("observations")
    lock(case)
    visit = MonitoringVisit(id=new_uuid(), case_id=case.id, recorded_by_id=actor.id, created_at=utcnow(), **cleaned)
    visit.case = case
    seal(visit, "observations", observations)
    db.session.add(visit)
    refresh_next_visit(case)
    record_event("reintegration.visit", object_type="monitoring_visit", object_id=visit.id, case_id=case.id,
                 actor=actor,
                 details={"fields": ["visited_on", "visited_by_id", *SCORE_DIMENSIONS, "next_visit_due"]
                          + (["observations"] if visit.observations is not None else [])})
    return visit


def lock(case: Case) -> None:
    """Hold the case's row until commit (PostgreSQL; SQLite has one writer at a time anyway), so that two visits
    recorded at once for one case are ordered: the second one's refresh_next_visit sees the first visit."""
    db.session.execute(select(Case.id).where(Case.id == case.id).with_for_update())


def refresh_next_visit(case: Case) -> None:
    """Copy the next_visit_due of the case's latest visit (the latest visit date, then the latest recorded, as the
    reintegration page lists them; deleted visits left out) onto the case: a visit recorded today for last month does
    not replace the plan made at a later visit.

    A plain UPDATE, not through the ORM: the case's version counter guards what editors change against lost edits,
    and a visit is not an edit of the case record, so it must not make a colleague's open edit form conflict."""
    due = db.session.scalar(
        select(MonitoringVisit.next_visit_due)
        .where(MonitoringVisit.case_id == case.id, MonitoringVisit.live())
        .order_by(MonitoringVisit.visited_on.desc(), MonitoringVisit.created_at.desc(), MonitoringVisit.id)
        .limit(1)
    )
    db.session.execute(update(Case).where(Case.id == case.id).values(next_visit_due=due),
                       execution_options={"synchronize_session": False})
    set_committed_value(case, "next_visit_due", due)
