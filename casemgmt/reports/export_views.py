"""The exports page and its downloads. Every download commits its audit event before the first byte is sent: if the
record cannot be saved, nothing leaves."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.auth.login import recheck_passphrase
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.reports import deidentified, exports
from casemgmt.reports.blueprint import bp
from casemgmt.reports.drilldown import describe
from casemgmt.reports.filters import assignee_choices, parse, project_choices
from casemgmt.reports.forms import (
    CaseloadExportForm,
    DeidentifiedExportForm,
    DeidentifiedPreviewForm,
    IdentifiedExportForm,
)
from casemgmt.reports.spreadsheets import download

REPORT_PAGES = (
    ("reports.dashboard", _l("Dashboard")),
    ("reports.donor", _l("Donor report")),
    ("reports.exports", _l("Exports")),
)


def _settings():
    return current_app.config["SETTINGS"]


def _filters():
    """(filters, filter form, (assignees, projects)) from the query string: every form of the page posts to a URL
    that carries the filters, so an export is always of the cohort the page counted."""
    assignees = assignee_choices(current_user.organisation_id)
    projects = project_choices(current_user.organisation_id)
    filters, form = parse(request.args, assignees, default=None, projects=projects)
    return filters, form, (assignees, projects)


def _page(scope, status: int = 200, **forms):
    """The exports page, with the given forms (those that failed validation, a preview) in place of blank ones."""
    filters, filter_form, names = scope
    minimum_k = _settings().disclosure_k
    preview = forms.pop("preview", None)
    context = {
        "filters": filters,
        "filter_form": filter_form,
        "summary": describe(filters, *names),
        "count": exports.cohort_count(current_user.organisation_id, filters),
        "filter_args": filters.args(),
        "report_pages": [(e, label) for e, label in REPORT_PAGES if e in current_app.view_functions],
        "caseload_form": forms.get("caseload_form") or CaseloadExportForm(prefix="caseload", formdata=None),
        "identified_form": None,
        "deidentified_form": None,
        "preview_form": None,
        "preview": preview,
        "column_labels": deidentified.COLUMN_LABELS,
        "level_name": deidentified.level_name,
        "minimum_k": minimum_k,
    }
    if allowed(current_user, Action.EXPORT_IDENTIFIED):
        context["identified_form"] = forms.get("identified_form") or IdentifiedExportForm(prefix="identified",
                                                                                          formdata=None)
    if allowed(current_user, Action.EXPORT_DEIDENTIFIED):
        context["preview_form"] = forms.get("preview_form") or DeidentifiedPreviewForm(minimum_k=minimum_k)
        context["deidentified_form"] = forms.get("deidentified_form") or DeidentifiedExportForm(
            prefix="deidentified", formdata=None, minimum_k=minimum_k)
    return render_template("reports/exports.html", **context), status


def _filename(kind: str) -> str:
    return f"{kind}-{utcnow():%Y%m%d-%H%M}"


@bp.get("/exports", endpoint="exports")
@requires(Action.EXPORT_CASELOAD)
def exports_page():
    return _page(_filters())


@bp.post("/exports/caseload")
@requires(Action.EXPORT_CASELOAD)
def export_caseload():
    scope = filters, filter_form, _assignees = _filters()
    form = CaseloadExportForm(prefix="caseload")
    if filter_form.errors or not form.validate_on_submit():
        return _page(scope, 422, caseload_form=form)
    rows = exports.record_caseload_export(current_user, filters, form.format.data)
    db.session.commit()
    return download(form.format.data, _filename("caseload"), exports.CASELOAD_HEADER,
                    exports.caseload_rows(current_user.organisation_id, filters, limit=rows), sheet="caseload")


@bp.post("/exports/identified")
@requires(Action.EXPORT_IDENTIFIED)
def export_identified():
    scope = filters, filter_form, _assignees = _filters()
    form = IdentifiedExportForm(prefix="identified")
    if filter_form.errors or not form.validate_on_submit():
        return _page(scope, 422, identified_form=form)
    if not recheck_passphrase(current_user._get_current_object(), form.password.data):
        exports.record_identified_denied(current_user, filters, form.format.data)
        db.session.commit()
        form.password.errors.append(_("Your passphrase is not correct."))
        return _page(scope, 422, identified_form=form)
    rows = exports.record_identified_export(current_user, filters, form.format.data)
    db.session.commit()
    return download(form.format.data, _filename("caseload-identified"), exports.IDENTIFIED_HEADER,
                    exports.identified_rows(current_user.organisation_id, filters, limit=rows), sheet="caseload")


@bp.get("/exports/deidentified/preview")
@requires(Action.EXPORT_DEIDENTIFIED)
def deidentified_preview():
    scope = filters, filter_form, _assignees = _filters()
    form = DeidentifiedPreviewForm(request.args, minimum_k=_settings().disclosure_k)
    if filter_form.errors or not form.validate():
        return _page(scope, 422, preview_form=form)
    released = _release(filters, form.k.data)
    download_form = DeidentifiedExportForm(prefix="deidentified", formdata=None, minimum_k=_settings().disclosure_k)
    download_form.k.data = form.k.data
    return _page(scope, preview=released, preview_form=form, deidentified_form=download_form)


@bp.post("/exports/deidentified")
@requires(Action.EXPORT_DEIDENTIFIED)
def export_deidentified():
    scope = filters, filter_form, _assignees = _filters()
    form = DeidentifiedExportForm(prefix="deidentified", minimum_k=_settings().disclosure_k)
    if filter_form.errors or not form.validate_on_submit():
        return _page(scope, 422, deidentified_form=form)
    released = _release(filters, form.k.data)
    deidentified.record_export(current_user, filters, form.format.data, released)
    db.session.commit()
    return download(form.format.data, _filename("deidentified"), deidentified.HEADER, deidentified.rows(released),
                    sheet="deidentified")


def _release(filters, k: int):
    share = _settings().deidentified_max_suppression_percent / 100
    return deidentified.release(current_user.organisation_id, filters, k, max_suppression=share)

