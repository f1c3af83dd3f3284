"""Named verbs of the voluntary return. Each checks its policy, changes the plan, writes its audit event (field
names, never values) and leaves the commit to the caller.

The hand-off: naming the receiving organisation (on creating the plan, or changing it) sends that organisation a
return hand-off (referrals.operations.hand_off), which it finds on its home page and in its referrals inbox and
accepts or declines; accepted, it works on the return and the reintegration with referral access. The hand-off goes
under the consent to return the plan requires anyway. When that consent is not on record yet (or the one changing
the plan is not the owning organisation, which alone shares its case), the hand-off waits: every later step of the
plan sends it as soon as nothing stands in the way (at the latest on submission, which needs the consent), the
return page says why it waits, and offers to send it once it can go. A hand-off declined (or revoked from the
referrals page) is not sent again by the plan's steps: the page shows the answer, and the sending side names another
organisation, or sends it again on purpose. Naming another organisation (which only the owning organisation may
do), or cancelling the plan (only possible before departure), withdraws the hand-off and the access it gave; after
arrival the plan stays, and so does the receiving organisation's access for the reintegration.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, allowed, authorize
from casemgmt.accounts.models import Organisation
from casemgmt.audit import record_event
from casemgmt.cases.age import TRAVELLING_GUARDIANS
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core import versions
from casemgmt.core.invariants import insert_or_refuse, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, seal, unseal
from casemgmt.extensions import db
from casemgmt.htcds import country_codes
from casemgmt.journey.automatic import follow
from casemgmt.referrals import operations as referrals
from casemgmt.returns import guards, queries
from casemgmt.returns.models import (
    FAMILY_OUTCOMES,
    RETURN_STATUSES,
    RISK_LEVELS,
    TRAVEL_DOCUMENT_STATUSES,
    ReturnPlan,
)
from casemgmt.shelter import operations as shelter_operations


class ReturnError(ValueError):
    """A step of the return that cannot be taken; the message is shown to the user (already translated)."""


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _not_in_future(day: date | None, what: str) -> None:
    if day is not None and day > date.today():
        raise ReturnError(gettext("%(what)s cannot be in the future.", what=what))


def _event(action: str, actor, plan: ReturnPlan, **details) -> None:
    record_event(action, object_type="return_plan", object_id=plan.id, case_id=plan.case_id, actor=actor,
                 details=details or None)


def _check_case_open(case: Case) -> None:
    if case.stage == "closed":
        raise ReturnError(gettext("This case is closed: reopen it before changing its return."))


# Loading ---------------------------------------------------------------------------------------------------------

def open_return_page(actor, case_id: str) -> Case:
    """Load a case for its return page (another organisation's case answers 404) and audit the view."""
    case = queries.case_or_404(case_id)
    authorize(actor, Action.RETURN_VIEW, case)
    record_event("return.view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def load_case(actor, case_id: str, action: Action = Action.RETURN_MANAGE) -> Case:
    case = queries.case_or_404(case_id)
    authorize(actor, action, case)
    return case


def load_plan(actor, case_id: str, plan_id: str, action: Action = Action.RETURN_MANAGE) -> ReturnPlan:
    plan = db.session.get(ReturnPlan, plan_id) if plan_id and len(plan_id) <= 36 else None
    if plan is None or plan.case_id != case_id:
        raise NotFound()
    authorize(actor, action, plan)
    return plan


# Creating and editing the plan -------------------------------------------------------------------------------------

def _check_destination(values: dict) -> tuple[int, str]:
    org_id = values.get("receiving_organisation_id")
    if not isinstance(org_id, int) or db.session.get(Organisation, org_id) is None:
        raise ReturnError(gettext("Choose the receiving organisation in the country of origin."))
    country = values.get("destination_country")
    if country not in country_codes():
        raise ReturnError(gettext("Choose the destination country."))
    return org_id, country


def _already_planned() -> ReturnError:
    return ReturnError(gettext("This case already has a return plan; cancel it before starting another."))


def create_plan(actor, case: Case, values: dict) -> ReturnPlan:
    authorize(actor, Action.RETURN_MANAGE, case)
    _check_case_open(case)
    if queries.current_plan(case.id) is not None:
        raise _already_planned()
    org_id, country = _check_destination(values)
    plan = ReturnPlan(
        id=new_uuid(), case_id=case.id, status="draft", receiving_organisation_id=org_id,
        destination_country=country, created_by_id=actor.id, created_at=utcnow(), updated_at=utcnow(),
        travel_document_status="none",
    )
    plan.case = case
    seal(plan, "destination_locality", _clean(values.get("destination_locality")))
    # The check above reads, then this writes: two requests at the same instant both pass it, and the unique index
    # uq_return_plans_case_active turns the second one away with the same message.
    insert_or_refuse(plan, "uq_return_plans_case_active", _already_planned())
    _event("return.plan_create", actor, plan,
           fields=["receiving_organisation_id", "destination_country"]
           + (["destination_locality"] if plan.destination_locality is not None else []))
    _hand_off(actor, plan, named=True)
    return plan


# The hand-off to the receiving organisation ------------------------------------------------------------------------

def _hand_off(actor, plan: ReturnPlan, *, insist: bool = False, named: bool = False) -> None:
    """Send the receiving organisation its hand-off if it is due and can go (see the module's docstring). named: the
    organisation was just named (the plan made, or another organisation chosen), which sends it even if an earlier
    hand-off to it was declined or withdrawn; any other step of the plan leaves such an answer standing."""
    try:
        referrals.hand_off(actor, plan.case, plan.receiving_organisation_id, insist=insist,
                           unless_ended_since=None if named or insist else plan.created_at)
    except referrals.ReferralError as exc:
        raise ReturnError(str(exc)) from None


def send_handoff(actor, plan: ReturnPlan) -> None:
    """The return page's button: send the hand-off now (the consent recorded since), or again after a decline.
    Sending it shares the case, which only the owning organisation does (the right to refer it)."""
    authorize(actor, Action.RETURN_MANAGE, plan)
    authorize(actor, Action.REFERRAL_CREATE, plan.case)
    _check_case_open(plan.case)
    if not plan.editable:
        raise ReturnError(gettext("This return plan can no longer be changed (%(status)s).",
                                  status=RETURN_STATUSES.label(plan.status)))
    _hand_off(actor, plan, insist=True)


def _withdraw_handoff(actor, plan: ReturnPlan, organisation_id: int, why: str) -> None:
    referrals.withdraw_handoff(actor, plan.case, organisation_id, why)


def _saved(plan: ReturnPlan, fields) -> dict:
    """The plan's values of `fields` (its step form's names), the encrypted ones decrypted: what is saved now."""
    columns = ReturnPlan.__table__.columns
    return {f: unseal(plan, f) if isinstance(columns[f].type, EncryptedBytes) else getattr(plan, f)
            for f in fields if f in columns}


def _begin_edit(actor, plan: ReturnPlan, values: dict) -> None:
    """Before a step form changes the plan: who may, whether the plan may still change, and whether the form was
    filled from the version saved now (core/versions.py: a form without a version, or from an older one, is shown
    the conflict page instead of writing over a colleague's change). Callers that send no version at all (the demo,
    a command) have just read the plan themselves; the write is still conditional on that version."""
    authorize(actor, Action.RETURN_MANAGE, plan)
    _check_case_open(plan.case)
    if not plan.editable:
        raise ReturnError(gettext("This return plan can no longer be changed (%(status)s).",
                                  status=RETURN_STATUSES.label(plan.status)))
    if "version" in values:
        fields = [f for f in values if f != "version"]
        versions.check(plan, "return_plan", versions.base_of(values["version"]), lambda: _saved(plan, fields),
                       values, fields)


def _finish_edit(actor, plan: ReturnPlan, action: str, fields: list[str]) -> bool:
    """Touch the plan and audit the change. A change after approval withdraws the approval: the supervisor
    approved a plan that no longer exists. Returns True when that happened."""
    seen = plan.status
    withdrawn = seen == "approved"
    changes: dict = {"updated_at": utcnow()}
    if withdrawn:
        changes.update(status="submitted", approved_by_id=None, approved_at=None)
    # Written now, conditional on the version read: a colleague's save committed since this request read the plan
    # makes it match no row, and the editor gets the conflict page with both versions.
    versions.flush(plan, "return_plan", lambda fresh: _saved(fresh, fields), _saved(plan, fields), fields)
    _claim(plan, seen, **changes)
    details: dict = {"fields": fields}
    if withdrawn:
        details["approval_withdrawn"] = True
    _event(action, actor, plan, **details)
    _hand_off(actor, plan)  # a hand-off that waited (for the consent, for the owner) goes with the next change
    return withdrawn


def update_destination(actor, plan: ReturnPlan, values: dict) -> bool:
    _begin_edit(actor, plan, values)
    org_id, country = _check_destination(values)
    previous = plan.receiving_organisation_id
    if org_id != previous:
        # Naming another organisation shares the case with it and takes it from the one named now: the owning
        # organisation decides that (the right to refer the case), not an organisation the case is shared with.
        if not allowed(actor, Action.REFERRAL_CREATE, plan.case):
            raise ReturnError(gettext("Only %(org)s, which owns the case, can name another receiving organisation.",
                                      org=plan.case.organisation.name))
        # The person no longer goes to that organisation: its hand-off (pending or accepted) and access end.
        _withdraw_handoff(actor, plan, previous, "receiving_organisation_changed")
    plan.receiving_organisation_id = org_id
    plan.destination_country = country
    seal(plan, "destination_locality", _clean(values.get("destination_locality")))
    withdrawn = _finish_edit(actor, plan, "return.destination",
                             ["receiving_organisation_id", "destination_country", "destination_locality"])
    if org_id != previous:
        _hand_off(actor, plan, named=True)
    return withdrawn


def record_risk_assessment(actor, plan: ReturnPlan, values: dict) -> bool:
    _begin_edit(actor, plan, values)
    level = values.get("risk_level")
    if level not in RISK_LEVELS:
        raise ReturnError(gettext("Choose the level of risk."))
    summary = _clean(values.get("risk_summary"))
    if summary is None:
        raise ReturnError(gettext("Summarise the risk assessment."))
    assessed_on = values.get("risk_assessed_on")
    if not isinstance(assessed_on, date):
        raise ReturnError(gettext("Give the date of the risk assessment."))
    _not_in_future(assessed_on, gettext("The date of the risk assessment"))
    plan.risk_level = level
    seal(plan, "risk_summary", summary)
    plan.risk_assessed_on = assessed_on
    plan.risk_assessed_by_id = actor.id
    return _finish_edit(actor, plan, "return.risk_assessment",
                        ["risk_level", "risk_summary", "risk_assessed_on"])


def record_family_assessment(actor, plan: ReturnPlan, values: dict) -> bool:
    _begin_edit(actor, plan, values)
    outcome = values.get("family_outcome")
    if outcome not in FAMILY_OUTCOMES:
        raise ReturnError(gettext("Choose the outcome of the family assessment."))
    assessed_on = values.get("family_assessed_on")
    if not isinstance(assessed_on, date):
        raise ReturnError(gettext("Give the date of the family assessment."))
    _not_in_future(assessed_on, gettext("The date of the family assessment"))
    summary = _clean(values.get("family_summary"))
    if summary is None and outcome != "not_applicable":
        raise ReturnError(gettext("Summarise what the family assessment found."))
    plan.family_outcome = outcome
    seal(plan, "family_summary", summary)
    plan.family_assessed_on = assessed_on
    plan.family_assessed_by_id = actor.id
    return _finish_edit(actor, plan, "return.family_assessment",
                        ["family_outcome", "family_summary", "family_assessed_on"])


def record_travel_document(actor, plan: ReturnPlan, values: dict) -> bool:
    _begin_edit(actor, plan, values)
    status = values.get("travel_document_status")
    if status not in TRAVEL_DOCUMENT_STATUSES:
        raise ReturnError(gettext("Choose the status of the travel document."))
    requested_on = values.get("travel_document_requested_on")
    issued_on = values.get("travel_document_issued_on")
    if status == "requested" and requested_on is None:
        raise ReturnError(gettext("Give the date the travel document was requested."))
    if status == "issued" and issued_on is None:
        raise ReturnError(gettext("Give the date the travel document was issued."))
    if status in ("none", "not_needed"):
        requested_on = issued_on = None
    if status == "requested":
        issued_on = None
    _not_in_future(requested_on, gettext("The request date"))
    _not_in_future(issued_on, gettext("The issue date"))
    if requested_on and issued_on and issued_on < requested_on:
        raise ReturnError(gettext("The travel document cannot be issued before it was requested."))
    plan.travel_document_status = status
    plan.travel_document_requested_on = requested_on
    plan.travel_document_issued_on = issued_on
    return _finish_edit(actor, plan, "return.travel_document",
                        ["travel_document_status", "travel_document_requested_on", "travel_document_issued_on"])


def record_consular_contact(actor, plan: ReturnPlan, values: dict) -> bool:
    _begin_edit(actor, plan, values)
    made = bool(values.get("consular_contact_made"))
    contact_on = values.get("consular_contact_on") if made else None
    if made and contact_on is None:
        raise ReturnError(gettext("Give the date of the consular contact."))
    _not_in_future(contact_on, gettext("The date of the consular contact"))
    plan.consular_contact_made = made
    plan.consular_contact_on = contact_on
    seal(plan, "consular_note", _clean(values.get("consular_note")))
    return _finish_edit(actor, plan, "return.consular_contact",
                        ["consular_contact_made", "consular_contact_on", "consular_note"])


def record_itinerary(actor, plan: ReturnPlan, values: dict) -> bool:
    _begin_edit(actor, plan, values)
    escort_required = bool(values.get("escort_required"))
    escort_name = _clean(values.get("escort_name")) if escort_required else None
    if escort_required and escort_name is None:
        raise ReturnError(gettext("Name the escort, or untick \"Escort required\"."))
    departure = values.get("planned_departure_on")
    if departure is not None and not isinstance(departure, date):
        raise ReturnError(gettext("Give the planned departure date as a date."))
    guardian = _clean(values.get("guardian_name"))
    relationship = values.get("guardian_relationship") or None
    if relationship is not None and relationship not in TRAVELLING_GUARDIANS:
        raise ReturnError(gettext("Choose whether the person travelling along is a parent or a legal guardian."))
    if bool(guardian) != bool(relationship):
        raise ReturnError(gettext("Give both the name of the parent or legal guardian travelling along and how "
                                  "they are related, or neither."))
    plan.planned_departure_on = departure
    seal(plan, "route_details", _clean(values.get("route_details")))
    plan.escort_required = escort_required
    seal(plan, "escort_name", escort_name)
    seal(plan, "guardian_name", guardian)
    seal(plan, "guardian_relationship", relationship)
    return _finish_edit(actor, plan, "return.itinerary",
                        ["planned_departure_on", "route_details", "escort_required", "escort_name", "guardian_name",
                         "guardian_relationship"])


# The workflow ------------------------------------------------------------------------------------------------------

def _claim(plan: ReturnPlan, seen: str, **changes) -> None:
    """Apply `changes` only if the plan is still in the status this request saw: of two supervisors approving at
    once, or an edit racing an approval (which must withdraw it), the second finds the status moved and is refused
    instead of applying its step a second time or over a decision it never saw."""
    if not transition(plan, ReturnPlan.status == seen, **changes):
        raise ReturnError(gettext("Someone else changed this return plan just now. Look at it again before "
                                  "repeating your change."))


def _move(actor, plan: ReturnPlan, action: str, to_status: str, **changes) -> None:
    from_status = plan.status
    _claim(plan, from_status, status=to_status, updated_at=utcnow(), **changes)
    _event(action, actor, plan, **{"from": from_status, "to": to_status})


def submit_plan(actor, plan: ReturnPlan) -> None:
    authorize(actor, Action.RETURN_MANAGE, plan)
    _check_case_open(plan.case)
    if plan.status != "draft":
        raise ReturnError(gettext("Only a draft plan can be submitted for approval."))
    missing = guards.missing_for_submission(plan)
    if missing:
        raise ReturnError(gettext("The plan cannot be submitted for approval yet.") + " " + " ".join(missing))
    _move(actor, plan, "return.submit", "submitted", submitted_by_id=actor.id, submitted_at=utcnow())
    _hand_off(actor, plan)


def approve_plan(actor, plan: ReturnPlan) -> None:
    """A supervisor's approval, possible only once every condition of a safe, consented return is documented."""
    authorize(actor, Action.RETURN_APPROVE, plan)
    _check_case_open(plan.case)
    if plan.status != "submitted":
        raise ReturnError(gettext("Only a plan submitted for approval can be approved."))
    blockers = guards.missing_for_submission(plan)
    if blockers:
        raise ReturnError(gettext("The plan cannot be approved yet.") + " " + " ".join(blockers))
    _move(actor, plan, "return.approve", "approved", approved_by_id=actor.id, approved_at=utcnow())


def confirm_departure(actor, plan: ReturnPlan, departed_on: date | None) -> None:
    authorize(actor, Action.RETURN_MANAGE, plan)
    _check_case_open(plan.case)
    if plan.status != "approved" or plan.approved_at is None:
        raise ReturnError(gettext("The person can depart only after a supervisor has approved the return plan."))
    if not isinstance(departed_on, date):
        raise ReturnError(gettext("Give the date of departure."))
    _not_in_future(departed_on, gettext("The date of departure"))
    if departed_on < plan.approved_at.date():
        raise ReturnError(gettext("The departure date cannot be before the approval (%(day)s).",
                                  day=plan.approved_at.date().isoformat()))
    # Conditions can change after approval (consent withdrawn, the person found to be a minor): check again.
    if not queries.consent_documented(plan.case):
        raise ReturnError(gettext("The person's consent to return is not documented (or has been withdrawn): "
                                  "the person cannot depart."))
    # The age on the departure date decides: a child that day travels with an escort or a parent or guardian.
    if queries.needs_escort(plan.case, departed_on) and not plan.accompanied:
        raise ReturnError(queries.escort_missing_message(departed_on))
    # What other features require of a return (queries.APPROVAL_CHECKS: a child's best-interests determination), on
    # the departure date: the page hides the form then, and the operation refuses whatever is posted.
    added = queries.added_blockers(plan, plan.case, departed_on)
    if added:
        raise ReturnError(" ".join(added))
    # The person has left: the shelter placement ends on the departure date (freeing the bed) before the stage
    # moves, since a case is not in "return" while the record still has the person in a shelter bed.
    try:
        shelter_operations.end_on_departure(actor, plan.case, departed_on)
    except shelter_operations.PlacementError as exc:
        raise ReturnError(str(exc)) from None
    _move(actor, plan, "return.depart", "departed", departed_on=departed_on, departure_confirmed_by_id=actor.id,
          departure_confirmed_at=utcnow())
    follow(actor, plan.case, "return.depart", departed_on)


def confirm_arrival(actor, plan: ReturnPlan, arrived_on: date | None) -> None:
    authorize(actor, Action.RETURN_MANAGE, plan)
    _check_case_open(plan.case)
    if plan.status != "departed" or plan.departed_on is None:
        raise ReturnError(gettext("Arrival can be confirmed only after the departure has been confirmed."))
    if not isinstance(arrived_on, date):
        raise ReturnError(gettext("Give the date of arrival."))
    _not_in_future(arrived_on, gettext("The date of arrival"))
    if arrived_on < plan.departed_on:
        raise ReturnError(gettext("The arrival date cannot be before the departure date (%(day)s).",
                                  day=plan.departed_on.isoformat()))
    _move(actor, plan, "return.arrive", "arrived", arrived_on=arrived_on, arrival_confirmed_by_id=actor.id,
          arrival_confirmed_at=utcnow())
    follow(actor, plan.case, "return.arrive", arrived_on)


def cancel_plan(actor, plan: ReturnPlan, reason: str | None) -> None:
    authorize(actor, Action.RETURN_MANAGE, plan)
    if plan.status not in ("draft", "submitted", "approved"):
        raise ReturnError(gettext("Only a plan that has not departed can be cancelled; this one is: %(status)s.",
                                  status=RETURN_STATUSES.label(plan.status)))
    reason = _clean(reason)
    if reason is None:
        raise ReturnError(gettext("Say why the return is cancelled."))
    seal(plan, "cancellation_reason", reason)
    _move(actor, plan, "return.cancel", "cancelled", cancelled_by_id=actor.id, cancelled_at=utcnow())
    # Before departure the receiving organisation has nothing left to do: its hand-off and access end. (After
    # departure a plan cannot be cancelled, so the access for the reintegration stays.)
    _withdraw_handoff(actor, plan, plan.receiving_organisation_id, "return_cancelled")
