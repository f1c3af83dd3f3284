"""The list behind a figure: the case list shows `cohort AND figure` when a report links to it.

Report filters travel on the case list's query string with an `r_` prefix, so they never mix with the list's own
filters (which have the same names, e.g. `assignee`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.reports import figures
from casemgmt.reports.filters import ProjectChoices, ReportFilters, assignee_choices, conditions, parse, project_choices

PREFIX = "r_"


@dataclass
class DrillDown:
    label: str
    summary: str
    conditions: list
    # Query-string arguments that keep the list on this figure (pager, list filters).
    args: dict[str, str]


def figure_url(key: str, filters: ReportFilters) -> str:
    return url_for("cases.index", figure=key, **{PREFIX + k: v for k, v in filters.args().items()})


def describe(filters: ReportFilters, assignees: list[tuple[int, str]] | None = None,
             projects: ProjectChoices | None = None) -> str:
    """The filters in words, for headings and for the list banner."""
    parts = []
    if filters.start and filters.end:
        parts.append(_("%(start)s to %(end)s", start=format_date(filters.start), end=format_date(filters.end)))
    elif filters.start:
        parts.append(_("from %(start)s", start=format_date(filters.start)))
    elif filters.end:
        parts.append(_("until %(end)s", end=format_date(filters.end)))
    if filters.citizenship:
        parts.append(_("citizenship %(country)s", country=htcds.country_name(filters.citizenship)))
    if filters.exploitation_country:
        parts.append(_("exploited in %(country)s", country=htcds.country_name(filters.exploitation_country)))
    if filters.exploitation:
        parts.append(str(htcds.EXPLOITATION_TYPES.label(filters.exploitation)))
    if filters.assignee is not None:
        names = dict(assignees or [])
        parts.append(_("not assigned") if filters.assignee == 0 else
                     _("assigned to %(name)s", name=names.get(filters.assignee, "?")))
    if filters.project is not None:
        name = dict(projects.projects if projects else ()).get(filters.project, "?")
        parts.append(_("project %(project)s", project=name))
    if filters.donor is not None:
        name = dict(projects.donors if projects else ()).get(filters.donor, "?")
        parts.append(_("projects funded by %(donor)s", donor=name))
    return "; ".join(parts)


def report_figure(user, args: MultiDict) -> DrillDown | None:
    """The figure a report linked to, for users who may read reports; None when the list is not a drill-down."""
    if "figure" not in args or not allowed(user, Action.REPORT_VIEW):
        return None
    assignees = assignee_choices(user.organisation_id)
    report_args = MultiDict([(k[len(PREFIX):], v) for k, v in args.items(multi=True) if k.startswith(PREFIX)])
    projects = project_choices(user.organisation_id)
    filters, form = parse(report_args, assignees, projects=projects)
    if form.errors:
        # A list that silently dropped a filter would not be the list behind the figure.
        abort(404)
    resolved = figures.resolve(args.get("figure"), figures.today_context(user.organisation_id, filters))
    if resolved is None:
        abort(404)
    condition, label = resolved
    kept = {"figure": args["figure"], **{PREFIX + k: v for k, v in filters.args().items()}}
    return DrillDown(label=label, summary=describe(filters, assignees, projects),
                     conditions=[*conditions(user.organisation_id, filters), condition], args=kept)
