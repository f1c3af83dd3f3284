"""Projects (list, page, create and edit, financial export), exchange rates, and the case's projects tab
(enrolments and the work charged to them)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.audit import record_event
from casemgmt.core import money, submissions, versions
from casemgmt.core.pagination import paginate
from casemgmt.extensions import db
from casemgmt.fund.models import CATEGORIES
from casemgmt.programmes import attributable, exports, figures, forms, operations, queries
from casemgmt.programmes.models import DONOR_KINDS, RECORD_KINDS

bp = Blueprint("programmes", __name__)

CASES_PER_PAGE = 25
RATES_PER_PAGE = 50


def _money(amount, currency):
    return money.format_money(amount, currency)


# Projects ----------------------------------------------------------------------------------------------------------


@bp.get("/projects/")
@requires(Action.PROJECT_VIEW)
def projects():
    rows = figures.project_rows(current_user.organisation_id)
    return render_template("programmes/projects.html", rows=rows, fmt=_money,
                           can_create=allowed(current_user, Action.PROJECT_MANAGE))


def _drilldown(project, line=None, figure: str = "all") -> str | None:
    """The fund's list of the requests behind a figure (the fund feature's page), when it is installed."""
    if "fund.index" not in current_app.view_functions:
        return None
    args = {"project": project.id, "figure": figure}
    if line is not None:
        args["line"] = line.id
    return url_for("fund.index", **args)


@bp.get("/projects/<int:project_id>")
@requires(Action.PROJECT_VIEW)
def project(project_id):
    shown = operations.open_project(current_user, project_id)
    numbers = figures.project_figures(shown)
    cases = queries.enrolled_cases_page(shown.id, current_user.organisation_id, CASES_PER_PAGE)
    # Links to a case only where its page would open; a finance officer sees references only.
    openable = {row[0].id for row in cases.items if allowed(current_user, Action.CASE_VIEW, row[0])}
    return render_template(
        "programmes/project.html", project=shown, figures=numbers, cases=cases, openable=openable,
        fmt=lambda amount: _money(amount, shown.currency), categories=CATEGORIES, donor_kinds=DONOR_KINDS,
        drilldown=lambda line=None, figure="all": _drilldown(shown, line, figure),
        can_edit=allowed(current_user, Action.PROJECT_MANAGE, shown), open_end=date(9999, 12, 31),
        organisation_names=dict(queries.organisation_choices()), format_rate=money.format_rate,
    )


def _project_form(project=None, posted: bool = False):
    donors = queries.donors_of(current_user.organisation_id)
    organisations = queries.organisation_choices()
    if posted:
        return forms.ProjectForm(donors=donors, organisations=organisations)
    if project is None:
        data = {"organisation_ids": [current_user.organisation_id], "currency": "USD",
                "lines": [{} for _ in range(forms.BLANK_LINES)]}
    else:
        data = {
            "donor_id": project.donor_id, "code": project.code, "title": project.title,
            "starts_on": project.starts_on, "ends_on": project.ends_on, "currency": project.currency,
            "single_approval_limit": str(project.single_approval_limit), "eligibility": project.eligibility,
            "organisation_ids": sorted(project.organisation_ids), "countries": project.country_codes,
            "version": project.version,
            "lines": [{"id": line.id, "name": line.name, "category": line.category or "", "amount": str(line.amount)}
                      for line in project.lines] + [{} for _ in range(forms.BLANK_LINES)],
        }
    return forms.ProjectForm(formdata=None, data=data, donors=donors, organisations=organisations)


def _form_page(form, project=None, status: int = 200, problem: str | None = None):
    return render_template(
        "programmes/project_form.html", form=form, project=project, problem=problem,
        action=url_for("programmes.edit_project", project_id=project.id) if project
        else url_for("programmes.new_project")), status


def _refused(form, project, exc: operations.ProgrammeError):
    db.session.rollback()
    field = form._fields.get(exc.field or "") if exc.field != "lines" else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
        return _form_page(form, project, 422)
    return _form_page(form, project, 422, problem=str(exc))


@bp.route("/projects/new", methods=["GET", "POST"])
@requires(Action.PROJECT_MANAGE)
def new_project():
    if request.method == "GET":
        return _form_page(_project_form())
    form = _project_form(posted=True)
    if not form.validate_on_submit():
        return _form_page(form, status=422)
    try:
        saved = operations.save_project(current_user, None, forms.project_values(form))
    except operations.ProgrammeError as exc:
        return _refused(form, None, exc)
    submissions.consume(form, url_for("programmes.project", project_id=saved.id))
    db.session.commit()
    flash(_("Project %(code)s created.", code=saved.code), "success")
    return redirect(url_for("programmes.project", project_id=saved.id), code=303)


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@requires(Action.PROJECT_MANAGE)
def edit_project(project_id):
    shown = operations.open_project(current_user, project_id, Action.PROJECT_MANAGE)
    if request.method == "GET":
        return _form_page(_project_form(shown), shown)
    form = _project_form(shown, posted=True)
    if not form.validate_on_submit():
        return _form_page(form, shown, 422)
    try:
        operations.save_project(current_user, shown, forms.project_values(form), versions.base_of(form.version.data))
    except versions.EditConflict as conflict:
        db.session.rollback()
        submissions.replay_if_used(form)
        back = url_for("programmes.project", project_id=project_id)
        if not conflict.differences:
            flash(_("Nothing had changed: what is saved now already says this."), "info")
            return redirect(back, code=303)
        form.version.data = conflict.record.version
        return render_template(
            "programmes/project_conflict.html", conflict=conflict, form=form, rows=versions.rows(form, conflict),
            heading=_("Someone else saved this project while you were editing it"),
            action=url_for("programmes.edit_project", project_id=project_id), submit=_("Save the project"),
            discard=back, project=conflict.record), 409
    except operations.ProgrammeError as exc:
        return _refused(form, shown, exc)
    submissions.consume(form, url_for("programmes.project", project_id=project_id))
    db.session.commit()
    flash(_("Project saved."), "success")
    return redirect(url_for("programmes.project", project_id=project_id), code=303)


@bp.get("/projects/<int:project_id>/financial.xlsx")
@requires(Action.PROJECT_VIEW)
def financial_export(project_id):
    shown = operations.open_project(current_user, project_id)
    report = exports.financial_report(shown, current_user.organisation_id)
    # Written before the commit: committing expires the requests the workbook reads, which would then be loaded
    # again one by one with their approvals and payment (three queries per request, 30,000 at 100,000 cases).
    response = exports.download(report, f"{shown.code}-financial")
    record_event("project.export", object_type="project", object_id=shown.id, actor=current_user,
                 details={"format": "xlsx", "requests": len(report.requests), "lines": len(report.lines),
                          "rates": len(report.rates)})
    db.session.commit()
    return response


# Exchange rates ----------------------------------------------------------------------------------------------------


def _rates_page(form, status: int = 200):
    rates = paginate(queries.rates_query(current_user.organisation_id), RATES_PER_PAGE)
    names = queries.user_names({r.recorded_by_id for r in rates.items})
    return render_template("programmes/rates.html", form=form, rates=rates, names=names,
                           format_rate=money.format_rate), status


@bp.route("/finance/rates", methods=["GET", "POST"])
@requires(Action.RATES_MANAGE)
def rates():
    if request.method == "GET":
        return _rates_page(forms.RateForm(formdata=None, data={"quote_currency": "USD",
                                                               "month": date.today().strftime("%Y-%m")}))
    form = forms.RateForm()
    if not form.validate_on_submit():
        return _rates_page(form, 422)
    try:
        _row, corrected = operations.record_rate(current_user, form.data)
    except operations.ProgrammeError as exc:
        db.session.rollback()
        field = form._fields.get(exc.field or "")
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        else:
            flash(str(exc), "danger")
        return _rates_page(form, 422)
    submissions.consume(form, url_for("programmes.rates"))
    db.session.commit()
    if corrected:
        flash(_("Rate corrected. Requests already made keep the rate that was fixed on them."), "success")
    else:
        flash(_("Rate recorded."), "success")
    return redirect(url_for("programmes.rates"), code=303)


# The case's projects -----------------------------------------------------------------------------------------------


def _case_page(case, enrol_form=None, status: int = 200):
    org = current_user.organisation_id
    enrolments = queries.enrolments_of(case.id, org)
    records = attributable.records_of(current_user, case)
    charged = queries.attributions_of(case.id)
    # The projects each record can be charged to: those the case is enrolled in (by this organisation) that day.
    options = {}
    for rec in records:
        options[(rec.kind.code, rec.id)] = [
            p for p in {e.project_id: e.project for e in enrolments}.values()
            if any(e.project_id == p.id and e.enrolled_on <= rec.day and (e.ended_on is None or e.ended_on >= rec.day)
                   for e in enrolments) and p.starts_on <= rec.day <= p.ends_on]
    available = queries.projects_for(org)
    open_requests = {e.id: operations.open_requests(e) for e in enrolments if e.ended_on is None}
    return render_template(
        "programmes/case_index.html", case=case, enrolments=enrolments, records=records, charged=charged,
        options=options, open_requests=open_requests, record_kinds=RECORD_KINDS,
        enrol_form=enrol_form or forms.EnrolForm(formdata=None, data={"enrolled_on": date.today()},
                                                 projects=available),
        end_form=forms.EndEnrolmentForm(formdata=None, data={"ended_on": date.today()}),
        attribution_form=forms.AttributionForm(formdata=None), available=available,
        project_names={p.id: p.code for p in available},
        names=queries.user_names({e.enrolled_by_id for e in enrolments}),
    ), status


def _back(case_id: str):
    return redirect(url_for("programmes.case_index", case_id=case_id), code=303)


@bp.get("/cases/<case_id>/programmes")
@requires(Action.ENROLMENT_MANAGE)
def case_index(case_id):
    case = operations.open_page(current_user, case_id)
    db.session.commit()  # the view event
    return _case_page(case)


@bp.post("/cases/<case_id>/programmes/enrol")
@requires(Action.ENROLMENT_MANAGE)
def enrol(case_id):
    case = operations.load_case(current_user, case_id)
    form = forms.EnrolForm(projects=queries.projects_for(current_user.organisation_id))
    if not form.validate_on_submit():
        return _case_page(case, form, 422)
    try:
        operations.enrol(current_user, case, form.project_id.data, form.enrolled_on.data)
    except operations.ProgrammeError as exc:
        db.session.rollback()
        field = form._fields.get(exc.field or "")
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        flash(str(exc), "danger")
        return _case_page(case, form, 422)
    submissions.consume(form, url_for("programmes.case_index", case_id=case.id))
    db.session.commit()
    flash(_("Case enrolled."), "success")
    return _back(case.id)


@bp.post("/cases/<case_id>/programmes/enrolments/<enrolment_id>/end")
@requires(Action.ENROLMENT_MANAGE)
def end_enrolment(case_id, enrolment_id):
    case = operations.load_case(current_user, case_id)
    enrolment = operations.load_enrolment(current_user, case, enrolment_id)
    form = forms.EndEnrolmentForm()
    if not form.validate_on_submit():
        flash(_("Give the day the enrolment ended."), "danger")
        return _case_page(case, status=422)
    try:
        operations.end_enrolment(current_user, enrolment, form.ended_on.data)
    except operations.ProgrammeError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _case_page(case, status=422)
    db.session.commit()
    flash(_("Enrolment ended."), "success")
    return _back(case.id)


@bp.post("/cases/<case_id>/programmes/attributions")
@requires(Action.ENROLMENT_MANAGE)
def attribute(case_id):
    case = operations.load_case(current_user, case_id)
    form = forms.AttributionForm()
    if not form.validate_on_submit():
        flash(_("This form could not be recognised, so nothing was saved. Please check it and submit it again."),
              "danger")
        return _case_page(case, status=422)
    try:
        done = operations.attribute(current_user, case, form.kind.data or "", form.record_id.data or "",
                                    form.project_id.data)
    except operations.ProgrammeError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _case_page(case, status=422)
    db.session.commit()
    flash(_("Charged to the project.") if done is not None else _("No longer charged to a project."), "success")
    return _back(case.id)
