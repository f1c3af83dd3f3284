"""One case of Casa Esperanza with one record of every kind that can be corrected or edited (issue 12, item 6), made
through the real operations, and helpers to read what the pages and the database say."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.counseling import operations as counseling
from casemgmt.extensions import db
from casemgmt.intake import operations as intake
from casemgmt.reintegration import operations as reintegration
from casemgmt.revisions.models import RecordRevision
from casemgmt.shelter import operations as shelter
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.returns.support import new_plan

TODAY = date.today()
DAYS = timedelta(days=1)
NOTES = "Refiere pesadillas y miedo a salir sola."
OBSERVATIONS = "Business running; sleeps better."
SUMMARY = "Caller's sister works in a textile workshop in Gamarra."

VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')


@dataclass(frozen=True)
class Ids:
    case: str
    reference: str
    shelter: int
    other_shelter: int
    placement: str
    session: str
    plan: str
    service: str
    visit: str
    contact: str
    task: str
    return_plan: str


def build(w) -> Ids:
    """Inside a request context. The case is assigned to w.caseworker, who recorded everything but the contact (taken
    by the hotline operator and attached to the case)."""
    case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
    refuge = shelter.create_facility(w.supervisor, {"name": "Casa Refugio", "facility_type": "shelter",
                                                    "bed_capacity": 2, "age_group": "both", "active": True})
    aurora = shelter.create_facility(w.supervisor, {"name": "Casa Aurora", "facility_type": "shelter",
                                                    "bed_capacity": 1, "age_group": "both", "active": True})
    db.session.commit()
    placement = shelter.admit(w.caseworker, case, refuge.id, TODAY - 10 * DAYS, TODAY + 20 * DAYS)
    session = counseling.record_session(w.caseworker, case, {
        "session_type": "psychosocial", "provider": "Lic. Rosa Paredes", "held_on": TODAY - 2 * DAYS,
        "duration_minutes": 50, "follow_up_on": TODAY + 3 * DAYS, "notes": NOTES})
    plan = reintegration.save_plan(w.caseworker, case, {
        "created_on": TODAY - 20 * DAYS, "support_types": ["Livelihood", "Health"],
        "objectives": "Open a bakery stall in Jacmel market.", "planned_end_on": TODAY + 200 * DAYS,
        "actual_end_on": None, "responsible_organisation_id": w.ngo.id})
    service = reintegration.record_service(w.caseworker, case, {
        "service_type": "Livelihood", "provider": "Coopérative du Nord", "amount": "250.50", "currency": "USD",
        "delivered_on": TODAY - 5 * DAYS, "implemented": True, "note": "Oven bought"})
    visit = reintegration.record_visit(w.caseworker, case, {
        "visited_on": TODAY - 4 * DAYS, "visited_by_id": w.caseworker.id, "economic_score": 4, "social_score": 3,
        "psychosocial_score": 2, "observations": OBSERVATIONS, "next_visit_due": TODAY + 5 * DAYS})
    db.session.commit()
    contact = intake.log_contact(w.hotline, {"channel": "phone", "call_type": "crisis", "summary": SUMMARY,
                                             "caller_type": "FamilyOrFriend", "indicators": ["Debt"]})
    db.session.commit()
    intake.attach_contact(w.caseworker, contact, case.reference)
    task = tasks.create_task(w.caseworker, case, {"title": "Call the consulate", "due_on": TODAY + 2 * DAYS,
                                                  "description": "Ask for the passport copy."})
    return_plan = new_plan(w.caseworker, case, w.mission_org)
    db.session.commit()
    return Ids(case=case.id, reference=case.reference, shelter=refuge.id, other_shelter=aurora.id,
               placement=placement.id, session=session.id, plan=plan.id, service=service.id, visit=visit.id,
               contact=contact.id, task=task.id, return_plan=return_plan.id)


def version_on(page: str) -> str:
    found = VERSION.search(page)
    assert found, "the form carries no version"
    return found.group(1)


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def revisions_of(record_id: str) -> list[RecordRevision]:
    db.session.expire_all()
    return list(db.session.scalars(select(RecordRevision).where(RecordRevision.record_id == str(record_id))
                                   .order_by(RecordRevision.version)))
