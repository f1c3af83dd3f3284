"""The reintegration page of a case: the plan (and its one-month deadline), services delivered, monitoring visits."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import submissions, versions
from casemgmt.extensions import db
from casemgmt.reintegration import corrections, forms, operations, queries
from casemgmt.reintegration.models import SUPPORT_TYPES, SUSTAINABILITY_SCALE
from casemgmt.revisions import operations as revisions
from casemgmt.revisions import pages

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
            "plan_id": plan.id, "version": plan.version,
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
        # Only what the policy lets this user correct, and only while the case is open (as every change here).
        correctable_services={s.id for s in services if case.stage != "closed"
                              and allowed(current_user, Action.SERVICE_CORRECT, s)},
        correctable_visits={v.id for v in visits if case.stage != "closed"
                            and allowed(current_user, Action.VISIT_CORRECT, v)},
        revised=revisions.has_revisions(corrections.SERVICE_KIND, [s.id for s in services])
        | revisions.has_revisions(corrections.VISIT_KIND, [v.id for v in visits]),
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
    # A plan being changed carries the version it was filled from; a first plan has none to carry.
    base = versions.base_of(form.version.data) if form.plan_id.data else None
    try:
        saved = operations.save_plan(current_user, case, forms.values_of(form), base)
    except versions.EditConflict as conflict:
        db.session.rollback()
        submissions.replay_if_used(form)  # the same change sent twice is not a conflict with itself
        return versions.conflict_page(
            conflict, form, heading=_("Someone else saved this reintegration plan while you were editing it"),
            action=url_for("reintegration.plan", case_id=case.id), submit=_("Save the plan"), case=case,
            discard=url_for("reintegration.case_index", case_id=case.id))
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


# Corrections (issue 12, item 6) ----------------------------------------------------------------------------------
# Services and visits are corrected (and deleted with a reason) on a page of their own; both kinds share these
# views, told apart by CORRECTIONS.


def _visit_correction_form(visit, formdata=None, data=None):
    visitors = queries.visitor_choices(current_user.organisation_id)
    if visit.visited_by_id not in {uid for uid, _name in visitors}:
        # A visit recorded by the other organisation working on the reintegration keeps its visitor.
        visitors = [*visitors, *queries.user_names({visit.visited_by_id}).items()]
    return forms.CorrectVisitForm(formdata=formdata, data=data, visitors=visitors)


@dataclass(frozen=True)
class _Correction:
    kind: object  # revisions.Kind
    load: object
    snapshot: object
    correct: object
    delete: object
    form: object  # (record, formdata, data) -> the correction form
    correct_action: Action
    delete_action: Action
    slug: str  # "services" or "visits", in the URLs
    heading: object  # (record) -> the page's heading
    corrected: object  # flash messages
    deleted: object


CORRECTIONS = {
    "services": _Correction(
        corrections.SERVICE_KIND, corrections.load_service, corrections.service_snapshot, corrections.correct_service,
        corrections.delete_service, lambda r, formdata, data: forms.CorrectServiceForm(formdata=formdata, data=data),
        Action.SERVICE_CORRECT, Action.SERVICE_DELETE, "services",
        lambda r: _("Correct the service of %(day)s", day=format_date(r.delivered_on)),
        lambda: _("Service corrected. The earlier version is kept in its history."),
        lambda: _("Service deleted. It no longer appears anywhere; its history keeps who deleted it and why."),
    ),
    "visits": _Correction(
        corrections.VISIT_KIND, corrections.load_visit, corrections.visit_snapshot, corrections.correct_visit,
        corrections.delete_visit, _visit_correction_form, Action.VISIT_CORRECT, Action.VISIT_DELETE, "visits",
        lambda r: _("Correct the monitoring visit of %(day)s", day=format_date(r.visited_on)),
        lambda: _("Visit corrected. The earlier version is kept in its history."),
        lambda: _("Visit deleted. It no longer appears anywhere; its history keeps who deleted it and why."),
    ),
}


def _correction(slug: str) -> _Correction:
    found = CORRECTIONS.get(slug)
    if found is None:
        raise NotFound()
    return found


def _correction_page(c: _Correction, record, form, status: int = 200):
    case = record.case
    return pages.correction_page(
        heading=c.heading(record), case=case, form=form,
        action=url_for(f"reintegration.correct_{c.slug}", case_id=case.id, record_id=record.id),
        back=url_for("reintegration.case_index", case_id=case.id),
        delete_form=pages.delete_form_for(record) if allowed(current_user, c.delete_action, record) else None,
        delete_action=url_for(f"reintegration.delete_{c.slug}", case_id=case.id, record_id=record.id),
        history_url=url_for(f"reintegration.history_{c.slug}", case_id=case.id, record_id=record.id)
        if revisions.has_revisions(c.kind, [record.id]) else None,
        status=status,
    )


def _correct(slug: str, case_id: str, record_id: str):
    c = _correction(slug)
    posted = request.method == "POST"
    record = c.load(current_user, case_id, record_id, c.correct_action, deleted=posted)
    if not posted:
        form = c.form(record, None, {**c.snapshot(record), "version": record.version})
        return _correction_page(c, record, form)
    form = c.form(record, request.form, None)
    return pages.save_correction(
        record, form, refused=operations.ReintegrationError,
        save=lambda: c.correct(current_user, record, forms.values_of(form), versions.base_of(form.version.data),
                               form.correction_reason.data),
        shown=url_for("reintegration.case_index", case_id=case_id), done=c.corrected(),
        conflict=lambda clash: {
            "heading": _("Someone else changed this record while you were correcting it"),
            "action": url_for(f"reintegration.correct_{slug}", case_id=case_id, record_id=record_id),
            "case": clash.record.case, "discard": url_for("reintegration.case_index", case_id=case_id)},
        invalid=lambda: _correction_page(c, record, form, status=422))


def _delete(slug: str, case_id: str, record_id: str):
    c = _correction(slug)
    record = c.load(current_user, case_id, record_id, c.delete_action, deleted=True)
    return pages.delete_posted(
        record, refused=operations.ReintegrationError, done=c.deleted(),
        delete=lambda reason, base: c.delete(current_user, record, reason, base),
        listed=url_for("reintegration.case_index", case_id=case_id),
        correct_url=url_for(f"reintegration.correct_{slug}", case_id=case_id, record_id=record_id))


def _history(slug: str, case_id: str, record_id: str):
    c = _correction(slug)
    record = c.load(current_user, case_id, record_id, Action.REINTEGRATION_MANAGE, deleted=True)
    shown = revisions.history(current_user, c.kind, record)
    db.session.commit()  # the reading's audit event
    return pages.history_page(c.kind, record, shown, back=url_for("reintegration.case_index", case_id=case_id),
                              case=record.case)


@bp.route("/<case_id>/reintegration/services/<record_id>/correct", methods=["GET", "POST"])
@requires(Action.SERVICE_CORRECT)
def correct_services(case_id, record_id):
    return _correct("services", case_id, record_id)


@bp.post("/<case_id>/reintegration/services/<record_id>/delete")
@requires(Action.SERVICE_DELETE)
def delete_services(case_id, record_id):
    return _delete("services", case_id, record_id)


@bp.get("/<case_id>/reintegration/services/<record_id>/history")
@requires(Action.REINTEGRATION_MANAGE)
def history_services(case_id, record_id):
    return _history("services", case_id, record_id)


@bp.route("/<case_id>/reintegration/visits/<record_id>/correct", methods=["GET", "POST"])
@requires(Action.VISIT_CORRECT)
def correct_visits(case_id, record_id):
    return _correct("visits", case_id, record_id)


@bp.post("/<case_id>/reintegration/visits/<record_id>/delete")
@requires(Action.VISIT_DELETE)
def delete_visits(case_id, record_id):
    return _delete("visits", case_id, record_id)


@bp.get("/<case_id>/reintegration/visits/<record_id>/history")
@requires(Action.REINTEGRATION_MANAGE)
def history_visits(case_id, record_id):
    return _history("visits", case_id, record_id)
