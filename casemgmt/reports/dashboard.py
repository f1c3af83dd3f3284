"""The supervisor dashboard's numbers: a handful of aggregate queries over the cohort, whatever its size.

Every count is `cohort AND figure` (see reports.figures), computed in SQL over plaintext categorical columns and
indexed dates; nothing here loads a case or decrypts a field. Single-row figures share one SELECT (`count(*) FILTER
(WHERE ...)`, which SQLite and PostgreSQL both understand), and the rest are GROUP BYs, so the number of queries is
the same for ten cases and for a hundred thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, distinct, extract, func, select, true

from casemgmt import htcds
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case, StageChange
from casemgmt.extensions import db
from casemgmt.reports import figures
from casemgmt.reports.figures import APPROVALS, RETURN_PIPELINE, FigureContext
from casemgmt.reports.filters import ReportFilters, cohort_ids, conditions, default_period, related

SECONDS_PER_DAY = 86400


# --- figures the dashboard adds to the shared registry ----------------------------------------------------------


@figures.register("cohort", lambda arg: _l("All cases in the report"))
def _cohort(arg, ctx):
    return true() if not arg else None


@figures.register("open", lambda arg: _l("Open cases"))
def _open(arg, ctx):
    return Case.stage != "closed" if not arg else None


@figures.register("visited", lambda arg: _l("Cases with monitoring visits in the period"))
def _visited(arg, ctx):
    from casemgmt.reintegration.models import MonitoringVisit

    if arg:
        return None
    return related(MonitoringVisit.case_id, *_visit_period(MonitoringVisit, ctx.filters))


@figures.register("stay", lambda arg: _l("Stays in %(stage)s that ended in the period", stage=htcds.STAGES.label(arg)))
def _stay(arg, ctx):
    if arg not in htcds.STAGES:
        return None
    stays = completed_stays(ctx.organisation_id, ctx.filters)
    # The same subquery as the median's, so the list holds exactly the cases whose stays the median counts.
    return Case.id.in_(select(stays.c.case_id).where(stays.c.stage == arg))


# --- results --------------------------------------------------------------------------------------------------


@dataclass
class Headline:
    cases: int = 0
    open: int = 0
    cases_with_overdue_tasks: int = 0
    overdue_tasks: int = 0
    visits_overdue: int = 0
    visits_due: int = 0
    approvals: dict[str, int] = field(default_factory=dict)
    returns: dict[str, int] = field(default_factory=dict)


@dataclass
class AssigneeLoad:
    user_id: int | None  # None: not assigned
    name: str | None
    cases: int


@dataclass
class Occupancy:
    facility_id: int
    name: str
    capacity: int
    occupied: int


@dataclass
class Sustainability:
    visits: int
    cases: int
    # Averages on the 1-5 scale, None without visits.
    economic: float | None
    social: float | None
    psychosocial: float | None


@dataclass
class StageStay:
    median_days: float
    stays: int
    cases: int


@dataclass
class MonthRange:
    months: list[date]
    # True when the period has no start or no end and the chart falls back to the default last twelve months.
    fallback: bool


@dataclass
class Dashboard:
    today: date
    headline: Headline
    stages: dict[str, int]
    assignees: list[AssigneeLoad]
    month_range: MonthRange
    new_per_month: dict[date, int]
    facilities: list[Occupancy]
    sustainability: Sustainability
    stays: dict[str, StageStay]


def build(ctx: FigureContext) -> Dashboard:
    """Every number on the dashboard for the organisation and filters of `ctx`."""
    month_range = months_of(ctx.filters, ctx.today)
    return Dashboard(
        today=ctx.today,
        headline=headline(ctx),
        stages=by_stage(ctx),
        assignees=by_assignee(ctx),
        month_range=month_range,
        new_per_month=new_per_month(ctx, month_range.months),
        facilities=occupancy(ctx),
        sustainability=sustainability(ctx),
        stays=median_stays(ctx),
    )


# --- queries --------------------------------------------------------------------------------------------------


def _figure(name: str, arg: object | None, ctx: FigureContext) -> ColumnElement[bool]:
    resolved = figures.resolve(figures.key(name, arg), ctx)
    if resolved is None:  # a programming error: the dashboard asks only for keys it knows
        raise LookupError(f"no figure {name}:{arg}")
    return resolved[0]


def headline(ctx: FigureContext) -> Headline:
    from casemgmt.tasks.models import Task

    counted = {
        "cases": None,
        "open": _figure("open", None, ctx),
        "cases_with_overdue_tasks": _figure("tasks_overdue", None, ctx),
        "visits_overdue": _figure("visits", "overdue", ctx),
        "visits_due": _figure("visits", "due", ctx),
        **{f"approval_{k}": _figure("approval", k, ctx) for k in APPROVALS},
        **{f"return_{k}": _figure("return", k, ctx) for k in RETURN_PIPELINE},
    }
    columns = [(func.count() if cond is None else func.count().filter(cond)).label(name)
               for name, cond in counted.items()]
    row = db.session.execute(
        select(*columns).select_from(Case).where(*conditions(ctx.organisation_id, ctx.filters))
    ).one()._mapping
    overdue_tasks = db.session.scalar(
        select(func.count(Task.id)).where(
            Task.case_id.in_(select(cohort_ids(ctx.organisation_id, ctx.filters).c.id)),
            Task.done_at.is_(None), Task.due_on < ctx.today,
        )
    )
    return Headline(
        cases=row["cases"], open=row["open"], cases_with_overdue_tasks=row["cases_with_overdue_tasks"],
        overdue_tasks=overdue_tasks or 0, visits_overdue=row["visits_overdue"], visits_due=row["visits_due"],
        approvals={k: row[f"approval_{k}"] for k in APPROVALS},
        returns={k: row[f"return_{k}"] for k in RETURN_PIPELINE},
    )


def by_stage(ctx: FigureContext) -> dict[str, int]:
    """Cases per stage, every stage present (zero when empty)."""
    rows = db.session.execute(
        select(Case.stage, func.count()).where(*conditions(ctx.organisation_id, ctx.filters)).group_by(Case.stage)
    )
    counts = {stage: n for stage, n in rows}
    return {stage: counts.get(stage, 0) for stage in htcds.STAGES}


def by_assignee(ctx: FigureContext) -> list[AssigneeLoad]:
    """Cases per assignee, busiest first; the "not assigned" row is always there."""
    rows = db.session.execute(
        select(Case.assigned_to_id, User.display_name, func.count())
        .outerjoin(User, User.id == Case.assigned_to_id)
        .where(*conditions(ctx.organisation_id, ctx.filters))
        .group_by(Case.assigned_to_id, User.display_name)
    ).all()
    loads = sorted((AssigneeLoad(uid, name, n) for uid, name, n in rows if uid is not None),
                   key=lambda load: (-load.cases, load.name or ""))
    unassigned = next((n for uid, _name, n in rows if uid is None), 0)
    return [*loads, AssigneeLoad(None, None, unassigned)]


def months_of(filters: ReportFilters, today: date) -> MonthRange:
    """The first day of every month of the period; an open-ended period falls back to the default twelve months,
    because "every month since 2003" is not a chart anyone reads."""
    fallback = not (filters.start and filters.end)
    span = default_period(today) if fallback else filters
    months, year, month = [], span.start.year, span.start.month
    while (year, month) <= (span.end.year, span.end.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return MonthRange(months, fallback)


def new_per_month(ctx: FigureContext, months: list[date]) -> dict[date, int]:
    """Cohort cases registered in each month (figure `opened:YYYY-MM`), zero months included."""
    counts = dict.fromkeys(months, 0)
    if not months:
        return counts
    last = months[-1]
    after = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    year, month = extract("year", Case.created_at), extract("month", Case.created_at)
    rows = db.session.execute(
        select(year, month, func.count())
        .where(*conditions(ctx.organisation_id, ctx.filters),
               Case.created_at >= datetime.combine(months[0], datetime.min.time()),
               Case.created_at < datetime.combine(after, datetime.min.time()))
        .group_by(year, month)
    )
    for y, m, n in rows:
        counts[date(int(y), int(m), 1)] = n
    return counts


def occupancy(ctx: FigureContext) -> list[Occupancy]:
    """Per facility of the organisation: capacity, and cohort cases with an open placement there (`facility:<id>`).
    Inactive facilities are listed only while someone is still placed in them."""
    from casemgmt.shelter.models import Facility, Placement

    occupied = (
        select(Placement.facility_id, func.count(distinct(Placement.case_id)).label("n"))
        .join(Case, Case.id == Placement.case_id)
        .where(*conditions(ctx.organisation_id, ctx.filters), Placement.discharged_on.is_(None))
        .group_by(Placement.facility_id)
        .subquery("occupied")
    )
    n = func.coalesce(occupied.c.n, 0)
    rows = db.session.execute(
        select(Facility.id, Facility.name, Facility.bed_capacity, n)
        .outerjoin(occupied, occupied.c.facility_id == Facility.id)
        .where(Facility.organisation_id == ctx.organisation_id, Facility.active | (n > 0))
        .order_by(Facility.name)
    )
    return [Occupancy(fid, name, capacity, occupied) for fid, name, capacity, occupied in rows]


def _visit_period(visit, filters: ReportFilters) -> list[ColumnElement[bool]]:
    conds = []
    if filters.start:
        conds.append(visit.visited_on >= filters.start)
    if filters.end:
        conds.append(visit.visited_on <= filters.end)
    return conds


def sustainability(ctx: FigureContext) -> Sustainability:
    """Average scores of the monitoring visits made to cohort cases during the period (figure `visited`)."""
    from casemgmt.reintegration.models import MonitoringVisit as Visit

    row = db.session.execute(
        select(func.count(), func.count(distinct(Visit.case_id)),
               func.avg(Visit.economic_score), func.avg(Visit.social_score), func.avg(Visit.psychosocial_score))
        .where(Visit.case_id.in_(select(cohort_ids(ctx.organisation_id, ctx.filters).c.id)),
               *_visit_period(Visit, ctx.filters))
    ).one()
    visits, cases, *averages = row
    economic, social, psychosocial = (None if a is None else round(float(a), 1) for a in averages)
    return Sustainability(visits, cases, economic, social, psychosocial)


def _seconds_between(start, end) -> ColumnElement:
    """Seconds from one timestamp to another, in the dialect at hand (there is no portable SQL for it)."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * SECONDS_PER_DAY


def completed_stays(organisation_id: int, filters: ReportFilters):
    """Stays in a stage that ended during the period, for cohort cases: (case_id, stage, seconds).

    A stay runs from a change into a stage to the case's next change (LEAD over the case's changes); the stay that
    is still going has no end and is left out, since its length is not known yet."""
    following = func.lead(StageChange.changed_at, type_=StageChange.changed_at.type).over(
        partition_by=StageChange.case_id, order_by=StageChange.changed_at
    )
    stays = (
        select(StageChange.case_id, StageChange.to_stage.label("stage"),
               StageChange.changed_at.label("entered_at"), following.label("left_at"))
        .where(StageChange.case_id.in_(select(cohort_ids(organisation_id, filters).c.id)))
        .subquery("stays")
    )
    start, end = filters.bounds()
    ended = [stays.c.left_at.is_not(None)]
    if start is not None:
        ended.append(stays.c.left_at >= start)
    if end is not None:
        ended.append(stays.c.left_at < end)
    return (
        select(stays.c.case_id, stays.c.stage,
               _seconds_between(stays.c.entered_at, stays.c.left_at).label("seconds"))
        .where(*ended)
        .subquery("completed")
    )


def median_stays(ctx: FigureContext) -> dict[str, StageStay]:
    """The median length of the completed stays in each stage, in days.

    The median is computed in SQL with row_number()/count() windows (no percentile_cont in SQLite): the middle
    row, or the mean of the two middle rows, i.e. the rows with n <= 2*rn <= n + 2."""
    done = completed_stays(ctx.organisation_id, ctx.filters)
    ranked = select(
        done.c.case_id, done.c.stage, done.c.seconds,
        func.row_number().over(partition_by=done.c.stage, order_by=done.c.seconds).label("rn"),
        func.count().over(partition_by=done.c.stage).label("n"),
    ).subquery("ranked")
    middle = and_(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
    rows = db.session.execute(
        select(ranked.c.stage, func.avg(ranked.c.seconds).filter(middle), func.count(),
               func.count(distinct(ranked.c.case_id)))
        .group_by(ranked.c.stage)
    )
    found = {stage: StageStay(round(float(seconds) / SECONDS_PER_DAY, 1), n, cases)
             for stage, seconds, n, cases in rows}
    return {stage: found[stage] for stage in htcds.STAGES if stage in found}
