from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.access.policies import not_own_request
from casemgmt.cases import stages
from casemgmt.core import submissions
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.journey import operations, queries
from casemgmt.journey.forms import ClosureDecisionForm, ClosureRequestForm, ClosureWithdrawForm
from casemgmt.journey.guards import closure_approved
from casemgmt.journey.models import CLOSURE_CODES
from casemgmt.shelter import operations as shelter_operations
from casemgmt.shelter.forms import DischargeForm

bp = Blueprint("journey", __name__)

# The case page's stage section asks what may follow and what a guard would say (see cases/view.html).
bp.add_app_template_global(queries.stage_outlook, "journey_stage_outlook")


@bp.get("/cases/<case_id>/timeline")
@requires(Action.TIMELINE_VIEW)
def timeline(case_id):
    case = operations.open_timeline(current_user, case_id)
    oldest_first = request.args.get("order") == "oldest"
    entries = queries.timeline(current_user, case, newest_first=not oldest_first)
    db.session.commit()  # the view event
    return render_template("journey/timeline.html", case=case, entries=entries, oldest_first=oldest_first)


@bp.route("/cases/<case_id>/closure", methods=["GET", "POST"])
@requires(Action.CASE_CHANGE_STAGE)
def closure(case_id):
    case = operations.open_closure_page(current_user, case_id, audit=request.method == "GET")
    form = ClosureRequestForm()
    if form.validate_on_submit():
        try:
            operations.request_closure(current_user, case, form.code.data, form.reason.data)
        except operations.JourneyError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("journey.closure", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Closure requested. A supervisor will decide."), "success")
            return redirect(shown)
    reveal = allowed(current_user, Action.CASE_VIEW_IDENTITY, case)
    requests = queries.closure_requests(case)
    texts = {
        r.id: {"reason": unseal(r, "reason"), "note": unseal(r, "decision_note")} if reveal else {} for r in requests
    }
    pending = next((r for r in requests if r.status == "requested"), None)
    blockers = _closure_blockers(case) if case.stage != "closed" else []
    placement = shelter_operations.current_placement(case.id) if case.stage != "closed" else None
    can_discharge = placement is not None and allowed(current_user, Action.PLACEMENT_MANAGE, placement)
    if request.method == "GET":
        db.session.commit()  # the view event
    return render_template(
        "journey/closure.html", case=case, form=form, requests=requests, texts=texts, pending=pending,
        decision_form=ClosureDecisionForm(), codes=CLOSURE_CODES, htcds=htcds,
        can_request=case.stage != "closed" and pending is None,
        can_decide=pending is not None and allowed(current_user, Action.CLOSURE_APPROVE, pending),
        # The requester, or a supervisor of the organisation, may take the request back while it waits.
        withdraw_form=ClosureWithdrawForm(formdata=None)
        if pending is not None and allowed(current_user, Action.CLOSURE_WITHDRAW, pending) else None,
        # What another feature's guard would refuse the closure for, and the fix in place for an open placement:
        # the approve button is not offered while a blocker stands.
        blockers=blockers, placement=placement,
        discharge_form=DischargeForm(formdata=None, discharged_on=date.today()) if can_discharge else None,
        # A supervisor's own request: another supervisor decides.
        own_request=pending is not None and allowed(current_user, Action.CLOSURE_APPROVE)
        and not not_own_request(current_user, pending),
    ), 200 if request.method == "GET" else 422


def _closure_blockers(case) -> list[str]:
    """The closure guards' refusals other than the approval itself (which the page is there to give)."""
    found = []
    for check in stages.GUARDS.get("closed", ()):
        if check is closure_approved:
            continue
        reason = check(case)
        if reason:
            found.append(reason)
    return found


def _decide(request_id, decide, message):
    closure_request = operations.load_closure(current_user, request_id)
    form = ClosureDecisionForm()
    target = url_for("journey.closure", case_id=closure_request.case_id)
    if not form.validate_on_submit():
        flash(" ".join(form.note.errors) or _("The form had expired; please try again."), "danger")
        return redirect(target)
    try:
        decide(current_user, closure_request, form.note.data)
    except operations.JourneyError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(target)


@bp.post("/closures/<request_id>/approve")
@requires(Action.CLOSURE_APPROVE)
def approve(request_id):
    return _decide(request_id, operations.approve_closure, _("Closure approved: the case is closed."))


@bp.post("/closures/<request_id>/reject")
@requires(Action.CLOSURE_APPROVE)
def reject(request_id):
    return _decide(request_id, operations.reject_closure, _("Closure refused: the case stays open."))


@bp.post("/closures/<request_id>/withdraw")
@requires(Action.CLOSURE_WITHDRAW)
def withdraw(request_id):
    closure_request = operations.load_closure(current_user, request_id, Action.CLOSURE_WITHDRAW)
    form = ClosureWithdrawForm()
    target = url_for("journey.closure", case_id=closure_request.case_id)
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors) or _("The form had expired; please try again."), "danger")
        return redirect(target)
    try:
        operations.withdraw_closure(current_user, closure_request, form.reason.data)
    except operations.JourneyError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Closure request withdrawn: the case stays open, and its closure can be requested again."), "success")
    return redirect(target)
