"""Figures: named conditions on Case that a report counts and the case list can show.

A figure key is `name` or `name:argument` ("stage:shelter", "facility:3", "tasks_overdue"). The dashboard counts
`cohort AND figure` and links to `/cases?figure=<key>&<filters>`, which lists exactly `cohort AND figure`; one
definition serves both, which is what keeps a total and its list equal (a test walks every link).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, func, select

from casemgmt import htcds
from casemgmt.cases.models import Case, CaseCode, Person
from casemgmt.core.time import utcnow
from casemgmt.reports.filters import ReportFilters, related

# A monitoring visit falls "due" this many days before its date.
VISIT_DUE_WINDOW_DAYS = 14


@dataclass(frozen=True)
class FigureContext:
    organisation_id: int
    filters: ReportFilters
    today: date


@dataclass(frozen=True)
class Figure:
    name: str
    condition: Callable[[str, FigureContext], ColumnElement[bool] | None]
    label: Callable[[str], str]


FIGURES: dict[str, Figure] = {}


def register(name: str, label: Callable[[str], str]):
    def add(condition):
        FIGURES[name] = Figure(name, condition, label)
        return condition

    return add


def resolve(key: str | None, ctx: FigureContext) -> tuple[ColumnElement[bool], str] | None:
    """(condition, label) for a figure key, or None for a key that names no figure."""
    if not key or len(key) > 80:
        return None
    name, _sep, arg = key.partition(":")
    figure = FIGURES.get(name)
    if figure is None:
        return None
    try:
        condition = figure.condition(arg, ctx)
    except (ValueError, LookupError):
        return None
    return None if condition is None else (condition, str(figure.label(arg)))


def key(name: str, arg: object | None = None) -> str:
    return name if arg is None else f"{name}:{arg}"


def today_context(organisation_id: int, filters: ReportFilters) -> FigureContext:
    return FigureContext(organisation_id, filters, utcnow().date())


# --- the case record -------------------------------------------------------------------------------------------


@register("stage", lambda arg: _l("Stage: %(stage)s", stage=htcds.STAGES.label(arg)))
def _stage(arg, ctx):
    return Case.stage == arg if arg in htcds.STAGES else None


@register("assignee", lambda arg: _l("Assigned caseworker") if arg != "0" else _l("Not assigned"))
def _assignee(arg, ctx):
    if not arg.isdigit():
        return None
    return Case.assigned_to_id.is_(None) if arg == "0" else Case.assigned_to_id == int(arg)


def _month_label(arg: str) -> str:
    from flask_babel import format_date

    year, month = (int(x) for x in arg.split("-"))
    return format_date(date(year, month, 1), "MMMM y")


@register("opened", lambda arg: _l("Registered in %(month)s", month=_month_label(arg)))
def _opened(arg, ctx):
    year, month = (int(x) for x in arg.split("-"))
    first = datetime(year, month, 1)
    after = datetime(year + (month == 12), month % 12 + 1, 1)
    return and_(Case.created_at >= first, Case.created_at < after)


@register("gender", lambda arg: _l("Gender: %(value)s", value=htcds.GENDER.label(arg) if arg else _l("Not recorded")))
def _gender(arg, ctx):
    if arg and arg not in htcds.GENDER:
        return None
    person = Person.gender == arg if arg else Person.gender.is_(None)
    return related(Person.case_id, person)


@register("age", lambda arg: _l("Age band: %(value)s", value=htcds.AGE_BANDS.label(arg)))
def _age(arg, ctx):
    if arg not in htcds.AGE_BANDS:
        return None
    # "unknown" is stored as such, but older rows may have no band at all.
    band = Person.age_band.is_(None) | (Person.age_band == arg) if arg == "unknown" else Person.age_band == arg
    return related(Person.case_id, band)


@register("citizenship", lambda arg: _l("Citizenship: %(value)s", value=htcds.country_name(arg) or _l("Not recorded")))
def _citizenship(arg, ctx):
    if arg and arg not in htcds.country_codes():
        return None
    value = Person.citizenship == arg if arg else Person.citizenship.is_(None)
    return related(Person.case_id, value)


@register("exploitation", lambda arg: _l("Type of exploitation: %(value)s", value=htcds.EXPLOITATION_TYPES.label(arg)))
def _exploitation(arg, ctx):
    if arg not in htcds.EXPLOITATION_TYPES:
        return None
    return related(CaseCode.case_id, CaseCode.kind == "exploitation", CaseCode.code == arg)


# --- work in progress ------------------------------------------------------------------------------------------


@register("tasks_overdue", lambda arg: _l("Cases with overdue tasks"))
def _tasks_overdue(arg, ctx):
    from casemgmt.tasks.models import Task

    return related(Task.case_id, Task.done_at.is_(None), Task.due_on < ctx.today)


def _approval_return(ctx):
    from casemgmt.returns.models import ReturnPlan

    return related(ReturnPlan.case_id, ReturnPlan.status == "submitted")


def _approval_closure(ctx):
    from casemgmt.journey.models import ClosureRequest

    return related(ClosureRequest.case_id, ClosureRequest.status == "requested")


def _approval_transfer(ctx):
    from casemgmt.referrals.models import Transfer

    return related(Transfer.case_id, Transfer.status == "requested",
                          Transfer.from_organisation_id == ctx.organisation_id)


APPROVALS = {
    "return": (_approval_return, _l("Return plans waiting for approval")),
    "closure": (_approval_closure, _l("Closure requests waiting for approval")),
    "transfer": (_approval_transfer, _l("Transfers waiting for approval")),
}


@register("approval", lambda arg: APPROVALS[arg][1])
def _approval(arg, ctx):
    return APPROVALS[arg][0](ctx) if arg in APPROVALS else None


@register("facility", lambda arg: _l("In shelter now"))
def _facility(arg, ctx):
    from casemgmt.shelter.models import Placement

    if not arg.isdigit():
        return None
    return related(Placement.case_id, Placement.facility_id == int(arg),
                          Placement.discharged_on.is_(None))


# The returns pipeline: a plan is "planned" until approved; a cancelled plan is in no column.
RETURN_PIPELINE = {
    "planned": (("draft", "submitted"), _l("Planned")),
    "approved": (("approved",), _l("Approved")),
    "departed": (("departed",), _l("Departed")),
    "arrived": (("arrived",), _l("Arrived")),
}


@register("return", lambda arg: _l("Returns: %(step)s", step=RETURN_PIPELINE[arg][1]))
def _return(arg, ctx):
    from casemgmt.returns.models import ReturnPlan

    if arg not in RETURN_PIPELINE:
        return None
    return related(ReturnPlan.case_id, ReturnPlan.status.in_(RETURN_PIPELINE[arg][0]))


def latest_visits(organisation_id: int):
    """Each case's latest monitoring visit (case_id, next_visit_due), ranked with a window function: one pass over
    the organisation's visits instead of a sorted look-up per case."""
    from casemgmt.reintegration.models import MonitoringVisit

    own_cases = select(Case.id).where(Case.organisation_id == organisation_id)
    ranked = select(
        MonitoringVisit.case_id,
        MonitoringVisit.next_visit_due,
        func.row_number().over(
            partition_by=MonitoringVisit.case_id,
            order_by=(MonitoringVisit.visited_on.desc(), MonitoringVisit.created_at.desc(), MonitoringVisit.id),
        ).label("rn"),
    ).where(MonitoringVisit.case_id.in_(own_cases)).subquery("ranked_visits")
    return select(ranked.c.case_id, ranked.c.next_visit_due).where(ranked.c.rn == 1).subquery("latest_visits")


VISITS = {"due": _l("Monitoring visits due soon"), "overdue": _l("Monitoring visits overdue")}


@register("visits", lambda arg: VISITS[arg])
def _visits(arg, ctx):
    if arg not in VISITS:
        return None
    latest = latest_visits(ctx.organisation_id)
    due = latest.c.next_visit_due
    if arg == "overdue":
        when = due < ctx.today
    else:
        when = and_(due >= ctx.today, due <= ctx.today + timedelta(days=VISIT_DUE_WINDOW_DAYS))
    return and_(Case.stage != "closed", Case.id.in_(select(latest.c.case_id).where(when)))


def period_bounds(ctx: FigureContext) -> tuple[datetime | None, datetime | None]:
    return ctx.filters.bounds()


def day_bounds(ctx: FigureContext) -> tuple[date | None, date | None]:
    """The period as dates, [start, end] inclusive, for date columns."""
    return ctx.filters.start, ctx.filters.end

