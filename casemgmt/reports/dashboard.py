"""The supervisor dashboard's numbers: a handful of aggregate queries over the cohort, whatever its size.

Every count is `cohort AND figure` (see reports.figures), computed in SQL over plaintext categorical columns and
indexed dates; nothing here loads a case or decrypts a field. Five queries, whatever the caseload: the cohort grouped
by stage, assignee and month, with its visits due and overdue (caseload); every "has a related row" figure, the
children and families figures (reports.families.tagged_rows) and the shelter occupancy, counted from those rows
(related_counts); the visits' scores; the stays' medians; the facilities. Each reads the cohort from one covering
index (ix_cases_report); at 100,000 cases a page's time is mostly the related rows its queries count, so they count
each kind of row once (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Integer, and_, case, cast, distinct, func, literal, null, select, true, union_all

from casemgmt import htcds
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case, StageChange
from casemgmt.extensions import db
from casemgmt.reports import families, figures
from casemgmt.reports.figures import APPROVALS, RETURN_PIPELINE, FigureContext
from casemgmt.reports.filters import ReportFilters, cohort_ids, conditions, default_period, related, related_rows

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
    return related(MonitoringVisit.case_id, MonitoringVisit.live(), *_visit_period(MonitoringVisit, ctx.filters))


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
    # Children and families (reports.families): cases and rows per figure key, family members who joined.
    families: families.Counts


def build(ctx: FigureContext) -> Dashboard:
    """Every number on the dashboard for the organisation and filters of `ctx`."""
    month_range = months_of(ctx.filters, ctx.today)
    load = caseload(ctx, month_range.months)
    counts = related_counts(ctx)
    return Dashboard(
        today=ctx.today,
        headline=headline(load, counts),
        stages=load.stages,
        assignees=load.assignees,
        month_range=month_range,
        new_per_month=load.new_per_month,
        facilities=occupancy(ctx, counts),
        sustainability=sustainability(ctx),
        stays=median_stays(ctx),
        families=families.counts_from(counts.cases, counts.rows),
    )


# --- queries --------------------------------------------------------------------------------------------------


@dataclass
class Caseload:
    cases: int
    open: int
    stages: dict[str, int]
    assignees: list[AssigneeLoad]
    new_per_month: dict[date, int]
    visits: dict[str, int]  # figures.VISITS state: cases


def _month_of(column) -> ColumnElement[str]:
    """'YYYY-MM' of a timestamp, in the dialect at hand: one call per row (extract() makes two)."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def caseload(ctx: FigureContext, months: list[date]) -> Caseload:
    """The cohort by stage, by assignee (figures `stage:`, `assignee:`) and by month of registration within `months`
    (figure `opened:YYYY-MM`), zeros included, and its cases with a monitoring visit due or overdue (`visits:`): one
    pass over the cohort, grouped by the three, added up here."""
    if months:
        last = months[-1]
        after = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
        charted = and_(Case.created_at >= datetime.combine(months[0], time.min),
                       Case.created_at < datetime.combine(after, time.min))
        month = case((charted, _month_of(Case.created_at)), else_=null())
    else:
        month = null()
    visit_counts = [func.sum(case((figures.visits_condition(state, ctx.today), 1), else_=0)).label(state)
                    for state in figures.VISITS]
    grouped = (
        select(Case.stage, Case.assigned_to_id, month.label("month"), func.count().label("n"), *visit_counts)
        .where(*conditions(ctx.organisation_id, ctx.filters))
        .group_by(Case.stage, Case.assigned_to_id, month)
        .subquery("caseload")
    )
    rows = db.session.execute(
        select(grouped.c.stage, grouped.c.assigned_to_id, User.display_name, grouped.c.month, grouped.c.n,
               *(grouped.c[state] for state in figures.VISITS))
        .outerjoin(User, User.id == grouped.c.assigned_to_id)
    ).all()
    stages = dict.fromkeys(htcds.STAGES, 0)
    per_user: dict[int | None, int] = {None: 0}
    names: dict[int, str] = {}
    per_month = dict.fromkeys(months, 0)
    visits = dict.fromkeys(figures.VISITS, 0)
    for stage, user_id, name, month_key, n, *per_state in rows:
        for state, count in zip(figures.VISITS, per_state, strict=True):
            visits[state] += count
        stages[stage] = stages.get(stage, 0) + n
        per_user[user_id] = per_user.get(user_id, 0) + n
        if user_id is not None:
            names[user_id] = name
        if month_key is not None:
            year, month_number = (int(x) for x in month_key.split("-"))
            per_month[date(year, month_number, 1)] += n
    loads = sorted((AssigneeLoad(uid, names[uid], n) for uid, n in per_user.items() if uid is not None),
                   key=lambda load: (-load.cases, load.name or ""))
    total = sum(per_user.values())
    return Caseload(
        cases=total, open=total - stages.get("closed", 0),
        stages={stage: stages[stage] for stage in htcds.STAGES},
        assignees=[*loads, AssigneeLoad(None, None, per_user[None])],
        new_per_month=per_month, visits=visits,
    )


# The figures counted from their related rows (figures.register_rows): these one key at a time, and the returns
# pipeline from one read for all its arguments (figures.return_rows).
_BY_KEY = (figures.key("tasks_overdue"), *(figures.key("approval", k) for k in APPROVALS))
_BY_ARGUMENT = {"return": figures.return_rows}
_RELATED = (*_BY_KEY, *(figures.key("return", k) for k in RETURN_PIPELINE))
# The tag of the open placements, counted per facility (figure `facility:<id>`).
_OCCUPIED = "occupied"


@dataclass
class RelatedCounts:
    cases: dict[str, int]  # figure key: cohort cases with a related row
    rows: dict[str, int]  # figure key: related rows of cohort cases
    occupied: dict[int, int]  # facility id: cohort cases placed there now


def related_counts(ctx: FigureContext) -> RelatedCounts:
    """Every figure that is "the case has a related row", and the shelter occupancy, in one query: the figures' rows
    (the SELECTs their case lists use) tagged with the figure, kept when their case is in the cohort, and counted.
    The cohort is read once, and each figure costs its own rows, not a probe of every cohort case (a count(*) FILTER
    (WHERE id IN ...) per figure: 0.4 s on PostgreSQL, 2.3 s on SQLite at 100,000 cases)."""
    from casemgmt.shelter.models import Placement

    no_facility = cast(null(), Integer).label("facility_id")

    def tagged(figure: str, selected, facility=no_facility):
        return selected.with_only_columns(
            selected.selected_columns[0].label("case_id"), literal(figure).label("figure"), facility)

    def tagged_by_argument(name: str, selected):
        rows = selected.subquery(f"{name}_rows")
        case_id, argument = rows.c
        return select(case_id.label("case_id"), (literal(f"{name}:") + argument).label("figure"), no_facility)

    parts = [tagged(k, figures.rows(k, ctx)) for k in _BY_KEY]
    parts += [tagged_by_argument(name, rows(ctx)) for name, rows in _BY_ARGUMENT.items()]
    parts.append(tagged(_OCCUPIED, related_rows(Placement.case_id, figures.placed_now(Placement)),
                        Placement.facility_id.label("facility_id")))
    # The children and families figures: their rows join the same union, so the cohort is still read once.
    parts += [part.add_columns(no_facility) for part in families.tagged_rows(ctx.filters)]
    src = union_all(*parts).subquery("figure_rows")
    cohort = select(Case.id).where(*conditions(ctx.organisation_id, ctx.filters))
    found = db.session.execute(
        select(src.c.figure, src.c.facility_id, func.count(distinct(src.c.case_id)), func.count())
        .where(src.c.case_id.in_(cohort))
        .group_by(src.c.figure, src.c.facility_id)
    ).all()
    cases, rows = dict.fromkeys(_RELATED, 0), dict.fromkeys(_RELATED, 0)
    occupied: dict[int, int] = {}
    for figure, facility_id, n_cases, n_rows in found:
        if figure == _OCCUPIED:
            occupied[facility_id] = n_cases
        else:
            cases[figure], rows[figure] = n_cases, n_rows
    return RelatedCounts(cases, rows, occupied)


def headline(load: Caseload, related: RelatedCounts) -> Headline:
    key, n = figures.key, related.cases
    return Headline(
        cases=load.cases, open=load.open, cases_with_overdue_tasks=n[key("tasks_overdue")],
        overdue_tasks=related.rows[key("tasks_overdue")], visits_overdue=load.visits["overdue"],
        visits_due=load.visits["due"],
        approvals={k: n[key("approval", k)] for k in APPROVALS},
        returns={k: n[key("return", k)] for k in RETURN_PIPELINE},
    )


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


def occupancy(ctx: FigureContext, related: RelatedCounts) -> list[Occupancy]:
    """Per facility of the organisation: capacity, and cohort cases with an open placement there (`facility:<id>`,
    counted in related_counts). Inactive facilities are listed only while someone is still placed in them."""
    from casemgmt.shelter.models import Facility

    rows = db.session.execute(
        select(Facility.id, Facility.name, Facility.bed_capacity, Facility.active)
        .where(Facility.organisation_id == ctx.organisation_id)
        .order_by(Facility.name)
    )
    return [Occupancy(fid, name, capacity, related.occupied.get(fid, 0))
            for fid, name, capacity, active in rows if active or related.occupied.get(fid, 0) > 0]


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
        .where(Visit.case_id.in_(select(cohort_ids(ctx.organisation_id, ctx.filters).c.id)), Visit.live(),
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

    A stay runs from a change into a stage to the case's next change, which records when the stay began
    (StageChange.stay_started_at): one row per stay, read with the case's changes from one index
    (ix_stage_changes_case_stays). The stay that is still going has no end and is left out, since its length is not
    known yet."""
    start, end = filters.bounds()
    ended = [StageChange.stay_started_at.is_not(None)]
    if start is not None:
        ended.append(StageChange.changed_at >= start)
    if end is not None:
        ended.append(StageChange.changed_at < end)
    return (
        select(StageChange.case_id, StageChange.from_stage.label("stage"),
               _seconds_between(StageChange.stay_started_at, StageChange.changed_at).label("seconds"))
        .where(StageChange.case_id.in_(select(cohort_ids(organisation_id, filters).c.id)), *ended)
        .subquery("completed")
    )


def median_stays(ctx: FigureContext) -> dict[str, StageStay]:
    """The median length of the completed stays in each stage, in days: the middle stay, or the mean of the two
    middle ones. PostgreSQL has percentile_cont; on SQLite, database.py registers median() for this."""
    done = completed_stays(ctx.organisation_id, ctx.filters)
    if db.engine.dialect.name == "postgresql":
        middle = func.percentile_cont(0.5).within_group(done.c.seconds)
    else:
        middle = func.median(done.c.seconds)
    rows = db.session.execute(
        select(done.c.stage, middle, func.count(), func.count(distinct(done.c.case_id))).group_by(done.c.stage)
    )
    found = {stage: StageStay(round(float(seconds) / SECONDS_PER_DAY, 1), n, cases)
             for stage, seconds, n, cases in rows}
    return {stage: found[stage] for stage in htcds.STAGES if stage in found}
