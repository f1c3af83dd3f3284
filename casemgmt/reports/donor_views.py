"""The donor report page (exact figures, or the version that may be shared) and its downloads (always shared)."""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.audit import record_event
from casemgmt.core.money import format_money
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.reports import donor
from casemgmt.reports.blueprint import bp
from casemgmt.reports.charts import ChartRow, ChartSpec
from casemgmt.reports.drilldown import describe, figure_url
from casemgmt.reports.filters import assignee_choices, parse, project_choices
from casemgmt.reports.spreadsheets import download

# A project or donor filter that names no project of the organisation: answered 422 with the form's error, as any
# unknown project, never with the organisation's whole report under the project's name.
PROGRAMME_FIELDS = ("project", "donor")


def _report(shared: bool):
    """(report, filter form, filters in words, refused) for the query string; the period defaults to this year so
    far. `refused` is true when a project or donor filter was not one of the organisation's."""
    org_id = current_user.organisation_id
    assignees = assignee_choices(org_id)
    projects = project_choices(org_id)
    filters, form = parse(request.args, assignees, projects=projects)
    filters = donor.donor_period(filters, utcnow().date())
    form.start.data, form.end.data = filters.start, filters.end
    report = donor.build(org_id, filters)
    if shared:
        report = donor.shared(report, current_app.config["SETTINGS"].disclosure_k)
    refused = any(name in form.errors for name in PROGRAMME_FIELDS)
    return report, form, describe(filters, assignees, projects), refused


@bp.get("/donor", endpoint="donor")
@requires(Action.REPORT_VIEW)
def donor_page():
    shared = request.args.get("shared") == "1"
    report, form, summary, refused = _report(shared)
    record_event("report.donor", object_type="organisation", object_id=current_user.organisation_id,
                 actor=current_user, details={"filters": report.filters.args(), "shared": shared})
    db.session.commit()
    return _page(report, form, summary, 422 if refused else 200)


def _page(report: donor.DonorReport, form, summary: str, status: int):
    args = report.filters.args()
    k = report.k
    return render_template(
        "reports/donor.html", report=report, form=form, summary=summary, charts=_charts(report),
        link=lambda key: figure_url(key, report.filters),
        exact_url=url_for("reports.donor", **args), shared_url=url_for("reports.donor", shared="1", **args),
        csv_url=url_for("reports.donor_csv", **args), xlsx_url=url_for("reports.donor_xlsx", **args),
        hidden_label=(lambda reason, amount=False: donor.hidden_label(reason, k, amount)),
        format_money=format_money, notes=donor.notes(report) if report.shared else [],
    ), status


@bp.get("/donor.csv", endpoint="donor_csv")
@requires(Action.REPORT_VIEW)
def donor_csv():
    return _download("csv")


@bp.get("/donor.xlsx", endpoint="donor_xlsx")
@requires(Action.REPORT_VIEW)
def donor_xlsx():
    return _download("xlsx")


def _download(fmt: str):
    """Always the shared version: whatever is downloaded can be forwarded. A refused project filter gets the page
    with its error (422), not a file that would claim a scope it does not have."""
    report, form, summary, refused = _report(shared=True)
    if refused:
        return _page(report, form, summary, 422)
    header, rows = donor.file_rows(report, summary)
    record_event("report.donor_export", object_type="organisation", object_id=current_user.organisation_id,
                 actor=current_user,
                 details={"filters": report.filters.args(), "format": fmt, "suppressed": report.suppressed})
    db.session.commit()
    return download(fmt, f"donor-report-{utcnow():%Y%m%d-%H%M}", header, rows, sheet=_("Donor report"))


def _charts(report: donor.DonorReport) -> list[ChartSpec]:
    """The persons of each table as bars. In the shared version only the numbers shown are drawn; the hidden ones
    are named in the data table with their reason, and the caption says how many there are."""

    def spec(table, kind: str) -> ChartSpec:
        lines = [getattr(line, "persons", line) for line in table.lines]
        rows = [ChartRow(line.label, [line.count], figure_url(line.key, report.filters) if line.key else None,
                         display=[donor.hidden_label(line.reason, report.k)] if line.hidden else None)
                for line in lines]
        hidden = sum(line.hidden for line in lines)
        note = ngettext(
            "%(num)d category hidden: fewer than %(k)d persons, or suppressed to protect them.",
            "%(num)d categories hidden: fewer than %(k)d persons, or suppressed to protect them.",
            hidden, k=report.k) if hidden else None
        return ChartSpec(title=table.title, series=[_("Persons")], rows=rows, kind=kind, id=f"chart-{table.id}",
                         hidden_note=note)

    return [
        spec(report.gender, "bar"),
        spec(report.age, "bar"),
        spec(report.exploitation, "hbar"),
        spec(report.services, "hbar"),
        spec(report.spend, "hbar"),
    ]
