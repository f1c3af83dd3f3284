"""Figures: named conditions on Case that a report counts and the case list can show.

A figure key is `name` or `name:argument` ("stage:shelter", "facility:3", "tasks_overdue"). The dashboard counts
`cohort AND figure` and links to `/cases?figure=<key>&<filters>`, which lists exactly `cohort AND figure`; one
definition serves both, which is what keeps a total and its list equal (a test walks every link).

Most figures about work in progress are "the case has a related row" (an overdue task, a submitted plan). Those are
registered with their rows (`SELECT case_id FROM ...`, see register_rows): the list tests `cases.id IN (rows)`, and
a report counts the distinct case ids of the same rows that belong to the cohort, which reads the few rows instead of
probing every case of the cohort once per figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, case, select

from casemgmt import htcds
from casemgmt.cases.models import Case, CaseCode, Person
from casemgmt.core.params import parse_id, parse_int
from casemgmt.core.time import utcnow
from casemgmt.reports.filters import ReportFilters, related, related_rows

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
    # For a figure registered with register_rows: its related rows, `SELECT case_id FROM ...`.
    rows: Callable[[str, FigureContext], Select | None] | None = None


FIGURES: dict[str, Figure] = {}


def register(name: str, label: Callable[[str], str]):
    def add(condition):
        FIGURES[name] = Figure(name, condition, label)
        return condition

    return add


def register_rows(name: str, label: Callable[[str], str]):
    """A figure that holds when the case has a related row. The decorated function returns `SELECT case_id FROM ...`
    with one row per related row (None for an argument it does not know); the figure's condition is
    `cases.id IN (those rows)`, and rows() gives reports the same SELECT to count."""

    def add(make_rows):
        def condition(arg, ctx):
            selected = make_rows(arg, ctx)
            return None if selected is None else Case.id.in_(selected)

        FIGURES[name] = Figure(name, condition, label, make_rows)
        return make_rows

    return add


def rows(key: str, ctx: FigureContext) -> Select:
    """The related rows of a figure registered with register_rows (LookupError for any other key)."""
    name, _sep, arg = key.partition(":")
    figure = FIGURES[name]
    selected = figure.rows(arg, ctx) if figure.rows is not None else None
    if selected is None:
        raise LookupError(key)
    return selected


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
    except (ValueError, LookupError, OverflowError):  # OverflowError: a year of 30 digits
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
    assignee = parse_int(arg)  # ASCII digits within the database's integers, or no figure
    if assignee is None:
        return None
    return Case.assigned_to_id.is_(None) if assignee == 0 else Case.assigned_to_id == assignee


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


@register_rows("tasks_overdue", lambda arg: _l("Cases with overdue tasks"))
def _tasks_overdue(arg, ctx):
    from casemgmt.tasks.models import Task

    # One row per overdue task: the dashboard counts these rows too, as the number of overdue tasks.
    return related_rows(Task.case_id, Task.done_at.is_(None), Task.due_on < ctx.today)


def _approval_return(ctx):
    from casemgmt.returns.models import ReturnPlan

    return related_rows(ReturnPlan.case_id, ReturnPlan.status == "submitted")


def _approval_closure(ctx):
    from casemgmt.journey.models import ClosureRequest

    return related_rows(ClosureRequest.case_id, ClosureRequest.status == "requested")


def _approval_transfer(ctx):
    from casemgmt.referrals.models import Transfer

    return related_rows(Transfer.case_id, Transfer.status == "requested",
                        Transfer.from_organisation_id == ctx.organisation_id)


APPROVALS = {
    "return": (_approval_return, _l("Return plans waiting for approval")),
    "closure": (_approval_closure, _l("Closure requests waiting for approval")),
    "transfer": (_approval_transfer, _l("Transfers waiting for approval")),
}


@register_rows("approval", lambda arg: APPROVALS[arg][1])
def _approval(arg, ctx):
    return APPROVALS[arg][0](ctx) if arg in APPROVALS else None


def placed_now(placement) -> ColumnElement[bool]:
    """A placement that is still going (and was not deleted: a deleted placement frees its bed); the dashboard's
    occupancy counts these rows per facility."""
    return placement.holding_a_bed()


@register_rows("facility", lambda arg: _l("In shelter now"))
def _facility(arg, ctx):
    from casemgmt.shelter.models import Placement

    facility = parse_id(arg)
    if facility is None:
        return None
    return related_rows(Placement.case_id, Placement.facility_id == facility, placed_now(Placement))


# The returns pipeline: a plan is "planned" until approved; a cancelled plan is in no column.
RETURN_PIPELINE = {
    "planned": (("draft", "submitted"), _l("Planned")),
    "approved": (("approved",), _l("Approved")),
    "departed": (("departed",), _l("Departed")),
    "arrived": (("arrived",), _l("Arrived")),
}


def return_rows(ctx: FigureContext) -> Select:
    """(case_id, step) of the return plans in the pipeline: `step` is the figure's argument, and a cancelled plan has
    none. The dashboard counts every step from this one read of the plans (with no usable index on the status it is
    a plain scan, which SQLite does in a third of the time of an index search per plan)."""
    from casemgmt.returns.models import ReturnPlan

    step = case(*((ReturnPlan.status.in_(statuses), step) for step, (statuses, _label) in RETURN_PIPELINE.items()))
    return select(ReturnPlan.case_id, step.label("step")).where(ReturnPlan.case_id.is_not(None), step.is_not(None))


@register_rows("return", lambda arg: _l("Returns: %(step)s", step=RETURN_PIPELINE[arg][1]))
def _return(arg, ctx):
    if arg not in RETURN_PIPELINE:
        return None
    rows = return_rows(ctx).subquery("return_rows")
    return select(rows.c.case_id).where(rows.c.step == arg)


VISITS = {"due": _l("Monitoring visits due soon"), "overdue": _l("Monitoring visits overdue")}


def visits_condition(state: str, today: date) -> ColumnElement[bool]:
    """An open case whose latest monitoring visit planned the next one before today ("overdue") or from today to the
    end of the window ("due"). Case.next_visit_due holds that plan (reintegration.operations.refresh_next_visit), so
    this is a test of two columns of the case, which the dashboard counts in its one pass over the cohort."""
    due = Case.next_visit_due
    when = due < today if state == "overdue" else and_(
        due >= today, due <= today + timedelta(days=VISIT_DUE_WINDOW_DAYS))
    return and_(Case.stage != "closed", when)


@register("visits", lambda arg: VISITS[arg])
def _visits(arg, ctx):
    return visits_condition(arg, ctx.today) if arg in VISITS else None


