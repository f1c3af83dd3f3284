"""The return page of a case: the plan, its steps and one form per step. Each POST runs one operation and commits."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.access.policies import not_own_request
from casemgmt.cases.age import GUARDIAN_RELATIONSHIPS
from casemgmt.core import submissions, versions
from casemgmt.extensions import db
from casemgmt.referrals import operations as referral_operations
from casemgmt.referrals import queries as referral_queries
from casemgmt.referrals.models import REFERRAL_KINDS
from casemgmt.returns import forms, guards, operations, queries
from casemgmt.returns.models import FAMILY_OUTCOMES, RETURN_STATUSES, RISK_LEVELS, TRAVEL_DOCUMENT_STATUSES

bp = Blueprint("returns", __name__, url_prefix="/cases")

# The step forms shown with a plan, by name; each posts to its own URL.
STEP_FORMS = {
    "start": forms.StartPlanForm,  # the destination form of a case without a plan: it makes one
    "destination": forms.DestinationForm,
    "risk": forms.RiskForm,
    "family": forms.FamilyForm,
    "travel_document": forms.TravelDocumentForm,
    "consular": forms.ConsularForm,
    "itinerary": forms.ItineraryForm,
    "departure": forms.DepartureForm,
    "arrival": forms.ArrivalForm,
    "cancel": forms.CancelForm,
    "confirm": forms.ConfirmForm,
}


def _make(name: str, data: dict | None = None, posted: bool = False):
    kwargs = {} if posted else {"formdata": None, "data": data or {}}
    if name in ("start", "destination"):
        return STEP_FORMS[name](organisations=queries.organisation_choices(), **kwargs)
    return STEP_FORMS[name](**kwargs)


def _plan_data(plan, revealed: dict) -> dict:
    data = {column.key: getattr(plan, column.key) for column in plan.__table__.columns}
    data.update(revealed)
    return data


def _handoff(case, plan) -> dict:
    """Where the hand-off to the plan's receiving organisation stands, and whether this user can send it now."""
    if plan is None or plan.receiving_organisation_id == case.organisation_id:
        return {}
    state = referral_queries.handoff(case, plan.receiving_organisation_id)
    blocker = referral_operations.handoff_blocker(current_user, case, plan.receiving_organisation_id)
    # The button is offered only where the operation would send it: no open referral, nothing in the way.
    can_send = (plan.editable and case.stage != "closed" and blocker is None
                and state.state in ("none", "declined", "revoked"))
    return {"handoff": state, "handoff_blocker": blocker, "can_send_handoff": can_send}


def _page(case, posted: dict | None = None, status: int = 200):
    """Render the return page; `posted` holds the form that was just submitted (with its errors), by name."""
    posted = posted or {}
    plan = queries.current_plan(case.id)
    revealed = queries.reveal(plan) if plan else {}
    data = _plan_data(plan, revealed) if plan else {"destination_country": getattr(case.person, "citizenship", None)}
    page_forms = {name: posted.get(name) or _make(name, data) for name in STEP_FORMS}
    if plan is not None and not allowed(current_user, Action.REFERRAL_CREATE, case):
        # Only the owning organisation names another receiving organisation (operations.update_destination): the
        # others keep the one named, and may still change the place.
        field = page_forms["destination"].receiving_organisation_id
        field.choices = [(value, label) for value, label in field.choices if value == plan.receiving_organisation_id]
    history = [p for p in queries.plans_of(case.id) if plan is None or p.id != plan.id]
    names = queries.user_names(set().union(*(p.user_ids() for p in ([plan] if plan else []) + history)))
    return render_template(
        "returns/case_index.html", case=case, plan=plan, revealed=revealed, forms=page_forms, history=history,
        names=names, htcds=htcds, statuses=RETURN_STATUSES, risk_levels=RISK_LEVELS, family_outcomes=FAMILY_OUTCOMES,
        travel_document_statuses=TRAVEL_DOCUMENT_STATUSES, guardian_relationships=GUARDIAN_RELATIONSHIPS,
        checklist=queries.approval_checklist(plan, case) if plan else [],
        # Shown instead of "Submit" or "Approve" while the operation would refuse them.
        missing=guards.missing_for_submission(plan) if plan and plan.status in ("draft", "submitted") else [],
        departure_missing=guards.missing_for_departure(plan) if plan and plan.status == "approved" else [],
        can_manage=allowed(current_user, Action.RETURN_MANAGE, case) and case.stage != "closed",
        can_approve=allowed(current_user, Action.RETURN_APPROVE, plan) if plan else False,
        # A supervisor's own submission: another supervisor approves it.
        own_request=plan is not None and allowed(current_user, Action.RETURN_APPROVE)
        and not not_own_request(current_user, plan),
        needs_escort=queries.needs_escort(case),
        kinds=REFERRAL_KINDS, **_handoff(case, plan),
    ), status


def _refused(case, name: str, form, exc: Exception | None = None):
    """Nothing is saved: undo whatever the operation had begun, say why, show the page again."""
    db.session.rollback()
    if exc is not None:
        flash(str(exc), "danger")
    return _page(case, posted={name: form}, status=422)


def _back(case_id: str):
    return redirect(url_for("returns.case_index", case_id=case_id))


@bp.get("/<case_id>/return")
@requires(Action.RETURN_VIEW)
def case_index(case_id):
    case = operations.open_return_page(current_user, case_id)
    db.session.commit()  # the view event
    return _page(case)


@bp.post("/<case_id>/return")
@requires(Action.RETURN_MANAGE)
def create(case_id):
    case = operations.load_case(current_user, case_id)
    form = _make("start", posted=True)
    if not form.validate_on_submit():
        return _refused(case, "start", form)
    try:
        operations.create_plan(current_user, case, forms.values_of(form))
    except operations.ReturnError as exc:
        return _refused(case, "start", form, exc)
    submissions.consume(form, url_for("returns.case_index", case_id=case.id))
    db.session.commit()
    flash(_("Return plan started."), "success")
    return _back(case.id)


def _step(case_id: str, plan_id: str, name: str, operation, done: str):
    plan = operations.load_plan(current_user, case_id, plan_id)
    case = plan.case
    form = _make(name, posted=True)
    if not form.validate_on_submit():
        return _refused(case, name, form)
    try:
        withdrawn = operation(current_user, plan, forms.values_of(form))
    except versions.EditConflict as conflict:
        db.session.rollback()
        return versions.conflict_page(
            conflict, form, heading=_("Someone else saved this return plan while you were editing it"),
            action=url_for(request.endpoint, case_id=case_id, plan_id=plan_id), submit=_("Save"),
            discard=url_for("returns.case_index", case_id=case_id), case=case)
    except operations.ReturnError as exc:
        return _refused(case, name, form, exc)
    db.session.commit()
    flash(done, "success")
    if withdrawn:
        flash(_("The plan changed after its approval, so the approval was withdrawn: a supervisor must approve "
                "it again."), "warning")
    return _back(case_id)


@bp.post("/<case_id>/return/<plan_id>/destination")
@requires(Action.RETURN_MANAGE)
def destination(case_id, plan_id):
    return _step(case_id, plan_id, "destination", operations.update_destination, _("Destination saved."))


@bp.post("/<case_id>/return/<plan_id>/risk")
@requires(Action.RETURN_MANAGE)
def risk(case_id, plan_id):
    return _step(case_id, plan_id, "risk", operations.record_risk_assessment, _("Risk assessment saved."))


@bp.post("/<case_id>/return/<plan_id>/family")
@requires(Action.RETURN_MANAGE)
def family(case_id, plan_id):
    return _step(case_id, plan_id, "family", operations.record_family_assessment, _("Family assessment saved."))


@bp.post("/<case_id>/return/<plan_id>/travel-document")
@requires(Action.RETURN_MANAGE)
def travel_document(case_id, plan_id):
    return _step(case_id, plan_id, "travel_document", operations.record_travel_document,
                 _("Travel document status saved."))


@bp.post("/<case_id>/return/<plan_id>/consular")
@requires(Action.RETURN_MANAGE)
def consular(case_id, plan_id):
    return _step(case_id, plan_id, "consular", operations.record_consular_contact, _("Consular contact saved."))


@bp.post("/<case_id>/return/<plan_id>/itinerary")
@requires(Action.RETURN_MANAGE)
def itinerary(case_id, plan_id):
    return _step(case_id, plan_id, "itinerary", operations.record_itinerary, _("Itinerary saved."))


def _transition(case_id: str, plan_id: str, action: Action, name: str, run, done: str):
    plan = operations.load_plan(current_user, case_id, plan_id, action)
    case = plan.case
    form = _make(name, posted=True)
    if not form.validate_on_submit():
        return _refused(case, name, form)
    try:
        run(plan, form)
    except operations.ReturnError as exc:
        return _refused(case, name, form, exc)
    db.session.commit()
    flash(done, "success")
    return _back(case_id)


@bp.post("/<case_id>/return/<plan_id>/handoff")
@requires(Action.REFERRAL_CREATE)
def handoff(case_id, plan_id):
    return _transition(case_id, plan_id, Action.RETURN_MANAGE, "confirm",
                       lambda plan, form: operations.send_handoff(current_user, plan),
                       _("The hand-off was sent to the receiving organisation."))


@bp.post("/<case_id>/return/<plan_id>/submit")
@requires(Action.RETURN_MANAGE)
def submit(case_id, plan_id):
    return _transition(case_id, plan_id, Action.RETURN_MANAGE, "confirm",
                       lambda plan, form: operations.submit_plan(current_user, plan),
                       _("The plan was submitted for a supervisor's approval."))


@bp.post("/<case_id>/return/<plan_id>/approve")
@requires(Action.RETURN_APPROVE)
def approve(case_id, plan_id):
    return _transition(case_id, plan_id, Action.RETURN_APPROVE, "confirm",
                       lambda plan, form: operations.approve_plan(current_user, plan),
                       _("Return plan approved."))


@bp.post("/<case_id>/return/<plan_id>/departure")
@requires(Action.RETURN_MANAGE)
def departure(case_id, plan_id):
    return _transition(case_id, plan_id, Action.RETURN_MANAGE, "departure",
                       lambda plan, form: operations.confirm_departure(current_user, plan, form.departed_on.data),
                       _("Departure confirmed."))


@bp.post("/<case_id>/return/<plan_id>/arrival")
@requires(Action.RETURN_MANAGE)
def arrival(case_id, plan_id):
    return _transition(case_id, plan_id, Action.RETURN_MANAGE, "arrival",
                       lambda plan, form: operations.confirm_arrival(current_user, plan, form.arrived_on.data),
                       _("Arrival confirmed."))


@bp.post("/<case_id>/return/<plan_id>/cancel")
@requires(Action.RETURN_MANAGE)
def cancel(case_id, plan_id):
    response = _transition(case_id, plan_id, Action.RETURN_MANAGE, "cancel",
                           lambda plan, form: operations.cancel_plan(current_user, plan, form.cancellation_reason.data),
                           _("Return plan cancelled."))
    refused = isinstance(response, tuple)  # the page again, with the reason (see _refused)
    if not refused and queries.case_or_404(case_id).stage == "return":
        flash(_("The case is still in the return stage: on the case record, move it to the stage that now applies "
                "and say why."), "warning")
    return response
