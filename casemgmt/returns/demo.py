"""Demo returns: an approved plan for cases in the return stage (some already departed), an arrived one for cases in
reintegration, received by the IOM mission.

The stage guards refuse a move to "return" without an approved plan and to "reintegration" without a confirmed
arrival, so a demo that walks a case through the stages calls prepare(case, to_stage, ...) before each such move;
populate() after the move completes what prepare() began (and does it all when prepare() was not called).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from casemgmt.access import Action, allowed
from casemgmt.access.policies import case_access
from casemgmt.accounts.models import User
from casemgmt.cases import age
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent import demo as consent_demo
from casemgmt.consent.models import ConsentRecord
from casemgmt.consent.queries import has_consent
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.returns import operations, queries
from casemgmt.returns.models import ReturnPlan

LOCALITIES = {
    "HT": ("Cap-Haïtien", "Gonaïves", "Jacmel", "Les Cayes", "Port-de-Paix"),
    "PE": ("Juliaca", "Pucallpa", "Huancayo", "Iquitos"),
    "CO": ("Buenaventura", "Cúcuta", "Pasto"),
    "VE": ("Maracaibo", "San Cristóbal", "Barquisimeto"),
    "EC": ("Esmeraldas", "Machala", "Ibarra"),
    "BO": ("El Alto", "Cochabamba", "Oruro"),
}
RISKS = (
    ("low", "The recruiter was arrested last year; the family lives in another district. No threats reported."),
    ("medium", "The recruiter is still active in the region but does not know the family's new address. "
               "Avoid the bus terminal; mission staff to meet the person at the airport."),
    ("high", "Debt claimed by the network; threats to the family last month. Relocation to another town agreed "
             "with the person, reception at a partner shelter first."),
)
FAMILIES = (
    ("found_willing", "Mother and two siblings located by the partner NGO; they look forward to the return."),
    ("found_willing", "An aunt will host the person for the first months; home visit done by mission staff."),
    ("found_not_willing", "Father refuses contact. The person will stay with a friend from school at first."),
    ("not_found", "No relatives could be located; reception at the partner shelter arranged."),
)
ROUTES = (
    "Flight via Panama City, arrival 14:35; mission staff at arrivals with a sign.",
    "Direct flight, morning arrival; onward bus ticket to the home town booked for the next day.",
    "Flight via Bogotá with an overnight stay at the transit hotel arranged by the mission.",
)
ESCORTS = ("Jean-Baptiste Pierre", "Lucía Fernández", "Marie-Ange Joseph", "Rosa Huamán")
# A parent or legal guardian who travels with a child instead of an escort (name, cases.age.TRAVELLING_GUARDIANS).
GUARDIANS = (("Mirlande Jean-Louis", "parent"), ("Wilfrid Baptiste", "legal_guardian"), ("Juana Mamani", "parent"))
CONSULAR = "Consulate issued an emergency travel document after an interview by video call."


def _sending_actor(case: Case, people: dict[str, User]) -> User | None:
    for name in ("caseworker", "supervisor", "caseworker2", "mission"):
        user = people.get(name)
        if user is not None and case_access(user, case) == "full" and allowed(user, Action.RETURN_MANAGE, case):
            return user
    return None


def _approver(case: Case, people: dict[str, User]) -> User | None:
    """A supervisor who may approve this case's return (any in `people`, "supervisor" first)."""
    for user in sorted(people.values(), key=lambda u: u.username != "supervisor"):
        if allowed(user, Action.RETURN_APPROVE, case) and case_access(user, case) == "full":
            return user
    return None


def _receiving_actor(case: Case, people: dict[str, User], fallback: User) -> User:
    mission = people.get("mission")
    return mission if mission is not None and allowed(mission, Action.RETURN_MANAGE, case) else fallback


def _ensure_consent(case: Case, actor: User, on: date) -> None:
    if has_consent(case.id, "return"):
        return
    language = ((case.person.languages if case.person else None) or "es").split(",")[0]
    child = age.is_child(case, on)
    record = ConsentRecord(
        id=new_uuid(), case_id=case.id, obtained_on=on, obtained_by_id=actor.id, language=language,
        is_child_assent=child, point_interview=True, point_purpose=True,
        point_data_uses=True, point_access_right=True, point_retention=True, point_withdrawal=True,
        consents_to_share=True, consents_to_return=True,
    )
    if child:  # a child's assent goes with a guardian's consent (consent.operations)
        name, relationship = consent_demo.GUARDIANS[0]
        seal(record, "guardian_name", name)
        seal(record, "guardian_relationship", relationship)
    db.session.add(record)
    db.session.flush()


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10, 0))


def _approved_plan(case: Case, people: dict[str, User], rng: random.Random, travel_by: date) -> ReturnPlan | None:
    """A plan approved before `travel_by`, its steps dated in the weeks before (timestamps set back for realism)."""
    plan = queries.current_plan(case.id)
    actor, approver = _sending_actor(case, people), _approver(case, people)
    if plan is not None and plan.status in ("approved", "departed", "arrived"):
        return plan
    if plan is not None and plan.status == "submitted":
        if approver is None:
            return None
        operations.approve_plan(approver, plan)
        return plan
    mission = people["mission"]
    if actor is None:
        return None
    anchor = min(travel_by, date.today())  # every step is dated on or before today
    started = anchor - timedelta(days=rng.randint(25, 45))
    _ensure_consent(case, actor, started - timedelta(days=rng.randint(1, 10)))
    country = (case.person.citizenship if case.person else None) or mission.organisation.country
    if plan is None:
        plan = operations.create_plan(actor, case, {
            "receiving_organisation_id": mission.organisation_id, "destination_country": country,
            "destination_locality": rng.choice(LOCALITIES.get(country, LOCALITIES["HT"])),
        })
    level, risk = rng.choice(RISKS)
    operations.record_risk_assessment(actor, plan, {
        "risk_level": level, "risk_summary": risk, "risk_assessed_on": started + timedelta(days=rng.randint(2, 6)),
    })
    outcome, family = rng.choice(FAMILIES)
    operations.record_family_assessment(actor, plan, {
        "family_outcome": outcome, "family_summary": family,
        "family_assessed_on": started + timedelta(days=rng.randint(5, 12)),
    })
    requested = started + timedelta(days=rng.randint(1, 5))
    operations.record_travel_document(actor, plan, {
        "travel_document_status": "issued", "travel_document_requested_on": requested,
        "travel_document_issued_on": requested + timedelta(days=rng.randint(5, 12)),
    })
    operations.record_consular_contact(actor, plan, {
        "consular_contact_made": True, "consular_contact_on": requested, "consular_note": CONSULAR,
    })
    # A child on the day of travel (or on any day it may be set back to) goes with an escort, or now and then with a
    # parent or legal guardian instead.
    child = age.is_child(case, min(travel_by, date.today()))
    guardian = GUARDIANS[rng.randrange(len(GUARDIANS))] if child and rng.random() < 0.3 else None
    escort = (child and guardian is None) or (not child and rng.random() < 0.2)
    operations.record_itinerary(actor, plan, {
        "planned_departure_on": travel_by, "route_details": rng.choice(ROUTES), "escort_required": escort,
        "escort_name": rng.choice(ESCORTS) if escort else None,
        "guardian_name": guardian[0] if guardian else None, "guardian_relationship": guardian[1] if guardian else None,
    })
    operations.submit_plan(actor, plan)
    if approver is None:
        return None  # no supervisor here to approve: the plan waits, submitted
    operations.approve_plan(approver, plan)
    # The operations stamp "now"; a demo plan was made over the weeks before travel.
    plan.created_at = _at(started)
    plan.submitted_at = _at(anchor - timedelta(days=rng.randint(8, 12)))
    plan.approved_at = _at(anchor - timedelta(days=rng.randint(2, 7)))
    db.session.flush()
    return plan


def _depart(case: Case, plan: ReturnPlan, people: dict[str, User], on: date) -> None:
    if plan.status == "approved":
        operations.confirm_departure(_sending_actor(case, people), plan, on)


def _arrive(case: Case, plan: ReturnPlan, people: dict[str, User], on: date) -> None:
    if plan.status == "departed":
        actor = _receiving_actor(case, people, _sending_actor(case, people))
        operations.confirm_arrival(actor, plan, on)


def _set_back(plan: ReturnPlan, days: int) -> None:
    """Move every date of a plan `days` earlier (a demo plan approved "now" that must have travelled long ago)."""
    shift = timedelta(days=days)
    for name in ("risk_assessed_on", "family_assessed_on", "travel_document_requested_on", "travel_document_issued_on",
                 "consular_contact_on", "planned_departure_on", "created_at", "submitted_at", "approved_at"):
        value = getattr(plan, name)
        if value is not None:
            setattr(plan, name, value - shift)


def prepare(case: Case, to_stage: str, people: dict[str, User], rng: random.Random) -> bool:
    """Make what the guard of `to_stage` asks for. False when the demo lacks someone to do it (for example no
    supervisor in the case's organisation to approve the return)."""
    today = date.today()
    if to_stage == "return":
        return _approved_plan(case, people, rng, today + timedelta(days=rng.randint(0, 20))) is not None
    if to_stage == "reintegration":
        # Long enough ago for a reintegration plan and a monitoring visit or two since.
        departed = today - timedelta(days=rng.randint(75, 150))
        plan = _approved_plan(case, people, rng, departed)
        if plan is None:
            return False
        if plan.status == "approved" and plan.approved_at.date() > departed:
            _set_back(plan, (plan.approved_at.date() - departed).days + rng.randint(2, 7))
        _depart(case, plan, people, departed)
        if plan.departed_on is not None:
            _arrive(case, plan, people, min(today, plan.departed_on + timedelta(days=rng.choice([0, 0, 1]))))
        return plan.status == "arrived"
    return True


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    if case.erased_at is not None or case.stage not in ("return", "reintegration"):
        return
    if not prepare(case, case.stage, people, rng):
        return
    plan = queries.current_plan(case.id)
    # Sometimes the person is already on the way: departed today.
    if case.stage == "return" and plan.status == "approved" and rng.random() < 0.35:
        _depart(case, plan, people, date.today())
