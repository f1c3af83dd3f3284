"""The "Stay and status" pages: the case's tab (protection statuses and reunifications), the status form, and one
reunification's page with its members, their documents, travel and arrival, and the services after. Thin: the
operations hold the rules; a refusal rolls back, puts its sentence on the field it names and shows the form again
(422) with what was typed."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import money, submissions, versions
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.families.models import RELATIONSHIPS
from casemgmt.fund.models import STATUSES as FUND_STATUSES
from casemgmt.residence import forms, operations, queries
from casemgmt.residence.models import (
    DERIVATIVE_KINDS,
    DOCUMENT_STATUSES,
    REUNIFICATION_STATUSES,
    SERVICE_KINDS,
    STATUS_KINDS,
    STATUS_STATES,
)
from casemgmt.residence.operations import ResidenceError

bp = Blueprint("residence", __name__)


def _attach(form, exc: ResidenceError) -> None:
    """Show a refusal next to the field it is about (or above the form when it names none)."""
    field = form._fields.get(exc.field) if exc.field else None
    if field is None:
        flash(str(exc), "danger")
        return
    field.errors = [*field.errors, str(exc)]


def _can_manage(case) -> bool:
    return case.stage != "closed" and allowed(current_user, Action.RESIDENCE_MANAGE, case)


# The case's tab ------------------------------------------------------------------------------------------------------

@bp.get("/cases/<case_id>/stay")
@requires(Action.RESIDENCE_VIEW)
def case_index(case_id):
    case = operations.open_case_page(current_user, case_id)
    db.session.commit()  # the view event
    statuses = queries.statuses_of(case.id)
    reunifications = queries.reunifications_of(case.id)
    return render_template(
        "residence/case_index.html", case=case, statuses=statuses, reunifications=reunifications,
        revealed={s.id: queries.reveal_status(s) for s in statuses}, htcds=htcds, kinds=STATUS_KINDS,
        states=STATUS_STATES, reunification_statuses=REUNIFICATION_STATUSES,
        open_one=queries.open_reunification(case.id), can_manage=_can_manage(case),
        names=queries.user_names({s.recorded_by_id for s in statuses} | {r.opened_by_id for r in reunifications}),
    )


def _status_page(case, form, status=None, code: int = 200):
    return render_template("residence/status_form.html", case=case, form=form, record=status), code


@bp.route("/cases/<case_id>/stay/status/new", methods=["GET", "POST"])
@requires(Action.RESIDENCE_MANAGE)
def status_new(case_id):
    case = operations.load_case(current_user, case_id)
    if request.method == "GET":
        form = forms.NewStatusForm(formdata=None, data={"country": case.organisation.country})
        return _status_page(case, form)
    form = forms.NewStatusForm()
    if not form.validate_on_submit():
        return _status_page(case, form, code=422)
    try:
        operations.record_status(current_user, case, forms.values_of(form))
    except ResidenceError as exc:
        db.session.rollback()
        _attach(form, exc)
        return _status_page(case, form, code=422)
    back = url_for("residence.case_index", case_id=case.id)
    submissions.consume(form, back)
    db.session.commit()
    flash(_("Status recorded."), "success")
    return redirect(back)


@bp.route("/cases/<case_id>/stay/status/<status_id>/edit", methods=["GET", "POST"])
@requires(Action.RESIDENCE_MANAGE)
def status_edit(case_id, status_id):
    record = operations.load_status(current_user, case_id, status_id)
    case = record.case
    if request.method == "GET":
        form = forms.EditStatusForm(formdata=None, data={**operations.status_snapshot(record),
                                                         "version": record.version})
        return _status_page(case, form, record)
    form = forms.EditStatusForm()
    if not form.validate_on_submit():
        return _status_page(case, form, record, 422)
    back = url_for("residence.case_index", case_id=case.id)
    try:
        changed = operations.update_status(current_user, record, forms.values_of(form),
                                           versions.base_of(form.version.data))
    except versions.EditConflict as conflict:
        db.session.rollback()
        return versions.conflict_page(
            conflict, form, heading=_("Someone else saved this status while you were editing it"),
            action=url_for("residence.status_edit", case_id=case_id, status_id=status_id), submit=_("Save"),
            discard=back, case=case)
    except ResidenceError as exc:
        db.session.rollback()
        _attach(form, exc)
        return _status_page(case, form, record, 422)
    db.session.commit()
    flash(_("Status saved.") if changed else _("Nothing had changed."), "success" if changed else "info")
    return redirect(back)


# Opening a reunification -------------------------------------------------------------------------------------------

@bp.route("/cases/<case_id>/stay/reunification/new", methods=["GET", "POST"])
@requires(Action.RESIDENCE_MANAGE)
def reunification_new(case_id):
    case = operations.load_case(current_user, case_id)
    existing = queries.open_reunification(case.id)
    if request.method == "GET":
        return render_template("residence/reunification_new.html", case=case, existing=existing,
                               form=forms.ReunificationForm(formdata=None))
    form = forms.ReunificationForm()
    if not form.validate_on_submit():
        return render_template("residence/reunification_new.html", case=case, existing=existing, form=form), 422
    try:
        made = operations.open_reunification(current_user, case, form.notes.data)
    except ResidenceError as exc:
        db.session.rollback()
        _attach(form, exc)
        return render_template("residence/reunification_new.html", case=case,
                               existing=queries.open_reunification(case.id), form=form), 422
    shown = url_for("residence.reunification", reunification_id=made.id)
    submissions.consume(form, shown)
    db.session.commit()
    flash(_("Family reunification opened: add the family members who will join."), "success")
    return redirect(shown)


# One reunification -------------------------------------------------------------------------------------------------

def _request_label(r) -> str:
    return _("%(amount)s, %(status)s, asked on %(day)s", amount=money.format_money(r.amount, r.currency),
             status=FUND_STATUSES.label(r.status), day=format_date(r.requested_at.date()))


def _member_form(member, requests, posted=None):
    if posted is not None:
        return posted
    return forms.MemberForm(formdata=None, requests=requests,
                            data={**operations.member_snapshot(member), "version": member.version},
                            prefix=f"m{member.id[:8]}")


def _reunification_page(reunification, posted: dict | None = None, code: int = 200):
    posted = posted or {}
    case = reunification.case
    user = current_user
    sees_family = allowed(user, Action.FAMILY_VIEW, case)
    live = queries.live_members(case.id)
    joined_ids = {m.family_member_id for m in reunification.members}
    shown = live + [m.family_member for m in reunification.members if m.family_member not in live]
    names = queries.names_of(shown) if sees_family else {}
    offered, refused = [], []
    for fm in live:
        if fm.id in joined_ids:
            continue
        label = _("%(name)s (%(relationship)s)", name=names.get(fm.id) or _("Name not recorded"),
                  relationship=RELATIONSHIPS.label(fm.relationship_code)) if sees_family \
            else str(RELATIONSHIPS.label(fm.relationship_code))
        why = queries.join_refusal(fm)
        if why:
            refused.append((label, why))
        else:
            offered.append((fm.id, label))
    travel = queries.travel_requests(case.id)
    request_choices = [(r.id, _request_label(r)) for r in travel]
    manage = _can_manage(case) and reunification.is_open
    member_forms = {m.id: _member_form(m, request_choices, posted.get(m.id)) for m in reunification.members}
    arrived = [(m.family_member_id, names.get(m.family_member_id) or str(RELATIONSHIPS.label(
        m.family_member.relationship_code))) for m in reunification.members if m.arrived_on is not None]
    services = queries.services_of(reunification.id)
    fund_link = None
    if "fund.case_index" in current_app.view_functions and case.stage != "closed" \
            and allowed(user, Action.FUND_REQUEST, case):
        fund_link = url_for("fund.case_index", case_id=case.id, category=queries.TRAVEL_CATEGORY)
    return render_template(
        "residence/reunification.html", case=case, r=reunification, names=names, sees_family=sees_family,
        relationships=RELATIONSHIPS, offered=offered, refused=refused,
        add_form=posted.get("add") or forms.AddMemberForm(formdata=None, members=offered),
        member_forms=member_forms, requests={r.id: r for r in travel}, request_label=_request_label,
        cancel_form=posted.get("cancel") or forms.CancelForm(formdata=None), services=services,
        arrived=dict(arrived), statuses=REUNIFICATION_STATUSES, derivative_kinds=DERIVATIVE_KINDS,
        document_statuses=DOCUMENT_STATUSES, service_kinds=SERVICE_KINDS, can_manage=manage,
        can_add_service=_can_manage(case) and reunification.status != "cancelled" and bool(arrived),
        fund_link=fund_link, revealed=operations.reveal_reunification(reunification),
        service_notes={s.id: unseal(s, "notes") for s in services},
        user_names=queries.user_names({reunification.opened_by_id, reunification.cancelled_by_id,
                                       *(s.recorded_by_id for s in services)}),
        request_links={r.id: url_for("fund.request_page", request_id=r.id) for r in travel
                       if "fund.request_page" in current_app.view_functions
                       and allowed(user, Action.FUND_VIEW, r)},
    ), code


@bp.get("/reunifications/<reunification_id>")
@requires(Action.RESIDENCE_VIEW)
def reunification(reunification_id):
    found = operations.open_reunification_page(current_user, reunification_id)
    db.session.commit()  # the view event
    return _reunification_page(found)


def _back(reunification_id: str):
    return redirect(url_for("residence.reunification", reunification_id=reunification_id))


def _refused(reunification_id: str, name: str, form, exc: ResidenceError | None = None):
    db.session.rollback()
    if exc is not None:
        _attach(form, exc)
    found = operations.load_reunification(current_user, reunification_id, Action.RESIDENCE_VIEW)
    return _reunification_page(found, {name: form}, 422)


@bp.post("/reunifications/<reunification_id>/members")
@requires(Action.RESIDENCE_MANAGE)
def member_add(reunification_id):
    found = operations.load_reunification(current_user, reunification_id)
    form = forms.AddMemberForm(members=[])
    if not form.validate_on_submit():
        return _refused(reunification_id, "add", form)
    try:
        operations.add_member(current_user, found, forms.values_of(form))
    except ResidenceError as exc:
        return _refused(reunification_id, "add", form, exc)
    db.session.commit()
    flash(_("Family member added to the reunification."), "success")
    return _back(reunification_id)


@bp.post("/reunifications/<reunification_id>/members/<member_id>")
@requires(Action.RESIDENCE_MANAGE)
def member_update(reunification_id, member_id):
    found = operations.load_reunification(current_user, reunification_id)
    member = queries.member_of(found, member_id)
    form = forms.MemberForm(requests=[], prefix=f"m{member.id[:8]}")
    if not form.validate_on_submit():
        return _refused(reunification_id, member.id, form)
    try:
        operations.update_member(current_user, found, member, forms.values_of(form),
                                 versions.base_of(form.version.data))
    except versions.EditConflict as conflict:
        db.session.rollback()
        return versions.conflict_page(
            conflict, form, heading=_("Someone else saved this family member's journey while you were editing it"),
            action=url_for("residence.member_update", reunification_id=reunification_id, member_id=member_id),
            submit=_("Save"), discard=url_for("residence.reunification", reunification_id=reunification_id),
            case=found.case)
    except ResidenceError as exc:
        return _refused(reunification_id, member.id, form, exc)
    db.session.commit()
    if found.status == "reunified":
        flash(_("Everyone has arrived: the family is reunified."), "success")
    else:
        flash(_("Saved."), "success")
    return _back(reunification_id)


@bp.post("/reunifications/<reunification_id>/cancel")
@requires(Action.RESIDENCE_MANAGE)
def cancel(reunification_id):
    found = operations.load_reunification(current_user, reunification_id)
    form = forms.CancelForm()
    if not form.validate_on_submit():
        return _refused(reunification_id, "cancel", form)
    try:
        operations.cancel_reunification(current_user, found, form.cancellation_reason.data)
    except ResidenceError as exc:
        return _refused(reunification_id, "cancel", form, exc)
    db.session.commit()
    flash(_("Reunification cancelled."), "success")
    return _back(reunification_id)


# Services after arrival ------------------------------------------------------------------------------------------

def _service_page(found, form, code: int = 200):
    return render_template("residence/service_form.html", case=found.case, r=found, form=form), code


def _arrived_choices(found) -> list[tuple[str, str]]:
    sees_family = allowed(current_user, Action.FAMILY_VIEW, found.case)
    arrived = [m.family_member for m in found.members if m.arrived_on is not None]
    names = queries.names_of(arrived) if sees_family else {}
    return [(fm.id, names.get(fm.id) or str(RELATIONSHIPS.label(fm.relationship_code))) for fm in arrived]


@bp.route("/reunifications/<reunification_id>/services/new", methods=["GET", "POST"])
@requires(Action.RESIDENCE_MANAGE)
def service_new(reunification_id):
    found = operations.load_reunification(current_user, reunification_id)
    if request.method == "GET":
        form = forms.ServiceForm(formdata=None, members=_arrived_choices(found), data={"provided_on": date.today()})
        return _service_page(found, form)
    form = forms.ServiceForm(members=_arrived_choices(found))
    if not form.validate_on_submit():
        return _service_page(found, form, 422)
    try:
        operations.record_service(current_user, found, forms.values_of(form))
    except ResidenceError as exc:
        db.session.rollback()
        _attach(form, exc)
        found = operations.load_reunification(current_user, reunification_id)
        return _service_page(found, form, 422)
    shown = url_for("residence.reunification", reunification_id=found.id)
    submissions.consume(form, shown)
    db.session.commit()
    flash(_("Service recorded."), "success")
    return redirect(shown)
