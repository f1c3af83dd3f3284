"""Builders for return tests (also used by the reintegration tests). Call them inside an app context."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.cases import age
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.referrals import operations as referrals
from casemgmt.referrals.models import Referral
from casemgmt.returns import operations
from casemgmt.returns.models import ReturnPlan
from tests import factories

TODAY = date.today()
DAYS = timedelta(days=1)
# A 15-year-old by the date of birth alone: a child on every day these tests act on.
CHILD_DOB = TODAY.replace(year=TODAY.year - 15) - 40 * DAYS

RISK = {"risk_level": "medium", "risk_summary": "Recruiter still active near the family home in Jacmel.",
        "risk_assessed_on": TODAY - 10 * DAYS}
FAMILY = {"family_outcome": "found_willing", "family_summary": "Aunt Mireille will host her in Cap-Haïtien.",
          "family_assessed_on": TODAY - 8 * DAYS}
TRAVEL = {"travel_document_status": "issued", "travel_document_requested_on": TODAY - 20 * DAYS,
          "travel_document_issued_on": TODAY - 5 * DAYS}
ITINERARY = {"planned_departure_on": TODAY + 3 * DAYS, "route_details": "Flight CM 431 via Panama, seat 12C",
             "escort_required": True, "escort_name": "Jean-Baptiste Pierre"}


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()


def consent(case: Case, actor, to_return: bool = True) -> ConsentRecord:
    record = ConsentRecord(
        id=new_uuid(), case_id=case.id, obtained_on=TODAY - 30 * DAYS, obtained_by_id=actor.id, language="es",
        point_interview=True, consents_to_return=to_return, is_child_assent=age.is_child(case, TODAY - 30 * DAYS),
    )
    db.session.add(record)
    db.session.flush()
    return record


def refer(case: Case, to_org, responder) -> Referral:
    """The receiving organisation given access: the return plan's hand-off accepted when naming the organisation on
    the plan sent one, else an accepted referral made directly, with the grant it gives."""
    handoff = referrals.open_referral_to(case, to_org.id)
    if handoff is not None:
        if handoff.status == "pending":
            referrals.accept_referral(responder, handoff)
        return handoff
    return factories.accepted_referral(case, to_org, responder)


def new_plan(actor, case: Case, receiving_org) -> ReturnPlan:
    return operations.create_plan(actor, case, {
        "receiving_organisation_id": receiving_org.id, "destination_country": "HT",
        "destination_locality": "Rue 5, Cap-Haïtien",
    })


def complete_plan(actor, case: Case, receiving_org, skip: tuple[str, ...] = ()) -> ReturnPlan:
    """A draft plan with every step recorded except those in `skip` (risk, family, travel, itinerary)."""
    plan = new_plan(actor, case, receiving_org)
    if "risk" not in skip:
        operations.record_risk_assessment(actor, plan, RISK)
    if "family" not in skip:
        operations.record_family_assessment(actor, plan, FAMILY)
    if "travel" not in skip:
        operations.record_travel_document(actor, plan, TRAVEL)
    if "itinerary" not in skip:
        operations.record_itinerary(actor, plan, ITINERARY)
    return plan


def approved_plan(w, case: Case) -> ReturnPlan:
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org)
    operations.submit_plan(w.caseworker, plan)
    operations.approve_plan(w.supervisor, plan)
    return plan


def arrived_plan(w, case: Case, departed: date = TODAY - 40 * DAYS, arrived: date = TODAY - 39 * DAYS) -> ReturnPlan:
    plan = approved_plan(w, case)
    plan.approved_at = utcnow() - timedelta(days=(TODAY - departed).days + 1)  # approved before it departed
    operations.confirm_departure(w.caseworker, plan, departed)
    operations.confirm_arrival(w.caseworker, plan, arrived)
    return plan


def events(action_prefix: str) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like(action_prefix + "%")).order_by(AuditEvent.seq)
    ))
