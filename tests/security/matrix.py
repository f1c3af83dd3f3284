"""The machinery of the generated access matrix (tests/security/test_access_matrix.py holds the table).

A world of three organisations is built once per backend through the real operations: the owning NGO ("own"), which
holds every object the routes take; another NGO ("other"), which must learn nothing about them; and the IOM mission
the case is referred to ("referral"), whose staff reach the case only through an accepted referral. The installation
administrator belongs to a fourth. Each organisation has a finance officer (issue 14): the owning NGO leads a project it
implements with the mission, the case is enrolled in it, and its caseworker's fund requests wait, are approved or are
paid (_programmes); the other NGO has a project, an enrolment and a request of its own.

Each viewer is logged in once, and every route that takes an object id is requested by every viewer, GET and POST,
with a valid CSRF token:

- a viewer the table refuses sends a complete, valid form (submission()), the request an attacker would make, so the
  refusal is shown to come from the access check and not from a form that failed validation;
- a viewer the table permits sends the token alone, so the form's validation stops the request (or it does something
  harmless to an object of its own) and what the next viewers reach is unchanged;
- a permitted viewer also asks for another organisation's object of the same kind under the case it may open
  (crossed()), which must not be found there; a viewer of another organisation also asks for an id that does not
  exist, and must get the same answer as for the real object.

Each answer is reduced to one letter:

    o  the request got past access control (200, 302 not to the login page, or a 400/409/422 form error)
    f  403: the viewer may not (their organisation's object, or a route closed to their role whatever the id)
    n  404: the object is not disclosed (another organisation's, or a case the viewer cannot open at all)
    x  anything else (a 5xx, a CSRF refusal, a redirect to log in): always a failure
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import func, select, update

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.bestinterests import operations as bestinterests
from casemgmt.bestinterests.models import (
    BestInterestsAssessment,
    BestInterestsDetermination,
    CareArrangement,
    Guardian,
    PanelMember,
)
from casemgmt.cases.models import Case
from casemgmt.consent import operations as consent
from casemgmt.core.time import utcnow
from casemgmt.counseling import operations as counseling
from casemgmt.counseling.models import CounselingSession
from casemgmt.documents import operations as documents
from casemgmt.extensions import db
from casemgmt.families import operations as families
from casemgmt.families.models import FamilyAssessmentVisit, FamilyMember, TracingAction, TracingRequest
from casemgmt.fund import operations as fund
from casemgmt.fund.models import Disbursement, FundApproval, FundRequest, Refund
from casemgmt.intake import operations as intake
from casemgmt.journey import operations as journey
from casemgmt.notifications.models import Notification
from casemgmt.programmes import operations as programmes
from casemgmt.programmes.models import BudgetLine, Donor, Enrolment, Project, ProjectAttribution
from casemgmt.referrals import operations as referrals
from casemgmt.reintegration import operations as reintegration
from casemgmt.residence import operations as residence
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember, ReunificationService
from casemgmt.returns import operations as returns
from casemgmt.shelter import operations as shelter
from casemgmt.shelter.models import Facility
from casemgmt.tasks import operations as tasks
from casemgmt.tasks.models import Task
from tests import factories
from tests.conftest import Web, new_client

TODAY = date.today()

# The viewers, in the order of the table's columns (see the docstring of test_access_matrix).
OWN = ("admin", "hotline", "caseworker", "caseworker_b", "supervisor", "mission", "finance")
OTHER = ("admin", "hotline", "caseworker", "supervisor", "mission", "finance")
REFERRAL = ("mission", "supervisor", "accepted", "caseworker", "finance")
VIEWERS: tuple[str, ...] = (
    *(f"own_{v}" for v in OWN), *(f"other_{v}" for v in OTHER), *(f"referral_{v}" for v in REFERRAL),
    "install_admin",
)
# Every viewer of another organisation also asks for an id that does not exist: both answers must be the same.
OTHER_VIEWERS = tuple(v for v in VIEWERS if v.startswith("other_"))
ROLES = {"admin": "administrator", "hotline": "hotline_operator", "caseworker": "caseworker",
         "caseworker_b": "caseworker", "supervisor": "supervisor", "mission": "mission_staff",
         "accepted": "caseworker", "finance": "finance_officer", "install_admin": "installation_admin"}

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
FULL_CONSENT = {
    "obtained_on": TODAY - timedelta(days=30), "language": "es", "point_interview": True, "point_purpose": True,
    "point_data_uses": True, "point_research": False, "point_access_right": True, "point_retention": True,
    "point_withdrawal": True, "consents_to_share": True, "consents_to_return": True,
}


@dataclass
class World:
    usernames: dict[str, str] = field(default_factory=dict)  # viewer -> username
    user_ids: dict[str, int] = field(default_factory=dict)
    objects: dict[str, dict[str, object]] = field(default_factory=dict)  # object name -> URL arguments
    values: dict[str, object] = field(default_factory=dict)  # what a complete form needs (ids, a reference)
    foreign: dict[str, object] = field(default_factory=dict)  # URL argument -> the other organisation's object id


def _user(org, viewer: str) -> User:
    role = ROLES[viewer if viewer == "install_admin" else viewer.split("_", 1)[1]]
    return factories.user(org, role, f"m_{viewer}")


def build_world() -> World:
    """Every object a route takes, created through the features' operations as their users would."""

    own = factories.organisation("Casa Esperanza", "NGO", "PE")
    other = factories.organisation("Camino Seguro", "NGO", "CO")
    mission_org = factories.organisation("IOM Haiti", "Intergovernmental", "HT")
    installation = factories.organisation("Installation", "NGO", "PE")
    world = World()
    people: dict[str, User] = {}
    for viewer in VIEWERS:
        org = {"own": own, "other": other, "referral": mission_org, "install": installation}[viewer.split("_", 1)[0]]
        people[viewer] = _user(org, viewer)
    # Colleagues who are no viewer: the target of account changes, and a receiving-side supervisor's request.
    people["own_target"] = factories.user(own, "caseworker", "m_own_target")
    people["own_promoted"] = factories.user(own, "caseworker", "m_own_promoted")
    people["own_admin_colleague"] = factories.user(own, "administrator", "m_own_admin_colleague")
    for name, user in people.items():
        world.usernames[name], world.user_ids[name] = user.username, user.id

    caseworker, supervisor = people["own_caseworker"], people["own_supervisor"]
    accepted = people["referral_accepted"]

    def new_case(**values) -> Case:
        case = factories.case(caseworker, assigned_to_id=caseworker.id, **values)
        consent.record_consent(caseworker, case, FULL_CONSENT)
        db.session.commit()
        return case

    def refer(case: Case, accept: bool = True):
        referral = referrals.create_referral(caseworker, case, mission_org.id, "MigrationOrChangeOfLocation",
                                             "Return requested.")
        if accept:
            referrals.accept_referral(accepted, referral)
        db.session.commit()
        return referral

    # The main case: opened by the hotline operator (so it is theirs while in intake), assigned to the caseworker.
    case = factories.case(people["own_hotline"], assigned_to_id=caseworker.id)
    consent.record_consent(caseworker, case, FULL_CONSENT)
    objects = world.objects
    objects["case"] = {"case_id": case.id}
    referral = refer(case)
    # The consent the pages list, and one to withdraw.
    withdrawable = consent.record_consent(caseworker, case, {**FULL_CONSENT, "consents_to_return": False})
    # A hotline call about the person, attached to the case; another one still waiting to open a case.
    call = intake.log_contact(people["own_hotline"], {"channel": "phone", "call_type": "tip",
                                                      "summary": "A neighbour called about her."})
    intake.attach_contact(caseworker, call, case.reference)
    waiting = intake.log_contact(people["own_hotline"], {"channel": "phone", "call_type": "crisis"})
    screening_consent = consent.record_consent(caseworker, case, FULL_CONSENT)
    intake.record_screening(caseworker, case, {
        "screened_on": TODAY - timedelta(days=20), "consent": screening_consent.id,
        "finding": "PossibleVictimOfTrafficking", "decided_by": "NGO",
    })
    facility = shelter.create_facility(supervisor, {"name": "Casa Refugio", "facility_type": "shelter",
                                                    "bed_capacity": 8})
    db.session.flush()
    placement = shelter.admit(caseworker, case, facility.id, TODAY - timedelta(days=15))
    # The admission moved the case to shelter by itself (journey/automatic.py); put it back at intake, as fixture data,
    # so that the hotline operator's rights on their own case at intake are still exercised.
    db.session.flush()
    db.session.execute(update(Case).where(Case.id == case.id).values(stage="intake"))
    db.session.expire(case)
    session = counseling.record_session(caseworker, case, {
        "session_type": "psychosocial", "provider": "Lic. Rosa Paredes", "held_on": TODAY - timedelta(days=10),
        "duration_minutes": 50, "follow_up_on": None, "notes": "Sleeps badly; fears the recruiter.",
    })
    plan = returns.create_plan(caseworker, case, {"receiving_organisation_id": mission_org.id,
                                                  "destination_country": "HT", "destination_locality": "Jacmel"})
    returns.record_risk_assessment(caseworker, plan, {"risk_level": "low", "risk_summary": "No threats.",
                                                      "risk_assessed_on": TODAY - timedelta(days=5)})
    # Waiting for approval that would still be refused (no family assessment): submitting such a plan is refused, so
    # the status is set.
    plan.status, plan.submitted_by_id, plan.submitted_at = "submitted", caseworker.id, utcnow()
    reintegration.save_plan(accepted, case, {
        "created_on": TODAY - timedelta(days=2), "support_types": ["Livelihood"], "objectives": "A small shop.",
        "responsible_organisation_id": mission_org.id,
    })
    visit = reintegration.record_visit(accepted, case, {"visited_on": TODAY - timedelta(days=1), "economic_score": 2,
                                                        "social_score": 3, "psychosocial_score": 2})
    service = reintegration.record_service(accepted, case, {
        "service_type": "Livelihood", "provider": "Coopérative du Nord", "amount": "120", "currency": "HTG",
        "delivered_on": TODAY - timedelta(days=1), "implemented": True})
    task = tasks.create_task(caseworker, case, {"title": "Call the family", "due_on": TODAY + timedelta(days=3)})
    # The receiving organisation keeps its own tasks on the shared case.
    receiving_task = tasks.create_task(accepted, case, {"title": "Meet her at the airport",
                                                        "due_on": TODAY + timedelta(days=5)})
    document = documents.upload_document(caseworker, case, "identity_document", "passport.png", PNG)
    db.session.commit()
    world.values.update(reference=case.reference, screening_consent=screening_consent.id, facility=facility.id,
                        other_organisation=other.id, mission_organisation=mission_org.id)
    objects.update({
        "consent": {"case_id": case.id, "record_id": withdrawable.id},
        "contact": {"contact_id": call.id},
        "waiting_contact": {"contact_id": waiting.id},
        "facility": {"facility_id": facility.id},
        "placement": {"case_id": case.id, "placement_id": placement.id},
        "counseling_session": {"case_id": case.id, "session_id": session.id},
        # Recorded by the mission's caseworker who accepted the referral (corrections: issue 12, item 6).
        "service": {"case_id": case.id, "record_id": service.id},
        "visit": {"case_id": case.id, "record_id": visit.id},
        "return_plan": {"case_id": case.id, "plan_id": plan.id},
        "task": {"task_id": task.id},
        "receiving_task": {"task_id": receiving_task.id},
        "referral": {"referral_id": referral.id},
        "document": {"case_id": case.id, "document_id": document.id},
        "user": {"user_id": people["own_target"].id},
        "administrator": {"user_id": people["own_admin_colleague"].id},
    })
    # A notice is its reader's alone: the caseworker who sent the main case's referral is told the mission accepted it.
    notice = db.session.scalar(select(Notification).where(
        Notification.user_id == caseworker.id, Notification.kind == "referral_accepted",
        Notification.object_type == "referral", Notification.object_id == str(referral.id)))
    assert notice is not None, "accepting the referral made no notice for the caseworker who sent it"
    objects["notification"] = {"notification_id": notice.id}
    promotion = accounts.request_role_change(people["own_admin"], people["own_promoted"], "supervisor")
    db.session.commit()
    objects["account_request"] = {"request_id": promotion.request.id}

    # Objects whose permitted POST would change who reaches what get a case of their own.
    revocable_case = new_case(given_name="Rosa", document_number="PE-555", phone=None)
    objects["revocable_referral"] = {"case_id": revocable_case.id, "referral_id": refer(revocable_case).id}
    pending_case = new_case(given_name="Luz", document_number="PE-556", phone=None)
    objects["pending_referral"] = {"referral_id": refer(pending_case, accept=False).id}
    cancellable_case = new_case(given_name="Ana", document_number="PE-557", phone=None)
    refer(cancellable_case)
    cancellable = returns.create_plan(caseworker, cancellable_case, {
        "receiving_organisation_id": mission_org.id, "destination_country": "HT", "destination_locality": "Jacmel"})
    objects["cancellable_plan"] = {"case_id": cancellable_case.id, "plan_id": cancellable.id}
    # The supervisor's own requests: nobody approves what they requested (four eyes), so nobody here may approve
    # them; the caseworker's requests show that the supervisor may decide the others.
    for name, requester in (("own_transfer", supervisor), ("rejectable_transfer", caseworker),
                            ("cancellable_transfer", caseworker)):
        moving = new_case(given_name=name.title(), document_number=f"PE-{len(objects)}", phone=None)
        refer(moving)
        transfer = referrals.request_transfer(requester, moving, mission_org.id, "She moves home.")
        db.session.commit()
        objects[name] = {"case_id": moving.id, "transfer_id": transfer.id}
    # Transfers the owning organisation has approved, waiting for the mission's answer (its supervisors may read the
    # case meanwhile); the mission has no referral of these cases.
    for name in ("acceptable_transfer", "declinable_transfer"):
        moving = new_case(given_name=name.title(), document_number=f"PE-{len(objects)}", phone=None)
        transfer = referrals.request_transfer(caseworker, moving, mission_org.id, "She moves home.")
        referrals.approve_transfer(supervisor, transfer)
        db.session.commit()
        objects[name] = {"case_id": moving.id, "transfer_id": transfer.id}
    closing = new_case(given_name="Eva", document_number="PE-600", phone=None)
    refer(closing)
    objects["own_closure"] = {"request_id": journey.request_closure(supervisor, closing, "completed", "Done.").id}
    _foreign(world, other, people)
    rejecting = new_case(given_name="Iris", document_number="PE-601", phone=None)
    refer(rejecting)
    objects["rejectable_closure"] = {
        "request_id": journey.request_closure(caseworker, rejecting, "completed", "Done.").id}
    db.session.commit()
    _programmes(world, people, case, session)
    _children(world, people)
    world.values["children_rows"] = children_rows()
    return world


def project_values(code: str, lead_org_ids: list[int], lines: list[dict], **overrides) -> dict:
    """What the project form saves: a project in US dollars running from two months ago for a year."""
    return {"donor_id": None, "donor_name": f"Donor of {code}", "donor_kind": "government", "donor_country": "US",
            "code": code, "title": f"Project {code}", "starts_on": TODAY - timedelta(days=60),
            "ends_on": TODAY + timedelta(days=300), "currency": "USD", "single_approval_limit": "500",
            "eligibility": None, "countries": ["PE"], "organisation_ids": lead_org_ids, "lines": lines, **overrides}


def ask_fund(caseworker: User, case: Case, project: Project, amount: str, currency: str = "USD") -> FundRequest:
    made = fund.request_assistance(caseworker, case, {
        "project_id": project.id, "category": "medical", "amount": amount, "currency": currency,
        "payee_kind": "clinic", "payee_name": "Clínica San Juan", "justification": "Antibiotics.", "needed_by": None})
    assert made.status == "requested", made.status
    return made


def _programmes(world: World, people: dict[str, User], case: Case, session: CounselingSession) -> None:
    """Issue 14: a project the owning NGO leads and implements with the mission the case is referred to, with a
    medical line; the case enrolled in it; a month's exchange rate; fund requests on the case made by its caseworker,
    one waiting, one approved and one paid (without its receipt yet). A second project of the NGO the case is not
    enrolled in is what a refused viewer's enrolment form names."""
    caseworker, supervisor, finance = people["own_caseworker"], people["own_supervisor"], people["own_finance"]
    mission_org_id = people["referral_mission"].organisation_id
    lines = [{"name": "Medical care", "category": "medical", "amount": "5000"},
             {"name": "Emergency shelter", "category": "emergency_shelter", "amount": "2000"},
             {"name": "Staff", "category": None, "amount": "10000"}]
    project = programmes.save_project(supervisor, None, project_values("PE-MX-01", [mission_org_id], lines))
    spare = programmes.save_project(supervisor, None, project_values("PE-MX-02", [], lines[:1]))
    programmes.record_rate(finance, {"month": TODAY, "currency": "PEN", "quote_currency": "USD", "rate": "0.27",
                                     "source": "Central bank"})
    enrolment = programmes.enrol(caseworker, case, project.id, TODAY - timedelta(days=30))
    db.session.commit()
    waiting = ask_fund(caseworker, case, project, "100")
    approved = ask_fund(caseworker, case, project, "80")
    paid = ask_fund(caseworker, case, project, "50", "PEN")
    db.session.commit()
    for request in (approved, paid):
        assert fund.approve(supervisor, request)
    db.session.commit()
    fund.disburse(finance, paid, {"method": "cash", "paid_on": TODAY, "reference": "V-1"})
    db.session.commit()
    db.session.refresh(project)
    world.values.update(project=project.id, spare_project=spare.id, session=session.id, requests={
        waiting.id: ("requested", 0), approved.id: ("approved", 1), paid.id: ("disbursed", 1)},
        project_lines=[{"id": line.id, "name": line.name, "category": line.category or "",
                        "amount": str(line.amount)} for line in project.lines])
    world.objects.update({
        "project": {"project_id": project.id},
        "enrolment": {"case_id": case.id, "enrolment_id": enrolment.id},
        "waiting_request": {"request_id": waiting.id},
        "waiting_request_history": {"request_id": waiting.id, "what": "request"},
        "approved_request": {"request_id": approved.id},
        "paid_request": {"request_id": paid.id},
    })


# Issue 15. A child's consent: her assent and a parent's consent (consent/operations.py).
CHILD_CONSENT = {**FULL_CONSENT, "is_child_assent": True, "guardian_name": "Marie Joseph",
                 "guardian_relationship": "parent"}
FOURTEEN = date(TODAY.year - 14, 1, 1)  # 14 on every day of this year, and a child on the consent's day too
# The tables of the children and families features: what a refused request would have changed there (their texts
# are encrypted, so planted() cannot find them by a word).
CHILDREN_MODELS = (FamilyMember, TracingRequest, TracingAction, FamilyAssessmentVisit, BestInterestsAssessment,
                   BestInterestsDetermination, PanelMember, Guardian, CareArrangement, ProtectionStatus,
                   Reunification, ReunificationMember, ReunificationService)


def _child(caseworker: User, given_name: str, document_number: str) -> Case:
    case = factories.case(caseworker, assigned_to_id=caseworker.id, given_name=given_name,
                          document_number=document_number, phone=None, date_of_birth=FOURTEEN,
                          unaccompanied_or_separated=True, citizenship="HT")
    consent.record_consent(caseworker, case, CHILD_CONSENT)
    return case


def _refer_accepted(caseworker: User, case: Case, accepted: User) -> None:
    referral = referrals.create_referral(caseworker, case, accepted.organisation_id, "MigrationOrChangeOfLocation",
                                         "Tracing and return.")
    referrals.accept_referral(accepted, referral)
    db.session.commit()


def _children(world: World, people: dict[str, User]) -> None:
    """Issue 15: an unaccompanied 14-year-old referred to the mission (accepted), with her mother (whereabouts unknown,
    a tracing request open, the mission's tracing action and family assessment visit on it), her father (possibly
    involved) and an aunt (a safe contact); an assessment, a determination whose panel (her caseworker and the
    supervisor) has not signed yet, a guardian and a care arrangement. An adult who stays, referred too, with a T visa
    application and a family reunification her daughter joins. The other organisation has the same kinds of records
    on cases of its own, for the cross-wired requests."""
    caseworker, supervisor = people["own_caseworker"], people["own_supervisor"]
    accepted = people["referral_accepted"]
    ago = {n: TODAY - timedelta(days=n) for n in (1, 2, 3, 5, 20)}
    child = _child(caseworker, "Nadège", "HT-700")
    _refer_accepted(caseworker, child, accepted)
    mother = families.add_member(caseworker, child, {
        "relationship_code": "mother", "given_name": "Mirlande", "family_name": "Jean", "country": "HT",
        "whereabouts": "unknown"})
    families.add_member(caseworker, child, {"relationship_code": "father", "given_name": "Wilfrid",
                                            "country": "HT", "possibly_involved": True})
    aunt = families.add_member(caseworker, child, {
        "relationship_code": "aunt_uncle", "given_name": "Mireille", "country": "HT", "safe_contact": True,
        "may_be_told_location": True})
    tracing = families.open_request(caseworker, mother, {"reason": "unaccompanied", "description": "Jacmel."})
    db.session.commit()
    families.record_action(accepted, tracing, {"kind": "home_visit", "done_on": ago[3], "outcome": "located",
                                               "family_member_id": mother.id, "place": "Jacmel"})
    families.record_visit(accepted, child, tracing, {
        "visited_on": ago[2], "findings": "The mother is willing and able.", "family_willing": "yes",
        "safety": "safe", "recommendation": "reunify"})
    assessment = bestinterests.record_assessment(caseworker, child, {
        "assessed_on": ago[2], "child_views": "She wants to go home to her mother."})
    determination = bestinterests.convene(caseworker, child, {
        "assessment_id": assessment.id, "decision": "return", "recommendation": "return_to_family",
        "reasons": "The mother is safe and willing.", "panel": [caseworker.id, supervisor.id]})
    guardian = bestinterests.add_guardian(caseworker, child, {
        "kind": "legal_representative", "name": "Dra. Ortiz", "started_on": ago[20]})
    care = bestinterests.add_care(caseworker, child, {"kind": "residential", "carer": "Hogar Santa Inés",
                                                      "started_on": ago[20]})
    db.session.commit()

    stays = factories.case(caseworker, assigned_to_id=caseworker.id, given_name="Rosa María",
                           document_number="PE-701", phone=None)
    consent.record_consent(caseworker, stays, FULL_CONSENT)
    _refer_accepted(caseworker, stays, accepted)
    status = residence.record_status(caseworker, stays, {"country": "US", "kind": "t_visa", "state": "applied",
                                                         "applied_on": ago[20]})
    daughter = families.add_member(caseworker, stays, {
        "relationship_code": "child", "given_name": "Luz", "country": "PE", "may_be_told_location": True})
    son = families.add_member(caseworker, stays, {
        "relationship_code": "child", "given_name": "Ángel", "country": "PE", "may_be_told_location": True})
    reunification = residence.open_reunification(caseworker, stays, "Her two children.")
    joined = residence.add_member(caseworker, reunification, {"family_member_id": daughter.id,
                                                              "derivative_kind": "t3"})
    db.session.commit()
    world.values.update(child_assessment=assessment.id, panel=[caseworker.id, supervisor.id],
                        joining_member=son.id, joined_prefix=f"m{joined.id[:8]}")
    world.objects.update({
        "child": {"case_id": child.id},
        "family_member": {"case_id": child.id, "member_id": aunt.id},
        "tracing_request": {"request_id": tracing.id},
        "assessment": {"case_id": child.id, "assessment_id": assessment.id},
        "determination": {"determination_id": determination.id},
        "guardian": {"case_id": child.id, "guardian_id": guardian.id},
        "care": {"case_id": child.id, "care_id": care.id},
        "stays": {"case_id": stays.id},
        "protection_status": {"case_id": stays.id, "status_id": status.id},
        "reunification": {"reunification_id": reunification.id},
        "reunification_member": {"reunification_id": reunification.id, "member_id": joined.id},
    })

    # The other organisation's records of the same kinds, for the cross-wired requests.
    other = people["other_caseworker"]
    theirs = _child(other, "Otra niña", "CO-700")
    member = families.add_member(other, theirs, {"relationship_code": "mother", "given_name": "Otra"})
    their_assessment = bestinterests.record_assessment(other, theirs, {"assessed_on": ago[5],
                                                                       "child_views": "Other organisation's."})
    their_guardian = bestinterests.add_guardian(other, theirs, {"kind": "legal_guardian", "name": "Otro",
                                                                "started_on": ago[5]})
    their_care = bestinterests.add_care(other, theirs, {"kind": "foster", "carer": "Otra familia",
                                                        "started_on": ago[5]})
    their_status = residence.record_status(other, theirs, {"country": "CO", "kind": "residence_permit",
                                                           "state": "applied", "applied_on": ago[5]})
    db.session.commit()
    world.foreign.update(member_id=member.id, assessment_id=their_assessment.id, guardian_id=their_guardian.id,
                         care_id=their_care.id, status_id=their_status.id)


def children_rows() -> dict[str, list[tuple]]:
    """Every row of the children and families tables, as stored (encrypted texts included)."""
    return {model.__tablename__: sorted(tuple(row) for row in db.session.execute(select(model.__table__)))
            for model in CHILDREN_MODELS}


def _foreign(world: World, other, people: dict[str, User]) -> None:
    """The other organisation's own case and its objects, for the cross-wired requests: a case the viewer may open in
    the URL, and in the same URL the id of another organisation's object of the same kind."""

    caseworker, supervisor = people["other_caseworker"], people["other_supervisor"]
    mission_org_id = people["referral_mission"].organisation_id
    case = factories.case(caseworker, assigned_to_id=caseworker.id, given_name="Otra", document_number="CO-1")
    record = consent.record_consent(caseworker, case, FULL_CONSENT)
    facility = shelter.create_facility(supervisor, {"name": "Casa Otra", "facility_type": "shelter",
                                                    "bed_capacity": 4})
    db.session.flush()
    placement = shelter.admit(caseworker, case, facility.id, TODAY - timedelta(days=3))
    session = counseling.record_session(caseworker, case, {
        "session_type": "legal", "provider": "Dra. Ortiz", "held_on": TODAY - timedelta(days=2),
        "duration_minutes": 40, "follow_up_on": None, "notes": "Other organisation's notes.",
    })
    # Referred before the return plan names the mission, so the plan sends it no hand-off of its own.
    referral = referrals.create_referral(caseworker, case, mission_org_id, "MigrationOrChangeOfLocation", "Return.")
    plan = returns.create_plan(caseworker, case, {"receiving_organisation_id": mission_org_id,
                                                  "destination_country": "HT", "destination_locality": "Jacmel"})
    document = documents.upload_document(caseworker, case, "identity_document", "cedula.png", PNG)
    transfer = referrals.request_transfer(caseworker, case, mission_org_id, "She moves home.")
    db.session.commit()
    # Its own project, the case enrolled in it and a request on it (issue 14).
    project = programmes.save_project(supervisor, None, project_values(
        "CO-MX-01", [], [{"name": "Medical care", "category": "medical", "amount": "3000"}]))
    enrolment = programmes.enrol(caseworker, case, project.id, TODAY - timedelta(days=5))
    db.session.commit()
    request = ask_fund(caseworker, case, project, "40")
    db.session.commit()
    # The consent record's id stands in for the other organisation's reintegration records (the corrections' routes
    # take a `record_id` too): under the case in the URL it is no service and no visit of that case.
    world.foreign.update(record_id=record.id, placement_id=placement.id, session_id=session.id, plan_id=plan.id,
                         document_id=document.id, referral_id=referral.id, transfer_id=transfer.id,
                         enrolment_id=enrolment.id, request_id=request.id, project_id=project.id)


def crossed(arguments: dict[str, object], world: World) -> dict[str, object] | None:
    """The URL arguments with the case kept and the other id swapped for another organisation's object of the same
    kind, or None when the route takes no such pair."""
    if "case_id" not in arguments or len(arguments) < 2:
        return None
    swapped = {k: (v if k == "case_id" else world.foreign.get(k)) for k, v in arguments.items()}
    assert all(v is not None for v in swapped.values()), f"no foreign object for {sorted(arguments)}"
    return swapped


def missing(arguments: dict[str, object]) -> dict[str, object]:
    """The same URL arguments with every id replaced by one that does not exist."""
    return {k: (987654 if isinstance(v, int) else str(uuid.UUID(int=0xC0FFEE))) for k, v in arguments.items()}


def submission(endpoint: str, world: World, viewer: str) -> dict[str, object]:
    """A complete, valid form for a POST route: what a refused viewer sends, so that the refusal is shown to come
    from the access check and not from an incomplete form (a view that validated the form first would let an
    incomplete one bounce with a 422 or a redirect). Permitted viewers send only the CSRF token, so that what they
    reach is not changed for the viewers after them."""
    today, soon = TODAY.isoformat(), (TODAY + timedelta(days=10)).isoformat()
    v = world.values
    reauth = {"admin_password": factories.PASSWORD}
    member = {"relationship_code": "sibling", "given_name": "Mallory", "whereabouts": "known", "country": "HT"}
    visit = {"visited_on": today, "findings": "Planted.", "family_willing": "yes", "safety": "safe",
             "recommendation": "reunify"}
    status = {"country": "US", "kind": "continued_presence", "state": "applied", "applied_on": today,
              "certifying_agency": "Planted"}
    forms: dict[str, dict[str, object]] = {
        "admin.approve": reauth, "admin.refuse": reauth, "admin.disable": reauth, "admin.enable": reauth,
        "admin.reset": reauth,
        "admin.export_grant": {**reauth, "grant": "1"},
        # A role the viewer's form offers: the installation administrator's lists administrators, an organisation's
        # administrator's the case-reading roles.
        "admin.set_role": {**reauth, "role": "administrator" if viewer == "install_admin" else "mission_staff"},
        "cases.change_stage": {"to_stage": "shelter", "reason": "Placed in a shelter."},
        "cases.edit": {"given_name": "Mallory", "status": "Active"},
        "consent.record": {"obtained_on": today, "language": "es", "point_interview": "y"},
        "consent.withdraw": {"reason": "The person asked."},
        "counseling.create": {"session_type": "psychosocial", "provider": "Mallory", "held_on": today,
                              "duration_minutes": "30", "notes": "Planted."},
        "counseling.correct": {"session_type": "psychosocial", "provider": "Mallory", "held_on": today,
                               "duration_minutes": "30", "notes": "Planted.", "version": "1"},
        "counseling.delete": {"deletion_reason": "Planted.", "version": "1"},
        "intake.correct": {"channel": "phone", "call_type": "tip", "summary": "Planted.", "version": "3"},
        "intake.delete": {"deletion_reason": "Planted.", "version": "3"},
        "reintegration.correct_services": {"service_type": "Livelihood", "provider": "Mallory", "amount": "10",
                                           "currency": "USD", "delivered_on": today, "version": "1"},
        "reintegration.delete_services": {"deletion_reason": "Planted.", "version": "1"},
        "reintegration.correct_visits": {"visited_on": today, "economic_score": "2", "social_score": "2",
                                         "psychosocial_score": "2", "version": "1"},
        "reintegration.delete_visits": {"deletion_reason": "Planted.", "version": "1"},
        "shelter.correct": {"facility_id": str(v["facility"]), "admitted_on": today, "version": "1"},
        "shelter.delete": {"deletion_reason": "Planted.", "version": "1"},
        "documents.upload": {"kind": "identity_document"},  # the file is added per request (see Viewers.ask)
        "intake.attach": {"reference": v["reference"]},
        "intake.new_screening": {"screened_on": today, "consent": v["screening_consent"],
                                 "finding": "PossibleVictimOfTrafficking", "decided_by": "NGO"},
        "intake.open_case": {"given_name": "Mallory", "create_anyway": "yes"},
        "journey.approve": {"note": "Approved."}, "journey.reject": {"note": "Not yet."},
        "journey.closure": {"code": "completed", "reason": "Assistance completed."},
        "referrals.decline": {"decline_reason": "No capacity."},
        "referrals.create": {"to_organisation_id": str(v["other_organisation"]),
                             "reason": "AdditionalServicesRequired", "consent_basis": "consent", "note": "Please."},
        "referrals.request_transfer": {"transfer-to_organisation_id": str(v["other_organisation"]),
                                       "transfer-consent_basis": "consent", "transfer-transfer_reason": "She moves."},
        "reintegration.plan": {"created_on": today, "support_types": "Livelihood", "objectives": "Planted.",
                               "responsible_organisation_id": str(v["mission_organisation"])},
        "reintegration.service": {"service_type": "Livelihood", "provider": "Mallory", "amount": "10",
                                  "currency": "USD", "delivered_on": today, "implemented": "y"},
        "reintegration.visit": {"visited_on": today, "economic_score": "2", "social_score": "2",
                                "psychosocial_score": "2"},
        "returns.arrival": {"arrived_on": today}, "returns.departure": {"departed_on": today},
        "returns.cancel": {"cancellation_reason": "Planted."},
        "returns.consular": {"consular_contact_made": "y", "consular_contact_on": today, "consular_note": "x"},
        "returns.create": {"receiving_organisation_id": str(v["mission_organisation"]), "destination_country": "HT",
                           "destination_locality": "Jacmel"},
        "returns.destination": {"receiving_organisation_id": str(v["mission_organisation"]),
                                "destination_country": "HT", "destination_locality": "Jacmel"},
        "returns.family": {"family_outcome": "found_willing", "family_summary": "x", "family_assessed_on": today},
        "returns.itinerary": {"planned_departure_on": soon, "route_details": "Flight."},
        "returns.risk": {"risk_level": "low", "risk_summary": "x", "risk_assessed_on": today},
        "returns.travel_document": {"travel_document_status": "requested", "travel_document_requested_on": today},
        "shelter.admit": {"facility_id": str(v["facility"]), "admitted_on": today},
        "shelter.discharge": {"discharged_on": today, "discharge_reason": "returned_home"},
        "shelter.edit_facility": {"name": "Planted", "facility_type": "shelter", "bed_capacity": "5", "active": "y"},
        "tasks.case_index": {"title": "Planted", "due_on": soon, "priority": "normal"},
        "tasks.edit": {"title": "Planted", "due_on": soon, "priority": "normal"},
        # Issue 14. Amounts of 777.77 and the word "Planted" are what planted() and untouched() look for.
        "programmes.edit_project": {
            "donor_id": "", "donor_name": "Planted", "donor_kind": "government", "code": "PLANTED",
            "title": "Planted", "starts_on": (TODAY - timedelta(days=60)).isoformat(), "ends_on": soon,
            "currency": "USD", "single_approval_limit": "500", "version": "1",
            "organisation_ids": str(v["mission_organisation"]),
            **{f"lines-{i}-{k}": value for i, line in enumerate(v.get("project_lines", ()))
               for k, value in line.items()}},
        "programmes.enrol": {"project_id": str(v.get("spare_project")), "enrolled_on": today},
        "programmes.end_enrolment": {"ended_on": today},
        "programmes.attribute": {"kind": "counseling", "record_id": str(v.get("session")),
                                 "project_id": str(v.get("project"))},
        "fund.case_index": {"project_id": str(v.get("project")), "category": "medical", "amount": "777.77",
                            "currency": "USD", "payee_kind": "clinic", "payee_name": "Planted",
                            "justification": "Planted."},
        "fund.decline": {"decline_reason": "Planted."},
        "fund.cancel": {"cancel_reason": "Planted."},
        "fund.disburse": {"method": "cash", "paid_on": today, "reference": "Planted"},
        "fund.receipt": {"receipt": PNG},  # the file is made per request (see Viewers.ask)
        "fund.refund": {"amount": "1", "refunded_on": today, "reason": "Planted."},
        "fund.correct_request": {"amount": "777.77", "currency": "USD", "payee_kind": "clinic",
                                 "payee_name": "Planted", "justification": "Planted.",
                                 "correction_reason": "Planted.", "version": "1"},
        "fund.correct_payment": {"method": "voucher", "paid_on": today, "reference": "Planted",
                                 "correction_reason": "Planted.", "version": "1"},
        # Issue 15: what untouched() compares is every row of these features' tables.
        "families.new_member": member, "families.edit_member": {**member, "version": "1"},
        "families.remove_member": {"removal_reason": "Planted.", "version": "1"},
        "families.open_request": {"reason": "person_asks", "description": "Planted."},
        "families.new_action": {"kind": "phone_call", "done_on": today, "outcome": "lead", "contacted": "Mallory"},
        "families.close": {"status": "not_found", "outcome_note": "Planted."},
        "families.new_visit": visit, "families.new_request_visit": visit,
        "bestinterests.new_assessment": {"assessed_on": today, "child_views": "Planted."},
        "bestinterests.edit_assessment": {"assessed_on": today, "child_views": "Planted.", "version": "1"},
        "bestinterests.new_determination": {
            "assessment_id": v.get("child_assessment"), "decision": "placement", "recommendation": "alternative_care",
            "reasons": "Planted.", "panel": [str(i) for i in v.get("panel", ())]},
        "bestinterests.sign": {"vote": "concur"},
        "bestinterests.withdraw": {"withdrawal_reason": "Planted."},
        "bestinterests.new_guardian": {"kind": "legal_guardian", "name": "Mallory", "started_on": today},
        "bestinterests.new_care": {"kind": "foster", "carer": "Mallory", "started_on": today},
        "bestinterests.end_guardian": {"ended_on": today}, "bestinterests.end_care": {"ended_on": today},
        "residence.status_new": status, "residence.status_edit": {**status, "version": "1"},
        "residence.reunification_new": {"notes": "Planted."},
        "residence.member_add": {"family_member_id": v.get("joining_member"), "derivative_kind": "t3"},
        "residence.member_update": {f"{v.get('joined_prefix')}-{k}": value for k, value in (
            ("document_status", "applied"), ("document_applied_on", today), ("version", "1"))},
        "residence.cancel": {"cancellation_reason": "Planted."},
        "residence.service_new": {"kind": "reception", "provided_on": today, "notes": "Planted."},
    }
    return dict(forms.get(endpoint, {}))


CSRF_REFUSED = "This form has expired"  # errors/csrf.html: the token was refused, nothing was checked


def letter(response) -> str:
    status = response.status_code
    if status == 302:
        return "x" if "/login" in response.headers.get("Location", "") else "o"
    if status == 400 and CSRF_REFUSED in response.get_data(as_text=True):
        return "x"
    return {200: "o", 400: "o", 409: "o", 422: "o", 403: "f", 404: "n"}.get(status, "x")


class Viewers:
    """One logged-in browser per viewer, reused for every request."""

    def __init__(self, app: Flask, world: World):
        self.webs: dict[str, Web] = {}
        self.tokens: dict[str, str] = {}
        for viewer in VIEWERS:
            web = Web(new_client(app))
            response = web.login(world.usernames[viewer])
            assert response.status_code == 302 and "/login" not in response.headers["Location"], viewer
            self.tokens[viewer] = web.token("/account")
            self.webs[viewer] = web

    def ask(self, viewer: str, method: str, url: str, form: dict | None = None) -> str:
        web = self.webs[viewer]
        if method == "GET":
            return letter(web.client.get(url))
        data = {**(form or {}), "csrf_token": self.tokens[viewer]}
        if "kind" in data and url.endswith("/documents"):
            data["file"] = (io.BytesIO(PNG), "planted.png")
        if data.get("receipt") == PNG:
            data["receipt"] = (io.BytesIO(PNG), "planted.png")
        return letter(web.client.post(url, data=data))


def object_routes(app: Flask) -> dict[tuple[str, str], object]:
    """(endpoint, method) -> rule, for every route that takes an id (static files aside)."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint in ("static", "bootstrap.static"):
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            found[(rule.endpoint, method)] = rule
    return found



def planted() -> list[str]:
    """Plaintext traces of the complete forms refused viewers sent ("Planted", "Mallory"), wherever they would land."""
    found = []
    for column in (Facility.name, Task.title, CounselingSession.provider, Project.title, Project.code, Donor.name,
                   BudgetLine.name):
        found += [f"{column}: {value}" for value in db.session.scalars(
            select(column).where(column.in_(["Planted", "Mallory", "PLANTED"])))]
    # The fund's texts are encrypted: a planted request or correction shows by its amount.
    found += [f"fund request {r}" for r in db.session.scalars(
        select(FundRequest.id).where(FundRequest.amount == Decimal("777.77")))]
    return found


def untouched(world: World) -> list[str]:
    """What the fund's and programmes' refused forms would have changed: the requests' statuses and approvals,
    refunds, a receipt, the enrolment and a spare project's, the charge of the session to the project; and any row of
    the children and families tables (issue 15)."""
    changed = []
    for request_id, (status, approvals) in world.values["requests"].items():
        request = db.session.get(FundRequest, request_id)
        given = db.session.scalar(select(func.count()).select_from(FundApproval)
                                  .where(FundApproval.request_id == request_id))
        if (request.status, given) != (status, approvals):
            changed.append(f"request {request_id}: {request.status} with {given} approvals, "
                           f"expected {status} with {approvals}")
    if db.session.scalar(select(func.count()).select_from(Refund)):
        changed.append("a refund was recorded")
    if db.session.scalar(select(func.count()).select_from(Disbursement)
                         .where(Disbursement.receipt_document_id.is_not(None))):
        changed.append("a receipt was added")
    enrolment = db.session.get(Enrolment, world.objects["enrolment"]["enrolment_id"])
    if enrolment.ended_on is not None:
        changed.append("the enrolment was ended")
    if db.session.scalar(select(func.count()).select_from(Enrolment)
                         .where(Enrolment.project_id == world.values["spare_project"])):
        changed.append("the case was enrolled in the spare project")
    if db.session.scalar(select(func.count()).select_from(ProjectAttribution)):
        changed.append("a record was charged to a project")
    # Issue 15: no family, tracing, best-interests or residence record was added, changed, signed or ended.
    now, then = children_rows(), world.values["children_rows"]
    changed += [f"{table}: {len(then[table])} rows before, {len(now[table])} after, or a row changed"
                for table in then if now[table] != then[table]]
    return changed
