"""The reintegration page of a case: the plan (and its one-month deadline), services delivered, monitoring visits."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.core import submissions
from casemgmt.extensions import db
from casemgmt.reintegration import forms, operations, queries
from casemgmt.reintegration.models import SUPPORT_TYPES, SUSTAINABILITY_SCALE

bp = Blueprint("reintegration", __name__, url_prefix="/cases")


def _plan_form(case, plan, posted: bool = False):
    organisations = queries.organisation_choices()
    if posted:
        return forms.PlanForm(organisations=organisations)
    if plan is None:
        data = {"responsible_organisation_id": queries.default_responsible_organisation(
            case.id, current_user.organisation_id)}
    else:
        data = {
            "created_on": plan.created_on, "support_types": plan.support_types,
            "objectives": queries.revealed_objectives(plan), "planned_end_on": plan.planned_end_on,
            "actual_end_on": plan.actual_end_on, "responsible_organisation_id": plan.responsible_organisation_id,
            "plan_id": plan.id,
        }
    return forms.PlanForm(formdata=None, data=data, organisations=organisations)


def _visit_form(posted: bool = False):
    visitors = queries.visitor_choices(current_user.organisation_id)
    if posted:
        return forms.VisitForm(visitors=visitors)
    return forms.VisitForm(formdata=None, data={"visited_by_id": current_user.id}, visitors=visitors)


def _page(case, posted: dict | None = None, status: int = 200):
    posted = posted or {}
    plan = queries.plan_of(case.id)
    services = queries.services_of(case.id)
    visits = queries.visits_of(case.id)
    deadline = queries.deadline(case.id)
    ids = {s.recorded_by_id for s in services} | {v.visited_by_id for v in visits}
    if plan:
        ids.add(plan.created_by_id)
    return render_template(
        "reintegration/case_index.html", case=case, plan=plan, services=services, visits=visits,
        deadline=deadline, late=bool(plan and deadline and deadline.late(plan.created_on)),
        objectives=queries.revealed_objectives(plan) if plan else None,
        notes=queries.revealed_notes([*services, *visits]), names=queries.user_names(ids),
        totals=queries.totals_by_currency(services), support_types=SUPPORT_TYPES, scale=SUSTAINABILITY_SCALE,
        plan_form=posted.get("plan") or _plan_form(case, plan),
        service_form=posted.get("service") or forms.ServiceForm(formdata=None),
        visit_form=posted.get("visit") or _visit_form(),
        can_change=case.stage != "closed",
    ), status


def _refused(case, name: str, form, exc: Exception | None = None):
    """Nothing is saved: undo whatever the operation had begun, say why, show the page again."""
    db.session.rollback()
    if exc is not None:
        flash(str(exc), "danger")
    return _page(case, posted={name: form}, status=422)


def _back(case_id: str):
    return redirect(url_for("reintegration.case_index", case_id=case_id))


@bp.get("/<case_id>/reintegration")
@requires(Action.REINTEGRATION_MANAGE)
def case_index(case_id):
    case = operations.open_page(current_user, case_id)
    db.session.commit()  # the view event
    return _page(case)


@bp.post("/<case_id>/reintegration/plan")
@requires(Action.REINTEGRATION_MANAGE)
def plan(case_id):
    case = operations.load_case(current_user, case_id)
    form = _plan_form(case, None, posted=True)
    if not form.validate_on_submit():
        return _refused(case, "plan", form)
    try:
        saved = operations.save_plan(current_user, case, forms.values_of(form))
    except operations.ReintegrationError as exc:
        return _refused(case, "plan", form, exc)
    deadline = queries.deadline(case.id)
    late = bool(deadline and deadline.late(saved.created_on))
    submissions.consume(form, url_for("reintegration.case_index", case_id=case.id))
    db.session.commit()
    flash(_("Reintegration plan saved."), "success")
    if late:
        flash(_("This plan was made after its deadline: a reintegration plan should be made within one month of "
                "arrival (by %(day)s).", day=format_date(deadline.due_on)), "warning")
    return _back(case.id)


@bp.post("/<case_id>/reintegration/services")
@requires(Action.REINTEGRATION_MANAGE)
def service(case_id):
    case = operations.load_case(current_user, case_id)
    form = forms.ServiceForm()
    if not form.validate_on_submit():
        return _refused(case, "service", form)
    try:
        operations.record_service(current_user, case, forms.values_of(form))
    except operations.ReintegrationError as exc:
        return _refused(case, "service", form, exc)
    submissions.consume(form, url_for("reintegration.case_index", case_id=case.id))
    db.session.commit()
    flash(_("Service recorded."), "success")
    return _back(case.id)


@bp.post("/<case_id>/reintegration/visits")
@requires(Action.REINTEGRATION_MANAGE)
def visit(case_id):
    case = operations.load_case(current_user, case_id)
    form = _visit_form(posted=True)
    if not form.validate_on_submit():
        return _refused(case, "visit", form)
    try:
        operations.record_visit(current_user, case, forms.values_of(form))
    except operations.ReintegrationError as exc:
        return _refused(case, "visit", form, exc)
    submissions.consume(form, url_for("reintegration.case_index", case_id=case.id))
    db.session.commit()
    flash(_("Monitoring visit recorded."), "success")
    return _back(case.id)
