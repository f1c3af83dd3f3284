"""The donor report page (exact figures, or the version that may be shared) and its downloads (always shared)."""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.audit import record_event
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.reports import donor
from casemgmt.reports.blueprint import bp
from casemgmt.reports.charts import ChartRow, ChartSpec
from casemgmt.reports.drilldown import describe, figure_url
from casemgmt.reports.filters import assignee_choices, parse
from casemgmt.reports.spreadsheets import download


def _report(shared: bool):
    """(report, filter form, filters in words) for the query string; the period defaults to this year so far."""
    org_id = current_user.organisation_id
    assignees = assignee_choices(org_id)
    filters, form = parse(request.args, assignees)
    filters = donor.donor_period(filters, utcnow().date())
    form.start.data, form.end.data = filters.start, filters.end
    report = donor.build(org_id, filters)
    if shared:
        report = donor.shared(report, current_app.config["SETTINGS"].disclosure_k)
    return report, form, describe(filters, assignees)


@bp.get("/donor", endpoint="donor")
@requires(Action.REPORT_VIEW)
def donor_page():
    shared = request.args.get("shared") == "1"
    report, form, summary = _report(shared)
    record_event("report.donor", object_type="organisation", object_id=current_user.organisation_id,
                 actor=current_user, details={"filters": report.filters.args(), "shared": shared})
    db.session.commit()
    args = report.filters.args()
    return render_template(
        "reports/donor.html", report=report, form=form, summary=summary, charts=_charts(report),
        link=lambda key: figure_url(key, report.filters),
        exact_url=url_for("reports.donor", **args), shared_url=url_for("reports.donor", shared="1", **args),
        csv_url=url_for("reports.donor_csv", **args), xlsx_url=url_for("reports.donor_xlsx", **args),
        mark=donor.hidden_mark(report.k) if report.shared else "",
    )


@bp.get("/donor.csv", endpoint="donor_csv")
@requires(Action.REPORT_VIEW)
def donor_csv():
    return _download("csv")


@bp.get("/donor.xlsx", endpoint="donor_xlsx")
@requires(Action.REPORT_VIEW)
def donor_xlsx():
    return _download("xlsx")


def _download(fmt: str):
    """Always the shared version: whatever is downloaded can be forwarded."""
    report, _form, summary = _report(shared=True)
    header, rows = donor.file_rows(report, summary)
    record_event("report.donor_export", object_type="organisation", object_id=current_user.organisation_id,
                 actor=current_user,
                 details={"filters": report.filters.args(), "format": fmt, "suppressed": report.suppressed})
    db.session.commit()
    return download(fmt, f"donor-report-{utcnow():%Y%m%d-%H%M}", header, rows, sheet=_("Donor report"))


def _charts(report: donor.DonorReport) -> list[ChartSpec]:
    def spec(table: donor.Table, kind: str) -> ChartSpec:
        rows = [ChartRow(line.label, [line.count], figure_url(line.key, report.filters) if line.key else None)
                for line in table.lines]
        return ChartSpec(title=table.title, series=[_("Persons")], rows=rows, kind=kind, id=f"chart-{table.id}")

    return [
        spec(report.gender, "bar"),
        spec(report.age, "bar"),
        spec(report.exploitation, "hbar"),
        spec(report.services, "hbar"),
    ]
