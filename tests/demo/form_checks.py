"""Put every stored record back through the form a user would save it with, and collect what the form refuses.

Issue 11, finding 9: demo phones such as "670.887.8531x62448" failed the case form's phone check, so those cases
could not be saved until the phone was retyped. Generated data must obey the rules typed data obeys.

For a record with an edit page (cases, tasks, facilities, reintegration plans, the steps of a return plan) the form
is filled exactly as the page fills it (the same snapshot and choices, decrypted as the view decrypts), rendered to
the strings a browser would post back, and validated: the user pressing Save without changing anything. A record
that is only ever created (contacts, consent, screenings, stays, sessions, services, visits, referrals, transfers,
closure requests; issue 15's tracing requests and actions, family visits, determinations, guardians, care
arrangements, reunifications and their services) goes through its creating form with its stored values the same
way. The check runs in a request
of a user of the record's organisation, with CSRF off; a submission-token field, if the forms have one, is ignored
because this checks the data, not the token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import g
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, FileField, SelectFieldBase, SelectMultipleField

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import Organisation, User
from casemgmt.bestinterests import forms as bi_forms
from casemgmt.bestinterests import queries as bi_queries
from casemgmt.bestinterests.models import BestInterestsAssessment, BestInterestsDetermination, CareArrangement, Guardian
from casemgmt.cases import operations as cases
from casemgmt.cases.forms import CaseForm
from casemgmt.cases.models import Case
from casemgmt.cases.views import _assignees
from casemgmt.consent.forms import ConsentForm
from casemgmt.consent.models import ConsentRecord
from casemgmt.counseling.forms import SessionForm
from casemgmt.counseling.models import CounselingSession
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.families import forms as family_forms
from casemgmt.families import operations as family_operations
from casemgmt.families import queries as family_queries
from casemgmt.families.models import FamilyAssessmentVisit, FamilyMember, TracingAction, TracingRequest
from casemgmt.intake.forms import ContactForm, ScreeningForm
from casemgmt.intake.models import Contact, Screening
from casemgmt.intake.sealing import unseal_contact
from casemgmt.journey.forms import ClosureRequestForm
from casemgmt.journey.models import ClosureRequest
from casemgmt.referrals import queries as referral_queries
from casemgmt.referrals.forms import ReferralForm, TransferForm
from casemgmt.referrals.models import Referral, Transfer
from casemgmt.reintegration import forms as reintegration_forms
from casemgmt.reintegration import queries as reintegration_queries
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ServiceDelivered
from casemgmt.residence import forms as residence_forms
from casemgmt.residence import operations as residence_operations
from casemgmt.residence import queries as residence_queries
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember, ReunificationService
from casemgmt.returns import queries as return_queries
from casemgmt.returns.models import ReturnPlan
from casemgmt.returns.views import STEP_FORMS, _plan_data
from casemgmt.shelter.forms import AdmitForm, DischargeForm, FacilityForm
from casemgmt.shelter.models import Facility, Placement
from casemgmt.tasks import operations as task_operations
from casemgmt.tasks import queries as task_queries
from casemgmt.tasks.forms import TaskForm
from casemgmt.tasks.models import Task

NO_CSRF = {"csrf": False}
IGNORED_ERRORS = ("csrf_token", "submission_token")
# Who the check acts as in each organisation: someone who may edit and assign its cases, like the page's user.
EDITOR_ROLES = ("supervisor", "caseworker", "mission_staff")


@dataclass
class Refusal:
    record: str
    field: str
    value: object
    errors: list

    def __str__(self) -> str:
        return f"{self.record}: {self.field}={self.value!r} -> {'; '.join(map(str, self.errors))}"


def posted(form) -> MultiDict:
    """What a browser sends back for a form shown with these values and submitted unchanged."""
    out = MultiDict()
    for field in form:
        if isinstance(field, FileField):
            continue
        if isinstance(field, BooleanField):
            if field.data:
                out.add(field.name, "y")
        elif isinstance(field, SelectMultipleField):
            for value in field.data or []:
                out.add(field.name, str(value))
        elif isinstance(field, SelectFieldBase):
            out.add(field.name, "" if field.data is None else str(field.data))
        else:
            out.add(field.name, field._value())
    return out


def _errors(record: str, make: Callable, source: dict) -> list[Refusal]:
    shown = make(formdata=None, meta=NO_CSRF, **source)
    form = make(formdata=posted(shown), meta=NO_CSRF)
    if form.validate():
        return []
    sent = posted(shown)
    return [Refusal(record, name, sent.getlist(name) if len(sent.getlist(name)) > 1 else sent.get(name), errors)
            for name, errors in form.errors.items() if name not in IGNORED_ERRORS]


def _split(codes: str | None) -> list[str]:
    return [c for c in (codes or "").split(",") if c]


# Records with an edit page ------------------------------------------------------------------------------------------

def _case(case: Case, user: User) -> list[Refusal]:
    def make(**kwargs):
        form = CaseForm(assignees=_assignees(), **kwargs)
        if not allowed(user, Action.CASE_ASSIGN, case):
            del form.assigned_to_id
        return form

    return _errors(f"case {case.reference}", make, {"data": {**cases.snapshot(case), "version": case.version}})


def _task(task: Task, user: User) -> list[Refusal]:
    def make(**kwargs):
        return TaskForm(assignees=task_queries.assignees(user), with_description=task.case_id is not None, **kwargs)

    found = _errors(f"task {task.id} ({task.title})", make, {"data": task_operations.snapshot(task)})
    return [r for r in found if not (r.field == "due_on" and _aged(task))]


def _aged(task: Task) -> bool:
    """The one rule that moves with the calendar: a due date more than a year back is refused as a likely typing
    mistake, so every task the form accepted is refused a year after it fell due (synth spreads tasks over three
    years). Such a task is judged on the day it was last saved, when the form saw it."""
    written_on = task.updated_at.date()
    return (task_operations.due_date_problem(task.due_on) is not None
            and task_operations.due_date_problem(task.due_on, today=written_on) is None)


def _facility(facility: Facility, user: User) -> list[Refusal]:
    return _errors(f"facility {facility.name}", FacilityForm, {"obj": facility})


def _reintegration_plan(plan: ReintegrationPlan, user: User) -> list[Refusal]:
    data = {
        "created_on": plan.created_on, "support_types": plan.support_types,
        "objectives": reintegration_queries.revealed_objectives(plan), "planned_end_on": plan.planned_end_on,
        "actual_end_on": plan.actual_end_on, "responsible_organisation_id": plan.responsible_organisation_id,
    }

    def make(**kwargs):
        return reintegration_forms.PlanForm(organisations=reintegration_queries.organisation_choices(), **kwargs)

    return _errors(f"reintegration plan {plan.id}", make, {"data": data})


# The steps of a return plan that have been recorded, by the field that says so.
RETURN_STEPS = {
    "destination": "receiving_organisation_id", "risk": "risk_level", "family": "family_outcome",
    "travel_document": "travel_document_status", "consular": None, "itinerary": None, "departure": "departed_on",
    "arrival": "arrived_on", "cancel": "cancellation_reason",
}


def _return_plan(plan: ReturnPlan, user: User) -> list[Refusal]:
    data = _plan_data(plan, return_queries.reveal(plan))
    out = []
    for step, marker in RETURN_STEPS.items():
        if marker is not None and data.get(marker) is None:
            continue  # a step not taken yet: its empty form is not a refusal of the data

        def make(step=step, **kwargs):
            if step == "destination":  # as returns.views._make()
                return STEP_FORMS[step](organisations=return_queries.organisation_choices(), **kwargs)
            return STEP_FORMS[step](**kwargs)

        out += _errors(f"return plan {plan.id} ({step})", make, {"data": data})
    return out


# Records that are only created --------------------------------------------------------------------------------------

def _contact(contact: Contact, user: User) -> list[Refusal]:
    data = {c.key: getattr(contact, c.key) for c in Contact.__table__.columns}
    data.update({column: unseal_contact(contact, column) for column in ("summary", "caller_name", "caller_phone")})
    data.update(occurred_on=contact.occurred_at.date(), occurred_time=contact.occurred_at.time(),
                indicators=_split(contact.indicators), actions=_split(contact.actions))
    return _errors(f"contact {contact.id}", ContactForm, {"data": data})


def _consent(record: ConsentRecord, user: User) -> list[Refusal]:
    data = {c.key: getattr(record, c.key) for c in ConsentRecord.__table__.columns}
    data.update({column: unseal(record, column) for column in (
        "interpreter_name", "notes", "guardian_name", "guardian_relationship")})
    return _errors(f"consent record {record.id}", ConsentForm, {"data": data})


def _screening(screening: Screening, user: User) -> list[Refusal]:
    data = {c.key: getattr(screening, c.key) for c in Screening.__table__.columns}
    data.update(interpreter_name=unseal(screening, "interpreter_name"), notes=unseal(screening, "notes"),
                indicators=_split(screening.indicators),
                consent="declined" if screening.consent_declined else screening.consent_record_id)
    choices = [(screening.consent_record_id, "consent")] if screening.consent_record_id else []

    def make(**kwargs):
        return ScreeningForm(consent_choices=choices, **kwargs)

    return _errors(f"screening {screening.id}", make, {"data": data})


def _placement(placement: Placement, user: User) -> list[Refusal]:
    data = {c.key: getattr(placement, c.key) for c in Placement.__table__.columns}
    data["discharge_note"] = unseal(placement, "discharge_note")
    # The admission form offers the organisation's active facilities; a stay stays valid when its shelter closes.
    facilities = db.session.scalars(select(Facility).where(Facility.organisation_id == user.organisation_id)).all()

    def admit(**kwargs):
        form = AdmitForm(**kwargs)
        form.facility_id.choices = [(None, "-"), *((f.id, f.name) for f in facilities)]
        return form

    out = _errors(f"stay {placement.id} (admission)", admit, {"data": data})
    if placement.discharged_on is not None:
        out += _errors(f"stay {placement.id} (discharge)", DischargeForm, {"data": data})
    return out


def _session(session: CounselingSession, user: User) -> list[Refusal]:
    data = {c.key: getattr(session, c.key) for c in CounselingSession.__table__.columns}
    data["notes"] = unseal(session, "notes")
    return _errors(f"counselling session {session.id}", SessionForm, {"data": data})


def _service(service: ServiceDelivered, user: User) -> list[Refusal]:
    data = {c.key: getattr(service, c.key) for c in ServiceDelivered.__table__.columns}
    data["note"] = unseal(service, "note")
    return _errors(f"service {service.id}", reintegration_forms.ServiceForm, {"data": data})


def _visit(visit: MonitoringVisit, user: User) -> list[Refusal]:
    data = {c.key: getattr(visit, c.key) for c in MonitoringVisit.__table__.columns}
    data["observations"] = unseal(visit, "observations")

    def make(**kwargs):
        visitors = reintegration_queries.visitor_choices(user.organisation_id)
        # A visitor who has since left the organisation or been disabled is still a valid record.
        if visit.visited_by_id not in dict(visitors):
            visitors.append((visit.visited_by_id, "former colleague"))
        return reintegration_forms.VisitForm(visitors=visitors, **kwargs)

    return _errors(f"monitoring visit {visit.id}", make, {"data": data})


def _handover(record: str, row: Referral | Transfer, form_class: type, user: User, **sealed: str) -> list[Refusal]:
    """A referral or a transfer through its form, offered the organisations its user may choose; `sealed` maps a
    form field to the row's sealed column that fills it."""
    data = {c.key: getattr(row, c.key) for c in type(row).__table__.columns}
    data.update({field: unseal(row, column) for field, column in sealed.items()})

    def make(**kwargs):
        return form_class(organisations=referral_queries.organisation_choices(user), **kwargs)

    return _errors(f"{record} {row.id}", make, {"data": data})


def _referral(referral: Referral, user: User) -> list[Refusal]:
    return _handover("referral", referral, ReferralForm, user, note="note", override_reason="override_reason")


def _transfer(transfer: Transfer, user: User) -> list[Refusal]:
    return _handover("transfer", transfer, TransferForm, user, transfer_reason="reason",
                     override_reason="override_reason")


def _closure(request: ClosureRequest, user: User) -> list[Refusal]:
    data = {"code": request.code, "reason": unseal(request, "reason")}
    return _errors(f"closure request {request.id}", ClosureRequestForm, {"data": data})


# Children and families (issue 15) -----------------------------------------------------------------------------------

def _columns(record, sealed: tuple[str, ...] = ()) -> dict:
    data = {c.key: getattr(record, c.key) for c in type(record).__table__.columns if c.key not in sealed}
    data.update({name: unseal(record, name) for name in sealed})
    return data


def _member_names(case_id: str) -> list[tuple[str, str]]:
    return [(m.id, m.id) for m in family_queries.live_members(case_id)]


def _family_member(member: FamilyMember, user: User) -> list[Refusal]:
    if member.deleted_at is not None:  # removed: no page shows it any more
        return []
    data = {**family_operations.member_snapshot(member), "version": member.version}
    return _errors(f"family member {member.id}", family_forms.EditMemberForm, {"data": data})


def _tracing_request(found: TracingRequest, user: User) -> list[Refusal]:
    # The reasons the form offers follow the sought member's whereabouts, which a closed request's finding changed:
    # an open request is checked against today's choices, a closed one against the reason it was opened with.
    member = found.family_member
    codes = family_operations.reasons_for(found.case, member) if found.is_open and member else [found.reason]

    def make(**kwargs):
        return family_forms.TracingRequestForm(reasons=[(code, code) for code in codes], **kwargs)

    return _errors(f"tracing request {found.id}", make, {"data": _columns(found, ("description",))})


def _tracing_action(action: TracingAction, user: User) -> list[Refusal]:
    def make(**kwargs):
        return family_forms.TracingActionForm(members=_member_names(action.case_id), **kwargs)

    data = _columns(action, family_queries.ACTION_SEALED)
    data["family_member_id"] = data["family_member_id"] or ""
    return _errors(f"tracing action {action.id}", make, {"data": data})


def _family_visit(visit: FamilyAssessmentVisit, user: User) -> list[Refusal]:
    data = _columns(visit, family_queries.VISIT_SEALED)
    data["family_willing"] = "yes" if visit.family_willing else "no"
    return _errors(f"family assessment visit {visit.id}", family_forms.VisitForm, {"data": data})


def _assessment(assessment: BestInterestsAssessment, user: User) -> list[Refusal]:
    data = {"assessed_on": assessment.assessed_on, "version": assessment.version,
            **bi_queries.reveal_assessment(assessment)}
    return _errors(f"best-interests assessment {assessment.id}", bi_forms.AssessmentForm, {"data": data})


def _determination(determination: BestInterestsDetermination, user: User) -> list[Refusal]:
    case = determination.case

    def make(**kwargs):
        return bi_forms.DeterminationForm(
            assessments=[(a.id, a.id) for a in bi_queries.assessments_of(case.id)],
            candidates=[(u.id, u.display_name) for u in bi_queries.panel_candidates(case)], **kwargs)

    data = _columns(determination, ("reasons", "conditions"))
    data["panel"] = [m.user_id for m in determination.panel]
    return _errors(f"best-interests determination {determination.id}", make, {"data": data})


def _appointment(record: str, row, form_class: type, sealed: tuple[str, ...]) -> list[Refusal]:
    def make(**kwargs):
        return form_class(members=bi_queries.member_choices(row.case_id), **kwargs)

    data = _columns(row, sealed)
    data["family_member_id"] = data["family_member_id"] or ""
    return _errors(f"{record} {row.id}", make, {"data": data})


def _guardian(guardian: Guardian, user: User) -> list[Refusal]:
    return _appointment("guardian", guardian, bi_forms.GuardianForm, ("name", "contact", "appointed_by"))


def _care(care: CareArrangement, user: User) -> list[Refusal]:
    return _appointment("care arrangement", care, bi_forms.CareForm, ("carer", "notes"))


def _protection_status(status: ProtectionStatus, user: User) -> list[Refusal]:
    data = {**residence_operations.status_snapshot(status), "version": status.version}
    return _errors(f"protection status {status.id}", residence_forms.EditStatusForm, {"data": data})


def _reunification(reunification: Reunification, user: User) -> list[Refusal]:
    return _errors(f"reunification {reunification.id}", residence_forms.ReunificationForm,
                   {"data": {"notes": unseal(reunification, "notes")}})


def _reunification_member(member: ReunificationMember, user: User) -> list[Refusal]:
    def make(**kwargs):
        requests = [(r.id, r.id) for r in residence_queries.travel_requests(member.case_id)]
        return residence_forms.MemberForm(requests=requests, **kwargs)

    data = {**residence_operations.member_snapshot(member), "version": member.version}
    data["fund_request_id"] = data["fund_request_id"] or ""
    return _errors(f"reunification member {member.id}", make, {"data": data})


def _reunification_service(service: ReunificationService, user: User) -> list[Refusal]:
    def make(**kwargs):
        return residence_forms.ServiceForm(members=_member_names(service.case_id), **kwargs)

    data = _columns(service, ("notes",))
    data["family_member_id"] = data["family_member_id"] or ""
    return _errors(f"reunification service {service.id}", make, {"data": data})


# (model, check, the organisation whose user saves it)
CHECKS = (
    (Case, _case, lambda r: r.organisation_id),
    (Task, _task, lambda r: r.organisation_id),
    (Facility, _facility, lambda r: r.organisation_id),
    (ReintegrationPlan, _reintegration_plan, lambda r: r.case.organisation_id),
    (ReturnPlan, _return_plan, lambda r: r.case.organisation_id),
    (Contact, _contact, lambda r: r.organisation_id),
    (ConsentRecord, _consent, lambda r: r.case.organisation_id),
    (Screening, _screening, lambda r: r.case.organisation_id),
    (Placement, _placement, lambda r: r.case.organisation_id),
    (CounselingSession, _session, lambda r: r.case.organisation_id),
    (ServiceDelivered, _service, lambda r: r.case.organisation_id),
    (MonitoringVisit, _visit, lambda r: r.case.organisation_id),
    (Referral, _referral, lambda r: r.from_organisation_id),
    (Transfer, _transfer, lambda r: r.from_organisation_id),
    (ClosureRequest, _closure, lambda r: r.case.organisation_id),
    (FamilyMember, _family_member, lambda r: r.case.organisation_id),
    (TracingRequest, _tracing_request, lambda r: r.case.organisation_id),
    # Tracing actions and visits are recorded by whoever traced (often the receiving mission): its user's form.
    (TracingAction, _tracing_action, lambda r: r.organisation_id),
    (FamilyAssessmentVisit, _family_visit, lambda r: r.organisation_id),
    (BestInterestsAssessment, _assessment, lambda r: r.case.organisation_id),
    (BestInterestsDetermination, _determination, lambda r: r.case.organisation_id),
    (Guardian, _guardian, lambda r: r.case.organisation_id),
    (CareArrangement, _care, lambda r: r.case.organisation_id),
    (ProtectionStatus, _protection_status, lambda r: r.case.organisation_id),
    (Reunification, _reunification, lambda r: r.case.organisation_id),
    (ReunificationMember, _reunification_member, lambda r: r.reunification.organisation_id),
    (ReunificationService, _reunification_service,
     lambda r: db.session.get(Reunification, r.reunification_id).organisation_id),
)


def _editor(organisation_id: int) -> User:
    users = db.session.scalars(select(User).where(User.organisation_id == organisation_id, User.active.is_(True)))
    by_role = {u.role: u for u in users}
    return next(by_role[role] for role in EDITOR_ROLES if role in by_role)


def _erased(record) -> bool:
    case = record if isinstance(record, Case) else getattr(record, "case", None)
    return case is not None and case.erased_at is not None


def refusals(app) -> Iterator[tuple[str, int, list[Refusal]]]:
    """(table, records checked, refusals) per record type; each record in a request of its own."""
    with app.app_context():
        organisations = list(db.session.scalars(select(Organisation.id)))
    for model, check, owner in CHECKS:
        with app.test_request_context():
            editors = {org: _editor(org) for org in organisations}
            ids = list(db.session.scalars(select(model.id)))
        found, checked = [], 0
        for start in range(0, len(ids), 200):
            # A request per batch keeps the per-request key cache (and memory) small on a large synth run.
            with app.test_request_context():
                for row_id in ids[start:start + 200]:
                    record = db.session.get(model, row_id)
                    if _erased(record):
                        continue
                    user = db.session.get(User, editors[owner(record)].id)
                    # The page's current_user, without a session (which would write a session row per record).
                    g._login_user = user
                    found += check(record, user)
                    checked += 1
                db.session.rollback()
        yield model.__tablename__, checked, found
