"""Demo: a woman who stays in the destination country, holds a T visa and is joined by her two children.

finish() picks an adult woman of Casa Esperanza (the caseworker's organisation) whose case is still open and has no
return under way, moves it to "stay", records Continued Presence granted and then a T visa granted with work
authorisation, and her family: two children (T-3 derivatives, documents issued, travel paid by the assistance fund
where one of her organisation's projects has a "family reunification travel" line, arrival) and their father, marked
as possibly involved in the trafficking, whom the reunification page does not offer. Services follow the arrival:
reception, school enrolment. Everything goes through the operations (encryption, audit), except the family members,
which are written with the families models directly (their blind indexes are the families feature's business).

The demo has no organisation in the United States: the T visa is recorded for Casa Esperanza's client all the same
(country "US"), as the issue's demo asks for a T-visa holder.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.cases import age
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db
from casemgmt.families.models import FamilyMember
from casemgmt.fund import operations as fund
from casemgmt.fund.operations import FundError
from casemgmt.programmes import operations as programmes
from casemgmt.programmes import queries as programme_queries
from casemgmt.residence import operations, queries
from casemgmt.residence.models import Reunification
from casemgmt.returns import queries as returns

CHILDREN = (("Valentina", 12), ("Thiago", 9))
FATHER = "Wilmer"


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    """Nothing per case: the demo's stage paths do not go through "stay" (finish() makes the one that does)."""


def _candidate(people: dict[str, User]) -> tuple[Case, User] | None:
    worker = people.get("caseworker")
    if worker is None:
        return None
    rows = db.session.scalars(
        select(Case).where(Case.organisation_id == worker.organisation_id, Case.erased_at.is_(None),
                           Case.stage.in_(("intake", "shelter", "counseling")))
        .order_by(Case.created_at)
    )
    for case in rows:
        person = case.person
        if person is None or person.gender != "Feminine" or age.is_child(case):
            continue
        years = age.age_on(case).years
        if years is None or years < 25:
            continue
        plan = returns.current_plan(case.id)
        if plan is not None and plan.status != "draft":
            continue
        for actor in (worker, people.get("supervisor")):
            if actor is not None and allowed(actor, Action.RESIDENCE_MANAGE, case) \
                    and allowed(actor, Action.CASE_CHANGE_STAGE, case):
                return case, actor
    return None


def _family(case: Case, actor: User, today: date) -> list[FamilyMember]:
    surname = unseal(case.person, "family_name") or "Quispe"
    country = case.person.citizenship or "PE"
    made = []
    for given, years in CHILDREN:
        made.append(_member(case, actor, "child", given, surname, today.replace(year=today.year - years)
                            - timedelta(days=97), country, told=True))
    made.append(_member(case, actor, "spouse", FATHER, "Huanca", None, country, told=False, involved=True))
    return made


def _member(case, actor, relationship, given, family, born, country, told, involved=False) -> FamilyMember:
    member = FamilyMember(id=new_uuid(), case_id=case.id, relationship_code=relationship, country=country,
                          whereabouts="known", lives_with_person=False, safe_contact=not involved,
                          possibly_involved=involved, may_be_told_location=told and not involved,
                          created_by_id=actor.id, created_at=utcnow(), updated_at=utcnow())
    seal(member, "given_name", given)
    seal(member, "family_name", family)
    if born is not None:
        seal(member, "date_of_birth", born.isoformat())
    if involved:
        seal(member, "notes", "Recruited her for the job abroad; still in contact with the recruiter.")
    db.session.add(member)
    db.session.flush()
    return member


def _travel_request(case: Case, people: dict[str, User], actor: User, today: date):
    """A request for the children's flights on a project of the organisation with that line (the case enrolled in
    it if need be), approved and paid; None when no project has the line."""
    project = next((p for p in programme_queries.enrolled_projects(case.id, actor.organisation_id, today)
                    if fund.line_for(p, queries.TRAVEL_CATEGORY) is not None), None)
    if project is None:
        enroller = people.get("supervisor")
        project = next((p for p in programme_queries.projects_for(actor.organisation_id)
                        if fund.line_for(p, queries.TRAVEL_CATEGORY) is not None and p.starts_on <= today
                        <= p.ends_on), None)
        if project is None or enroller is None or not allowed(enroller, Action.ENROLMENT_MANAGE, case):
            return None
        programmes.enrol(enroller, case, project.id, max(project.starts_on, today - timedelta(days=200)))
    try:
        request = fund.request_assistance(actor, case, {
            "project_id": project.id, "category": queries.TRAVEL_CATEGORY, "amount": "780.00",
            "currency": project.currency, "payee_kind": "vendor", "payee_name": "LATAM Airlines",
            "justification": "Two one-way flights for her children (T-3), with an escort of the partner NGO.",
            "needed_by": None})
        for name in ("supervisor", "finance"):
            approver = people.get(name)
            if request.status == "requested" and approver is not None \
                    and allowed(approver, Action.FUND_APPROVE, request):
                fund.approve(approver, request)
        payer = people.get("finance")
        if request.status == "approved" and payer is not None and allowed(payer, Action.FUND_DISBURSE, request):
            fund.disburse(payer, request, {"method": "bank_transfer", "paid_on": today, "reference": "LA-4471902"})
    except FundError:
        db.session.rollback()
        return None
    # The operations stamp today; the flights were asked for, approved and paid before the children travelled
    # (finish: travel 30 days ago).
    asked = datetime.combine(today - timedelta(days=50), time(10))
    request.requested_at = asked
    for i, approval in enumerate(request.approvals):
        approval.approved_at = asked + timedelta(days=2 + i)
    if request.decided_at is not None:
        request.decided_at = asked + timedelta(days=1 + len(request.approvals))
    if request.disbursement is not None:
        request.disbursement.paid_on = today - timedelta(days=40)
        request.disbursement.recorded_at = datetime.combine(today - timedelta(days=40), time(15))
    return request


def finish(people: dict[str, User], rng: random.Random) -> None:
    if db.session.scalar(select(Reunification.id).where(Reunification.status == "reunified").limit(1)):
        return
    found = _candidate(people)
    if found is None:
        return
    case, actor = found
    today = date.today()
    # The fund first: a refusal there rolls the transaction back, before anything else of this demo is written.
    request = _travel_request(case, people, actor, today)
    cases.change_stage(actor, case, "stay", None)
    operations.record_status(actor, case, {
        "country": "US", "kind": "continued_presence", "state": "granted", "applied_on": today - timedelta(days=430),
        "decided_on": today - timedelta(days=410), "valid_until": today - timedelta(days=410) + timedelta(days=730),
        "certifying_agency": "U.S. Immigration and Customs Enforcement, on the request of the FBI",
        "work_authorisation": True, "reference": "CP-2025-0193", "notes": None})
    operations.record_status(actor, case, {
        "country": "US", "kind": "t_visa", "state": "granted", "applied_on": today - timedelta(days=380),
        "decided_on": today - timedelta(days=150), "valid_until": today - timedelta(days=150) + timedelta(days=1461),
        "certifying_agency": "USCIS Vermont Service Center", "work_authorisation": True,
        "reference": "EAC-25-114-52731", "notes": "Law enforcement declaration (Supplement B) from the FBI."})
    children = _family(case, actor, today)[:2]
    reunification = operations.open_reunification(
        actor, case, "Her two children live with their grandmother; their father is not to know where she lives.")
    reunification.opened_on = today - timedelta(days=140)
    # Both join before anyone arrives: the last arrival of those joining makes the family reunified.
    members = [operations.add_member(actor, reunification, {"family_member_id": c.id, "derivative_kind": "t3"})
               for c in children]
    for member in members:
        operations.update_member(actor, reunification, member, {
            "derivative_kind": "t3", "document_status": "issued", "document_applied_on": today - timedelta(days=135),
            "document_issued_on": today - timedelta(days=45), "travel_on": today - timedelta(days=30),
            "fund_request_id": request.id if request is not None else None,
            "arrived_on": today - timedelta(days=29)})
    operations.record_service(actor, reunification, {"kind": "reception", "provided_on": today - timedelta(days=29),
                                                     "notes": "Met at the airport by the caseworker and the escort."})
    for child in children:
        operations.record_service(actor, reunification, {
            "kind": "school", "provided_on": today - timedelta(days=18), "family_member_id": child.id,
            "notes": "Enrolled in the public school near the apartment, with English support classes."})
    db.session.flush()
