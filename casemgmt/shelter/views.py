from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import submissions, versions
from casemgmt.extensions import db
from casemgmt.revisions import operations as revisions
from casemgmt.revisions import pages
from casemgmt.shelter import corrections, operations, queries
from casemgmt.shelter.forms import (
    AdmitForm,
    CorrectPlacementForm,
    DischargeForm,
    EditFacilityForm,
    NewFacilityForm,
    PastStayForm,
)
from casemgmt.shelter.models import AGE_GROUPS, DISCHARGE_REASONS, FACILITY_TYPES, Facility

bp = Blueprint("shelter", __name__)

# The reflection period offered by default on the admission form; the caseworker changes it as the law requires.
DEFAULT_REFLECTION_DAYS = 30


@bp.get("/shelter/facilities")
@requires(Action.FACILITY_VIEW)
def facilities():
    rows = queries.facilities_of(current_user)
    return render_template(
        "shelter/facilities.html", rows=rows, types=FACILITY_TYPES, age_groups=AGE_GROUPS,
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
        "shelter/facility.html", facility=found, occupants=present, types=FACILITY_TYPES, age_groups=AGE_GROUPS,
        can_manage=allowed(current_user, Action.FACILITY_MANAGE, found),
    )


@bp.route("/shelter/facilities/<int:facility_id>/edit", methods=["GET", "POST"])
@requires(Action.FACILITY_MANAGE)
def edit_facility(facility_id):
    found = operations.load_facility(current_user, Action.FACILITY_MANAGE, facility_id)
    form = EditFacilityForm(obj=found if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = operations.update_facility(current_user, found, form.values(),
                                                 versions.base_of(form.version.data))
        except versions.EditConflict as conflict:
            db.session.rollback()
            submissions.replay_if_used(form)  # the same edit sent twice is not a conflict with itself
            return versions.conflict_page(
                conflict, form, heading=_("Someone else saved this facility while you were editing it"),
                action=url_for("shelter.edit_facility", facility_id=facility_id), submit=_("Save"),
                discard=url_for("shelter.facility", facility_id=facility_id))
        except operations.PlacementError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("shelter.facility", facility_id=facility_id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Saved.") if changed else _("Nothing had changed."), "success" if changed else "info")
            return redirect(shown)
    status = 200 if request.method == "GET" else 422
    return render_template("shelter/facility_form.html", form=form, facility=found), status


def _with_age_group(name: str, facility) -> str:
    if facility.age_group == "adults":
        return _("%(name)s · adults only", name=name)
    if facility.age_group == "children":
        return _("%(name)s · children only", name=name)
    return name


def _admit_form(case, formdata=None) -> AdmitForm:
    """Only the facilities that take this person today (the admission date offered): one that would refuse them,
    for their age, is left out and the page says why (`form.withheld`)."""
    form = AdmitForm(formdata=formdata)
    choices = [(None, _("— choose —"))]
    withheld = []
    today = date.today()
    for facility, taken in queries.admission_choices(case):
        refusal = operations.age_refusal(case, facility, today)
        if refusal:
            withheld.append(refusal)
            continue
        free = max(facility.bed_capacity - taken, 0)
        choices.append((facility.id, _with_age_group(_(
            "%(name)s: %(free)d of %(capacity)d beds free", name=facility.name, free=free,
            capacity=facility.bed_capacity), facility)))
    form.facility_id.choices = choices
    form.withheld = withheld
    if formdata is None:
        form.admitted_on.data = today
        form.reflection_period_until.data = today + timedelta(days=DEFAULT_REFLECTION_DAYS)
    return form


def _past_stay_form(case, formdata=None) -> PastStayForm:
    """Every facility of the case's organisation, those no longer taking admissions too: the stay is over. Each is
    marked with whom it takes; whether the person was a child then depends on the dates given, which the operation
    checks."""
    form = PastStayForm(formdata=formdata)
    facilities = db.session.scalars(
        select(Facility).where(Facility.organisation_id == case.organisation_id).order_by(Facility.name)
    )
    choices = [(None, _("— choose —"))]
    for facility in facilities:
        choices.append((facility.id, _with_age_group(facility.name, facility)))
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
        correctable={p.id for p in placements if allowed(current_user, Action.PLACEMENT_CORRECT, p)},
        revised=revisions.has_revisions(corrections.KIND, [p.id for p in placements]),
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


# Corrections (issue 12, item 6) ----------------------------------------------------------------------------------


def _placement_form(placement, formdata=None, data=None) -> CorrectPlacementForm:
    return CorrectPlacementForm(formdata=formdata, data=data, still_going=placement.discharged_on is None,
                                facilities=corrections.facility_choices(placement.case_id))


def _correction_page(placement, form, status: int = 200):
    case = placement.case
    return pages.correction_page(
        heading=_("Correct the placement of %(day)s", day=format_date(placement.admitted_on)), case=case, form=form,
        action=url_for("shelter.correct", case_id=case.id, placement_id=placement.id),
        back=url_for("shelter.case_index", case_id=case.id),
        delete_form=pages.delete_form_for(placement)
        if allowed(current_user, Action.PLACEMENT_DELETE, placement) else None,
        delete_action=url_for("shelter.delete", case_id=case.id, placement_id=placement.id),
        history_url=url_for("shelter.history", case_id=case.id, placement_id=placement.id)
        if revisions.has_revisions(corrections.KIND, [placement.id]) else None,
        help={"discharge_note": _('Encrypted. Required when the reason is "Other".')}, status=status,
    )


@bp.route("/cases/<case_id>/shelter/<placement_id>/correct", methods=["GET", "POST"])
@requires(Action.PLACEMENT_CORRECT)
def correct(case_id, placement_id):
    posted = request.method == "POST"
    placement = corrections.load(current_user, case_id, placement_id, Action.PLACEMENT_CORRECT, deleted=posted)
    if not posted:
        form = _placement_form(placement, data={**corrections.snapshot(placement), "version": placement.version})
        return _correction_page(placement, form)
    form = _placement_form(placement, formdata=request.form)
    return pages.save_correction(
        placement, form, refused=operations.PlacementError,
        save=lambda: corrections.correct_placement(current_user, placement, form.values(),
                                                   versions.base_of(form.version.data), form.correction_reason.data),
        shown=url_for("shelter.case_index", case_id=case_id),
        done=_("Placement corrected. The earlier version is kept in its history."),
        conflict=lambda clash: {
            "heading": _("Someone else changed this placement while you were correcting it"),
            "action": url_for("shelter.correct", case_id=case_id, placement_id=placement_id),
            "case": clash.record.case, "discard": url_for("shelter.case_index", case_id=case_id)},
        invalid=lambda: _correction_page(placement, form, status=422))


@bp.post("/cases/<case_id>/shelter/<placement_id>/delete")
@requires(Action.PLACEMENT_DELETE)
def delete(case_id, placement_id):
    placement = corrections.load(current_user, case_id, placement_id, Action.PLACEMENT_DELETE, deleted=True)
    return pages.delete_posted(
        placement, refused=operations.PlacementError,
        delete=lambda reason, base: corrections.delete_placement(current_user, placement, reason, base),
        listed=url_for("shelter.case_index", case_id=case_id),
        correct_url=url_for("shelter.correct", case_id=case_id, placement_id=placement_id),
        done=_("Placement deleted: its bed is free. It no longer appears anywhere; its history keeps who deleted it "
               "and why."))


@bp.get("/cases/<case_id>/shelter/<placement_id>/history")
@requires(Action.PLACEMENT_MANAGE)
def history(case_id, placement_id):
    placement = corrections.load(current_user, case_id, placement_id, Action.PLACEMENT_MANAGE, deleted=True)
    shown = revisions.history(current_user, corrections.KIND, placement)
    db.session.commit()  # the reading's audit event
    return pages.history_page(corrections.KIND, placement, shown, back=url_for("shelter.case_index", case_id=case_id),
                              case=placement.case)
