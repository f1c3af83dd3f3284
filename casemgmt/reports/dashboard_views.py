"""The supervisor dashboard page: the numbers from reports.dashboard as cards and charts, each linked to its cases."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.audit import record_event
from casemgmt.extensions import db
from casemgmt.reports import dashboard as queries
from casemgmt.reports import families
from casemgmt.reports.blueprint import bp
from casemgmt.reports.charts import ChartRow, ChartSpec
from casemgmt.reports.drilldown import describe, figure_url
from casemgmt.reports.figures import APPROVALS, RETURN_PIPELINE, VISIT_DUE_WINDOW_DAYS, key, today_context
from casemgmt.reports.filters import ReportFilters, assignee_choices, default_period, parse, project_choices


@bp.get("/")
@requires(Action.REPORT_VIEW)
def dashboard():
    org_id = current_user.organisation_id
    assignees = assignee_choices(org_id)
    projects = project_choices(org_id)
    filters, form = parse(request.args, assignees, default=default_period(), projects=projects)
    data = queries.build(today_context(org_id, filters))
    record_event("report.dashboard", object_type="organisation", object_id=org_id, actor=current_user,
                 details={"filters": filters.args(), "cases": data.headline.cases})
    db.session.commit()
    return render_template(
        "reports/dashboard.html", form=form, summary=describe(filters, assignees, projects), data=data,
        cards=_cards(data, filters), charts=_charts(data, filters), sustainability=_sustainability_chart(data),
        visited_url=figure_url(key("visited"), filters), stays=_stays(data, filters),
    )


@dataclass
class Card:
    title: str
    value: int
    href: str
    note: str | None = None


def _cards(data: queries.Dashboard, filters: ReportFilters) -> list[Card]:
    h = data.headline
    return [
        Card(_("Cases in the period"), h.cases, figure_url(key("cohort"), filters)),
        Card(_("Open cases"), h.open, figure_url(key("open"), filters), _("Still open today")),
        Card(_("Cases with overdue tasks"), h.cases_with_overdue_tasks, figure_url(key("tasks_overdue"), filters),
             _("%(num)s overdue tasks in all", num=h.overdue_tasks)),
        Card(_("Monitoring visits overdue"), h.visits_overdue, figure_url(key("visits", "overdue"), filters)),
        Card(_("Monitoring visits due soon"), h.visits_due, figure_url(key("visits", "due"), filters),
             _("Within %(days)s days", days=VISIT_DUE_WINDOW_DAYS)),
        *(Card(str(title), h.approvals[name], figure_url(key("approval", name), filters))
          for name, (_condition, title) in APPROVALS.items()),
        *_family_cards(data, filters),
    ]


def _family_cards(data: queries.Dashboard, filters: ReportFilters) -> list[Card]:
    counts = data.families
    children, reunified = key("child", families.YES), key("reunified", families.YES)
    return [
        Card(_("Children assisted"), counts.get(children), figure_url(children, filters),
             _("Under 18, or recorded as a child")),
        Card(_("Families reunified in the period"), counts.get(reunified), figure_url(reunified, filters),
             _("%(num)s family members joined in the period", num=counts.joined)),
    ]


def _charts(data: queries.Dashboard, filters: ReportFilters) -> list[ChartSpec]:
    return [_stage_chart(data, filters), _assignee_chart(data, filters), _monthly_chart(data, filters),
            _returns_chart(data, filters), _occupancy_chart(data, filters), *_family_charts(data, filters)]


def _family_charts(data: queries.Dashboard, filters: ReportFilters) -> list[ChartSpec]:
    """Tracing requests, determinations and statuses granted, per code: the cases (the link's list) and the rows."""
    counts = data.families

    def spec(group: families.Group, title: str, rows_name: str, caption: str) -> ChartSpec:
        rows = [ChartRow(group.line_label(code), [counts.get(key(group.name, code)),
                                                  counts.rows.get(key(group.name, code), 0)],
                         figure_url(key(group.name, code), filters))
                for code in group.codes]
        return ChartSpec(title, [_("Cases"), rows_name], rows, kind="hbar", id=f"chart-{group.name}",
                         caption=caption)

    return [
        spec(families.TRACING, _("Tracing requests opened in the period, by outcome"), _("Requests"),
             _("By the request's status today; a case can have several requests.")),
        spec(families.BID, _("Best-interests determinations in the period, by recommendation"),
             _("Determinations"), _("Determinations the panel made during the period.")),
        spec(families.GRANTED, _("Protection status granted in the period, by kind"), _("Statuses"),
             _("Statuses whose grant is dated in the period.")),
    ]


def _stage_chart(data, filters):
    rows = [ChartRow(str(htcds.STAGES.label(stage)), [n], figure_url(key("stage", stage), filters))
            for stage, n in data.stages.items()]
    return ChartSpec(_("Caseload by stage"), [_("Cases")], rows, kind="bar", id="chart-stage")


def _assignee_chart(data, filters):
    rows = [ChartRow(load.name if load.user_id is not None else _("Not assigned"), [load.cases],
                     figure_url(key("assignee", load.user_id or 0), filters))
            for load in data.assignees]
    return ChartSpec(_("Caseload by caseworker"), [_("Cases")], rows, kind="hbar", id="chart-assignee")


def _monthly_chart(data, filters):
    rows = [ChartRow(format_date(month, "MMM y"), [n], figure_url(key("opened", month.strftime("%Y-%m")), filters))
            for month, n in data.new_per_month.items()]
    caption = _("The period has no start or no end, so this chart shows the last 12 months.") \
        if data.month_range.fallback else None
    return ChartSpec(_("New cases per month"), [_("Cases")], rows, kind="bar", caption=caption, id="chart-monthly")


def _returns_chart(data, filters):
    rows = [ChartRow(str(label), [data.headline.returns[step]], figure_url(key("return", step), filters))
            for step, (_statuses, label) in RETURN_PIPELINE.items()]
    return ChartSpec(_("Returns pipeline"), [_("Cases")], rows, kind="bar", id="chart-returns",
                     caption=_("Cases with a return plan at each step; cancelled plans are not counted."))


def _occupancy_chart(data, filters):
    rows = [ChartRow(f.name, [f.occupied, f.capacity], figure_url(key("facility", f.facility_id), filters))
            for f in data.facilities]
    return ChartSpec(_("Shelter occupancy"), [_("Occupied"), _("Capacity")], rows, kind="bar", id="chart-shelter",
                     caption=_("Occupied: cases in this report placed there now, against the beds available."))


def _sustainability_chart(data):
    s = data.sustainability
    rows = [ChartRow(_("Economic"), [s.economic]), ChartRow(_("Social"), [s.social]),
            ChartRow(_("Psychosocial"), [s.psychosocial])]
    return ChartSpec(_("Average sustainability scores"), [_("Average (1-5)")], rows, kind="bar",
                     id="chart-sustainability", extra={"range": (0, 5)},
                     caption=_("Monitoring visits in the period; 1 = not sustainable, 5 = fully sustainable."))


@dataclass
class StayRow:
    label: str
    median_days: str  # formatted for the locale, one decimal
    stays: int
    cases: int
    href: str


def _stays(data, filters) -> tuple[ChartSpec, list[StayRow]]:
    """The median chart, and its table (days, stays and the cases behind them), which the generic chart table
    cannot show: its links count cases, not days."""
    rows, bars = [], []
    for stage, stay in data.stays.items():
        label = str(htcds.STAGES.label(stage))
        rows.append(StayRow(label, format_decimal(stay.median_days, "0.0"), stay.stays, stay.cases,
                            figure_url(key("stay", stage), filters)))
        bars.append(ChartRow(label, [stay.median_days]))
    spec = ChartSpec(_("Median days in each stage"), [_("Median days")], bars, kind="hbar", id="chart-stays",
                     caption=_("Stays that ended during the period: from entering a stage to the next change."))
    return spec, rows
