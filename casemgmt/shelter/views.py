from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import submissions
from casemgmt.extensions import db
from casemgmt.shelter import operations, queries
from casemgmt.shelter.forms import AdmitForm, DischargeForm, FacilityForm, NewFacilityForm, PastStayForm
from casemgmt.shelter.models import DISCHARGE_REASONS, FACILITY_TYPES, Facility

bp = Blueprint("shelter", __name__)

# The reflection period offered by default on the admission form; the caseworker changes it as the law requires.
DEFAULT_REFLECTION_DAYS = 30


@bp.get("/shelter/facilities")
@requires(Action.FACILITY_VIEW)
def facilities():
    rows = queries.facilities_of(current_user)
    return render_template(
        "shelter/facilities.html", rows=rows, types=FACILITY_TYPES,
        can_manage=allowed(current_user, Action.FACILITY_MANAGE),
    )


@bp.route("/shelter/facilities/new", methods=["GET", "POST"])
@requires(Action.FACILITY_MANAGE)
def create_facility():
    form = NewFacilityForm()
    if form.validate_on_submit():
        try:
            facility = operations.create_facility(current_user, form.values())
        except operations.PlacementError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("shelter.facility", facility_id=facility.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Facility %(name)s created.", name=facility.name), "success")
            return redirect(shown)
    status = 200 if request.method == "GET" else 422
    return render_template("shelter/facility_form.html", form=form, facility=None), status


@bp.get("/shelter/facilities/<int:facility_id>")
@requires(Action.FACILITY_VIEW)
def facility(facility_id):
    found = operations.load_facility(current_user, Action.FACILITY_VIEW, facility_id)
    present = queries.occupants(current_user, found)
    db.session.commit()  # the view event
    return render_template(
        "shelter/facility.html", facility=found, occupants=present, types=FACILITY_TYPES,
        can_manage=allowed(current_user, Action.FACILITY_MANAGE, found),
    )


@bp.route("/shelter/facilities/<int:facility_id>/edit", methods=["GET", "POST"])
@requires(Action.FACILITY_MANAGE)
def edit_facility(facility_id):
    found = operations.load_facility(current_user, Action.FACILITY_MANAGE, facility_id)
    form = FacilityForm(obj=found if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = operations.update_facility(current_user, found, form.values())
        except operations.PlacementError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("Saved.") if changed else _("Nothing had changed."), "success" if changed else "info")
            return redirect(url_for("shelter.facility", facility_id=facility_id))
    status = 200 if request.method == "GET" else 422
    return render_template("shelter/facility_form.html", form=form, facility=found), status


def _admit_form(case, formdata=None) -> AdmitForm:
    form = AdmitForm(formdata=formdata)
    choices = [(None, _("— choose —"))]
    for facility, taken in queries.admission_choices(case):
        free = max(facility.bed_capacity - taken, 0)
        label = _("%(name)s: %(free)d of %(capacity)d beds free", name=facility.name, free=free,
                  capacity=facility.bed_capacity)
        if not facility.accepts_minors:
            label += " · " + _("adults only")
        choices.append((facility.id, label))
    form.facility_id.choices = choices
    if formdata is None:
        form.admitted_on.data = date.today()
        form.reflection_period_until.data = date.today() + timedelta(days=DEFAULT_REFLECTION_DAYS)
    return form


def _past_stay_form(case, formdata=None) -> PastStayForm:
    """Every facility of the case's organisation, those no longer taking admissions too: the stay is over."""
    form = PastStayForm(formdata=formdata)
    facilities = db.session.scalars(
        select(Facility).where(Facility.organisation_id == case.organisation_id).order_by(Facility.name)
    )
    choices = [(None, _("— choose —"))]
    for facility in facilities:
        choices.append((facility.id, facility.name if facility.accepts_minors
                        else _("%(name)s · adults only", name=facility.name)))
    form.past_facility_id.choices = choices
    return form


def _render_case(case, admit_form=None, discharge_form=None, past_form=None, status=200):
    placements = queries.placements_of(case)
    current = next((p for p in placements if p.is_open), None)
    if current is None:
        admit_form = admit_form or _admit_form(case)
    else:
        discharge_form = discharge_form or DischargeForm(formdata=None, discharged_on=date.today())
    return render_template(
        "shelter/case.html", case=case, placements=placements, current=current, admit_form=admit_form,
        discharge_form=discharge_form, reasons=DISCHARGE_REASONS, types=FACILITY_TYPES,
        past_form=past_form or _past_stay_form(case),
        can_view_facilities=allowed(current_user, Action.FACILITY_VIEW),
    ), status


@bp.get("/cases/<case_id>/shelter")
@requires(Action.PLACEMENT_MANAGE)
def case_index(case_id):
    case = operations.load_case(current_user, Action.PLACEMENT_MANAGE, case_id)
    return _render_case(case)


@bp.post("/cases/<case_id>/shelter/admit")
@requires(Action.PLACEMENT_MANAGE)
def admit(case_id):
    case = operations.load_case(current_user, Action.PLACEMENT_MANAGE, case_id)
    form = _admit_form(case, formdata=request.form)
    if form.validate_on_submit():
        try:
            operations.admit(current_user, case, form.facility_id.data, form.admitted_on.data,
                             form.reflection_period_until.data)
        except operations.PlacementError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("shelter.case_index", case_id=case_id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Admission recorded."), "success")
            return redirect(shown)
    return _render_case(case, admit_form=form, status=422)


@bp.post("/cases/<case_id>/shelter/<placement_id>/discharge")
@requires(Action.PLACEMENT_MANAGE)
def discharge(case_id, placement_id):
    placement = operations.load_placement(current_user, case_id, placement_id)
    case = placement.case
    form = DischargeForm()
    if form.validate_on_submit():
        try:
            operations.discharge(current_user, placement, form.discharged_on.data, form.discharge_reason.data,
                                 form.discharge_note.data)
        except operations.PlacementError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("Discharge recorded."), "success")
            # Offered in place on the closure page, where a guard asked for it: back there to approve.
            if request.form.get("back") == "closure":
                return redirect(url_for("journey.closure", case_id=case_id))
            return redirect(url_for("shelter.case_index", case_id=case_id))
    return _render_case(case, discharge_form=form, status=422)


@bp.post("/cases/<case_id>/shelter/past")
@requires(Action.PLACEMENT_MANAGE)
def record_past(case_id):
    case = operations.load_case(current_user, Action.PLACEMENT_MANAGE, case_id)
    form = _past_stay_form(case, formdata=request.form)
    if form.validate_on_submit():
        try:
            operations.record_past_placement(current_user, case, form.past_facility_id.data,
                                             form.past_admitted_on.data, form.past_discharged_on.data,
                                             form.past_reason.data, form.past_note.data)
        except operations.PlacementError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("shelter.case_index", case_id=case_id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Earlier stay recorded."), "success")
            return redirect(shown)
    return _render_case(case, past_form=form, status=422)
