"""The donor report: persons assisted in a period, broken down the way donors and CTDC ask, and the version of it
that may leave the organisation.

Every number is `cohort AND figure` (see reports.figures) computed in SQL over plaintext categorical columns and
dated service rows: nothing loads a case or decrypts a field, and the number of queries does not grow with the
caseload. The figures the report adds (the cross table, the services, "at least one type recorded") are registered
here with the same conditions the counts use, so each number equals the length of the list it links to.

The shared version hides every count of 1..k-1 and whatever would let it be worked out again (reports.disclosure).
The gender and age tables are published as the margins of the gender x age table, suppressed together with it: two
tables suppressed on their own could each hide a different cell of the same number.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, case, func, literal, not_, or_, select, true, union_all
from sqlalchemy.orm import aliased

from casemgmt import htcds
from casemgmt.cases.models import Case, CaseCode, Person
from casemgmt.extensions import db
from casemgmt.fund.models import CATEGORIES
from casemgmt.reintegration.models import SUPPORT_TYPES
from casemgmt.reports import disclosure, families, figures, spend
from casemgmt.reports.figures import FigureContext
from casemgmt.reports.filters import ReportFilters, cohort_ids, conditions, project_ids, related

NOT_RECORDED = ""
# The age band of a person whose age was never recorded: figures.age counts a missing band as "unknown" too.
UNKNOWN_AGE = "unknown"
GENDER_CODES: tuple[str, ...] = (*htcds.GENDER, NOT_RECORDED)
AGE_CODES: tuple[str, ...] = tuple(htcds.AGE_BANDS)

# Services the organisation gives itself; each reintegration support type (SUPPORT_TYPES) is a service as well.
OWN_SERVICES = htcds.ValueSet("DonorService", {
    "shelter": _l("Shelter"),
    "counseling": _l("Counseling and care"),
    "return": _l("Assisted voluntary return"),
})
SERVICE_CODES: tuple[str, ...] = (*OWN_SERVICES, *SUPPORT_TYPES)
SUPPORT_TYPES_FIRST = next(iter(SUPPORT_TYPES))
ANY, NONE = "any", "none"


def service_label(code: str) -> str:
    if code in OWN_SERVICES:
        return OWN_SERVICES.label(code)
    if code in SUPPORT_TYPES:
        return str(_l("Reintegration: %(type)s", type=SUPPORT_TYPES.label(code)))
    return {ANY: str(_l("At least one service in the period")),
            NONE: str(_l("No service in the period"))}.get(code, code)


def gender_label(code: str) -> str:
    return htcds.GENDER.label(code) if code else str(_l("Not recorded"))


def age_label(code: str) -> str:
    return htcds.AGE_BANDS.label(code)


# --- figures the report adds to the shared registry -------------------------------------------------------------


@figures.register("assisted", lambda arg: _l("Persons assisted in the period"))
def _assisted(arg, ctx):
    return true() if not arg else None


def _gender_age_label(arg: str) -> str:
    gender, _sep, band = arg.partition("|")
    return _l("Gender: %(gender)s, age band: %(band)s", gender=gender_label(gender), band=age_label(band))


@figures.register("gender_age", _gender_age_label)
def _gender_age(arg, ctx):
    gender, sep, band = arg.partition("|")
    if not sep or (gender and gender not in htcds.GENDER) or band not in htcds.AGE_BANDS:
        return None
    return related(Person.case_id, _gender_is(gender), _band_is(band))


def _gender_is(code: str) -> ColumnElement[bool]:
    return Person.gender == code if code else Person.gender.is_(None)


def _band_is(code: str) -> ColumnElement[bool]:
    return or_(Person.age_band.is_(None), Person.age_band == code) if code == UNKNOWN_AGE else Person.age_band == code


EXPLOITATION_RECORDED = {"yes": _l("At least one type of exploitation recorded"),
                         "no": _l("No type of exploitation recorded")}


@figures.register("exploitation_recorded", lambda arg: EXPLOITATION_RECORDED[arg])
def _exploitation_recorded(arg, ctx):
    if arg not in EXPLOITATION_RECORDED:
        return None
    recorded = related(CaseCode.case_id, CaseCode.kind == "exploitation")
    return recorded if arg == "yes" else not_(recorded)


def _service_figure_label(arg: str) -> str:
    if arg in (ANY, NONE):
        return service_label(arg)
    return _l("Service received in the period: %(service)s", service=service_label(arg))


@figures.register("service", _service_figure_label)
def _service(arg, ctx):
    if arg == ANY:
        return Case.id.in_(select(any_service(ctx.filters, ctx.organisation_id).c.case_id))
    if arg == NONE:
        return Case.id.not_in(select(any_service(ctx.filters, ctx.organisation_id).c.case_id))
    return Case.id.in_(service_source(arg, ctx.filters, ctx.organisation_id)) if arg in SERVICE_CODES else None


# The ProjectAttribution.record_kind of each service's rows (every reintegration type is a reintegration_service).
ATTRIBUTED_KIND = {"shelter": "placement", "counseling": "counseling", "return": "return",
                   **dict.fromkeys(SUPPORT_TYPES, "reintegration_service")}


def _attributed(code: str, row_id, filters: ReportFilters, organisation_id: int | None) -> list[ColumnElement[bool]]:
    """With a project or donor filter, only the work attributed to those projects counts: the row's id among the
    attributions of its kind. (Without one, every service of the period counts, as before.)"""
    if not filters.programme:
        return []
    if organisation_id is None:
        raise ValueError("a project or donor filter needs the organisation whose projects it names")
    from casemgmt.programmes.models import ProjectAttribution

    return [row_id.in_(select(ProjectAttribution.record_id).where(
        ProjectAttribution.record_kind == ATTRIBUTED_KIND[code],
        ProjectAttribution.project_id.in_(project_ids(organisation_id, filters))))]


def _scanned(column):
    """`column` through an expression no index covers, for a condition that most rows of the table meet: reading
    the table is then cheaper than an index search and a row look-up per match, but SQLite (which has no statistics)
    takes any index it can: return plans by status, 69 ms against 27 ms at 100,000 cases. PostgreSQL reads these
    tables whole either way."""
    return column + ""


def _within(column, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    return [c for c in (column >= start if start else None, column <= end if end else None) if c is not None]


def service_source(code: str, filters: ReportFilters, organisation_id: int | None = None):
    """SELECT case_id of the cases that received the service during the period (the definitions printed under the
    report). The report counts these rows and the figure lists `cases.id IN (...)` them: one definition for both.
    With a project or donor filter, only rows attributed to its projects (see _attributed)."""
    from casemgmt.counseling.models import CounselingSession
    from casemgmt.reintegration.models import ServiceDelivered
    from casemgmt.returns.models import ReturnPlan
    from casemgmt.shelter.models import Placement

    start, end = filters.start, filters.end
    if code == "shelter":
        # Any night in a facility during the period: admitted by its end, not discharged before its start.
        during = [Placement.admitted_on <= end] if end else []
        if start:
            during.append(or_(Placement.discharged_on.is_(None), Placement.discharged_on >= start))
        return select(Placement.case_id).where(Placement.live(), *during,
                                                *_attributed(code, Placement.id, filters, organisation_id))
    if code == "counseling":
        # One row per case: people have many sessions (115,000 in a year at 100,000 cases), and grouping them in the
        # order of the (case, date) index costs less than carrying each one through the cohort test and the counts.
        return (select(CounselingSession.case_id).where(
            CounselingSession.live(), *_within(CounselingSession.held_on, start, end),
            *_attributed(code, CounselingSession.id, filters, organisation_id))
                .group_by(CounselingSession.case_id))
    if code == "return":
        # The person travelled: a cancelled or still-planned plan is not a return.
        return select(ReturnPlan.case_id).where(
            _scanned(ReturnPlan.status).in_(("departed", "arrived")), ReturnPlan.departed_on.is_not(None),
            *_within(ReturnPlan.departed_on, start, end), *_attributed(code, ReturnPlan.id, filters, organisation_id))
    if code in SUPPORT_TYPES:
        # A service recorded as not implemented was planned but never reached the person.
        return select(ServiceDelivered.case_id).where(
            ServiceDelivered.service_type == code, ServiceDelivered.implemented.is_(True), ServiceDelivered.live(),
            *_within(ServiceDelivered.delivered_on, start, end),
            *_attributed(code, ServiceDelivered.id, filters, organisation_id))
    raise LookupError(code)


def any_service(filters: ReportFilters, organisation_id: int | None = None):
    """(case_id, service) for every service of the period, all sources in one UNION ALL. The reintegration services
    are one part tagged with their own type (the rows service_source() selects type by type), so that table is read
    once, not once per type."""
    from casemgmt.reintegration.models import ServiceDelivered

    parts = [service_source(code, filters, organisation_id).add_columns(literal(code).label("service"))
             for code in OWN_SERVICES]
    parts.append(
        select(ServiceDelivered.case_id, ServiceDelivered.service_type.label("service")).where(
            _scanned(ServiceDelivered.service_type).in_(tuple(SUPPORT_TYPES)), ServiceDelivered.implemented.is_(True),
            ServiceDelivered.live(), *_within(ServiceDelivered.delivered_on, filters.start, filters.end),
            *_attributed(SUPPORT_TYPES_FIRST, ServiceDelivered.id, filters, organisation_id))
    )
    return union_all(*parts).subquery("services")


# --- the report -----------------------------------------------------------------------------------------------


# Why the shared version hides a number: a count of 1..k-1 ("fewer than k"), or a number hidden to protect one
# ("suppressed"). Telling them apart keeps a secondarily hidden 24 from reading as "fewer than 11".
FEWER, SUPPRESSED = "fewer", "suppressed"


def hidden_label(reason: str | None, k: int, amount: bool = False) -> str:
    if reason == FEWER:
        return str(_l("fewer than %(k)d persons", k=k) if amount else _l("fewer than %(k)d", k=k))
    return str(_l("suppressed"))


@dataclass
class Line:
    """One figure of a table. `count` is None when the shared version hides it, `reason` says why (FEWER or
    SUPPRESSED); `key` names the figure whose case list the number links to (None in the shared version, and for
    rows no figure describes)."""

    label: str
    count: int | None
    key: str | None = None
    reason: str | None = None

    @property
    def hidden(self) -> bool:
        return self.count is None


@dataclass
class Table:
    id: str
    title: str
    heading: str  # of the first column
    lines: list[Line]
    total: Line
    # Summary lines of a multi-valued table ("at least one", "none"); they add up to the total, the lines do not.
    summary: list[Line] = field(default_factory=list)
    multi_valued: bool = False
    # Exact: persons per combination of lines (a frozenset of line keys; the empty set is "none"), which counts the
    # distinct persons of merged lines. Shared: the labels of the lines merged into "Other (merged)".
    combos: dict[frozenset[str], int] = field(default_factory=dict, repr=False)
    merged: list[str] = field(default_factory=list)
    # The number of lines before merging (the shared version's share of categories shown, for the benchmark).
    categories: int = 0


@dataclass
class CrossTable:
    id: str
    title: str
    row_heading: str
    column_heading: str
    columns: list[Line]  # the column totals, one per age band
    rows: list[tuple[Line, list[Line]]]  # (row total, cells) per gender
    total: Line


@dataclass
class Money:
    """An amount of a spend line in one currency; None when the shared version hides it."""

    amount: Decimal | None
    reason: str | None = None

    @property
    def hidden(self) -> bool:
        return self.amount is None


@dataclass
class SpendLine:
    persons: Line
    amounts: list[Money]  # one per currency of the table


@dataclass
class SpendTable:
    id: str
    title: str
    heading: str
    currencies: list[str]
    lines: list[SpendLine]
    total: SpendLine
    merged: list[str] = field(default_factory=list)
    counts: spend.SpendCounts | None = field(default=None, repr=False)


@dataclass
class DonorReport:
    filters: ReportFilters
    total: Line
    gender: Table
    age: Table
    citizenship: Table
    gender_age: CrossTable
    exploitation: Table
    services: Table
    spend: SpendTable
    # Children and families (reports.families): persons per line, and the family members who joined (a count of
    # family members, not of persons assisted, so in no table).
    children: Table
    tracing: Table
    bid: Table
    granted: Table
    reunified: Table
    joined: Line
    # Persons recorded as a child whose age is not known, per age band (the shared version's children rule).
    child_unknown: dict[str, int] = field(default_factory=dict, repr=False)
    # Set on the shared version: the threshold, and how many cells it hid.
    k: int | None = None
    suppressed: int = 0

    @property
    def shared(self) -> bool:
        return self.k is not None

    @property
    def tables(self) -> list[Table]:
        return [self.gender, self.age, self.citizenship, self.exploitation, self.services, *self.family_tables]

    @property
    def family_tables(self) -> list[Table]:
        return [self.children, self.tracing, self.bid, self.granted, self.reunified]


def donor_period(filters: ReportFilters, today: date) -> ReportFilters:
    """The report always covers a period: the calendar year up to today unless the filters say otherwise."""
    end = filters.end or (today if not filters.start or filters.start <= today else date(filters.start.year, 12, 31))
    start = filters.start or date(end.year, 1, 1)
    return replace(filters, start=start, end=end)


def build(organisation_id: int, filters: ReportFilters, ctx: FigureContext | None = None) -> DonorReport:
    """The exact figures, for the organisation's own eyes: three queries over the cohort (its people, its types of
    exploitation, its services), whatever its size."""
    ctx = ctx or figures.today_context(organisation_id, filters)
    people = _people_counts(organisation_id, filters)
    total = Line(str(_l("Total")), people.assisted, "assisted")
    # The cohort's ids through a derived table: its conditions test CaseCode in a subquery, which would otherwise
    # correlate with the CaseCode rows being counted.
    cohort = select(cohort_ids(organisation_id, filters).c.id)
    exploitation, exploitation_combos = _exploitation_counts(cohort)
    services, service_combos = _service_counts(cohort, ctx.filters, organisation_id)
    summary = {"assisted": people.assisted, **exploitation, **services}
    summary["exploitation_recorded:no"] = people.assisted - summary["exploitation_recorded:yes"]
    summary[figures.key("service", NONE)] = people.assisted - summary[figures.key("service", ANY)]
    family = families.counts(ctx, children=False)
    # Persons without any type (or service) are the "none" combination.
    exploitation_combos[frozenset()] = summary["exploitation_recorded:no"]
    service_combos[frozenset()] = summary[figures.key("service", NONE)]
    return DonorReport(
        filters=filters,
        total=total,
        gender=_gender_table(people.grid, total),
        age=_age_table(people.grid, total),
        citizenship=_citizenship_table(people.citizenship, total),
        gender_age=_cross_table(people.grid, total),
        exploitation=replace(_exploitation_table(summary, total), combos=exploitation_combos),
        services=replace(_services_table(summary, total), combos=service_combos),
        spend=_spend_table(spend.counts(organisation_id, filters, cohort, _project_currency(filters))),
        children=_children_table(people, total),
        tracing=_family_table(families.TRACING, family, total, str(_l("Tracing requests opened in the period")),
                              str(_l("Outcome"))),
        bid=_family_table(families.BID, family, total, str(_l("Best-interests determinations made in the period")),
                          str(_l("Recommendation"))),
        granted=_family_table(families.GRANTED, family, total, str(_l("Protection status granted in the period")),
                              str(_l("Kind of status"))),
        reunified=_reunified_table(family, total),
        joined=Line(joined_title(), family.joined),
        child_unknown=people.child_unknown,
    )


def _project_currency(filters: ReportFilters) -> str | None:
    """With a project filter, its currency: the spend table's one column, even before anything is paid."""
    if filters.project is None:
        return None
    from casemgmt.programmes.models import Project

    return db.session.scalar(select(Project.currency).where(Project.id == filters.project))


def _spend_table(counts: spend.SpendCounts) -> SpendTable:
    zero = Decimal("0.00")
    lines = [
        SpendLine(Line(str(CATEGORIES.label(code)), counts.persons[code], figures.key("spend", code)),
                  [Money(counts.amounts.get((code, cur), zero)) for cur in counts.currencies])
        for code in CATEGORIES
    ]
    # The total of each currency is the sum of the lines shown: the parts add up to it by construction.
    total = SpendLine(Line(str(_l("Total")), counts.total_persons, figures.key("spend", spend.ANY)),
                      [Money(sum((line.amounts[i].amount for line in lines), zero))
                       for i in range(len(counts.currencies))])
    return SpendTable("spend", str(_l("Emergency assistance paid in the period, by category")), str(_l("Category")),
                      counts.currencies, lines, total, counts=counts)


@dataclass
class PeopleCounts:
    assisted: int  # cohort cases
    grid: dict[tuple[str, str], int]  # (gender, age band): persons
    citizenship: dict[str, int]  # code, or NOT_RECORDED: persons
    # Age band: persons recorded as a child whose age is not known (families.is_child counts them as children).
    child_unknown: dict[str, int] = field(default_factory=dict)

    @property
    def children(self) -> int:
        """Persons of a child's age band, and those recorded as a child in another band (families.is_child)."""
        minors = sum(n for (_g, band), n in self.grid.items() if band in families.MINOR_AGE_BANDS)
        return minors + sum(n for band, n in self.child_unknown.items() if band not in families.MINOR_AGE_BANDS)


def _people_counts(organisation_id: int, filters: ReportFilters) -> PeopleCounts:
    """The cohort's cases and their people by gender, age band and citizenship: one pass over the cohort, grouped
    by the three, added up here. A case without a person row counts as assisted and in no breakdown."""
    # An alias, because the cohort's conditions test Person in subqueries that must not correlate with it.
    person = aliased(Person)
    has_person = person.id.is_not(None).label("has_person")
    # Recorded as a child with the age unknown: children (families.is_child) whatever their band says.
    child_unknown = func.coalesce(person.age_basis == families.CHILD_UNKNOWN, False).label("child_unknown")
    rows = db.session.execute(
        select(has_person, person.gender, person.age_band, person.citizenship, child_unknown, func.count())
        .select_from(Case)
        .outerjoin(person, person.case_id == Case.id)
        .where(*conditions(organisation_id, filters))
        .group_by(has_person, person.gender, person.age_band, person.citizenship, child_unknown)
    )
    assisted, grid, citizenship, unknown_age_children = 0, {}, {}, {}
    for has, gender, band, country, is_child_unknown, n in rows:
        assisted += n
        if not has:
            continue
        # A missing band is "unknown", as in figures.age; merging group counts, not looping over people.
        cell = (gender or NOT_RECORDED, band or UNKNOWN_AGE)
        grid[cell] = grid.get(cell, 0) + n
        citizenship[country or NOT_RECORDED] = citizenship.get(country or NOT_RECORDED, 0) + n
        if is_child_unknown:
            unknown_age_children[cell[1]] = unknown_age_children.get(cell[1], 0) + n
    return PeopleCounts(assisted, grid, citizenship, unknown_age_children)


def _exploitation_counts(cohort) -> tuple[dict[str, int], dict[frozenset[str], int]]:
    """Cohort cases per type of exploitation (`exploitation:<code>`) and with at least one type recorded
    (`exploitation_recorded:yes`), from one query: the types of each case joined into one string, and the cases
    counted per string. A case has each code once (the key of case_codes), so a string's codes are distinct."""
    per_case = (
        select(func.aggregate_strings(CaseCode.code, ";").label("codes"))
        .where(CaseCode.kind == "exploitation", CaseCode.case_id.in_(cohort))
        .group_by(CaseCode.case_id)
        .subquery("exploitation_per_case")
    )
    counts = {figures.key("exploitation", code): 0 for code in htcds.EXPLOITATION_TYPES}
    combos: dict[frozenset[str], int] = {}
    recorded = 0
    for codes, n in db.session.execute(select(per_case.c.codes, func.count()).group_by(per_case.c.codes)):
        recorded += n
        keys = frozenset(figures.key("exploitation", code) for code in codes.split(";"))
        combos[keys] = combos.get(keys, 0) + n
        for key in keys:
            counts[key] = counts.get(key, 0) + n
    counts[figures.key("exploitation_recorded", "yes")] = recorded
    return counts, combos


def _service_counts(cohort, filters: ReportFilters,
                    organisation_id: int) -> tuple[dict[str, int], dict[frozenset[str], int]]:
    """Cohort cases per service of the period (`service:<code>`) and with at least one (`service:any`), from one
    query over the services' UNION ALL: a row per case with a 0/1 column per service, then the sums of those columns
    and the number of rows. (One count(*) FILTER (WHERE id IN ...) per figure made 20 subqueries: 1.3 s at 10,000
    cases; one GROUP BY for the services and another for "any" read every service row twice.) The rows are then
    counted per combination of services, which is what merging small lines in the shared version needs."""
    services = any_service(filters, organisation_id)
    flags = [func.max(case((services.c.service == code, 1), else_=0)).label(f"s{i}")
             for i, code in enumerate(SERVICE_CODES)]
    per_case = (
        select(services.c.case_id, *flags)
        .where(services.c.case_id.in_(cohort))
        .group_by(services.c.case_id)
        .subquery("services_per_case")
    )
    flag_columns = [per_case.c[f"s{i}"] for i in range(len(SERVICE_CODES))]
    counts = {figures.key("service", code): 0 for code in (ANY, *SERVICE_CODES)}
    combos: dict[frozenset[str], int] = {}
    for *flags, n in db.session.execute(select(*flag_columns, func.count()).group_by(*flag_columns)):
        keys = frozenset(figures.key("service", code) for code, flag in zip(SERVICE_CODES, flags, strict=True) if flag)
        combos[keys] = combos.get(keys, 0) + n
        counts[figures.key("service", ANY)] += n
        for key in keys:
            counts[key] += n
    return counts, combos


def _gender_table(grid, total: Line) -> Table:
    lines = [Line(gender_label(g), sum(n for (gg, _b), n in grid.items() if gg == g), figures.key("gender", g))
             for g in GENDER_CODES]
    return Table("gender", str(_l("Persons assisted by gender")), str(_l("Gender")), lines, total)


def _age_table(grid, total: Line) -> Table:
    lines = [Line(age_label(b), sum(n for (_g, bb), n in grid.items() if bb == b), figures.key("age", b))
             for b in AGE_CODES]
    return Table("age", str(_l("Persons assisted by age band")), str(_l("Age band")), lines, total)


def _cross_table(grid, total: Line) -> CrossTable:
    gender, age = _gender_table(grid, total), _age_table(grid, total)
    rows = [
        (row_total, [Line(age_label(b), grid.get((g, b), 0), figures.key("gender_age", f"{g}|{b}")) for b in AGE_CODES])
        for g, row_total in zip(GENDER_CODES, gender.lines, strict=True)
    ]
    return CrossTable("gender_age", str(_l("Persons assisted by gender and age band")), str(_l("Gender")),
                      str(_l("Age band")), age.lines, rows, total)


def _citizenship_table(per_country: dict[str, int], total: Line) -> Table:
    counts = dict(per_country)
    missing = counts.pop(NOT_RECORDED, 0)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], htcds.country_name(item[0])))
    lines = [Line(htcds.country_name(code), persons, figures.key("citizenship", code)) for code, persons in ordered]
    lines.append(Line(str(_l("Not recorded")), missing, figures.key("citizenship", NOT_RECORDED)))
    return Table("citizenship", str(_l("Persons assisted by citizenship")), str(_l("Citizenship")), lines, total)


def _exploitation_table(summary: dict[str, int], total: Line) -> Table:
    lines = [Line(htcds.EXPLOITATION_TYPES.label(code), summary[figures.key("exploitation", code)],
                  figures.key("exploitation", code))
             for code in htcds.EXPLOITATION_TYPES]
    recorded = [Line(str(EXPLOITATION_RECORDED[arg]), summary[f"exploitation_recorded:{arg}"],
                     figures.key("exploitation_recorded", arg)) for arg in ("yes", "no")]
    return Table("exploitation", str(_l("Persons assisted by type of exploitation")),
                 str(_l("Type of exploitation")), lines, total, summary=recorded, multi_valued=True)


def _children_table(people: PeopleCounts, total: Line) -> Table:
    children = people.children
    lines = [Line(str(families.CHILD_LABELS[arg]), n, figures.key("child", arg))
             for arg, n in ((families.YES, children), (families.NO, people.assisted - children))]
    return Table("children", str(_l("Children assisted")), str(_l("Age")), lines, total)


def _family_table(group: families.Group, counts: families.Counts, total: Line, title: str, heading: str) -> Table:
    """Persons per code of the group (a person with rows of two codes is on both lines), and the summary lines "at
    least one" and "none", which add up to the total as the other multi-valued tables' do."""
    lines = [Line(group.line_label(code), counts.get(figures.key(group.name, code)), figures.key(group.name, code))
             for code in group.codes]
    some = counts.get(figures.key(group.name, families.ANY))
    summary = [Line(group.line_label(families.ANY), some, figures.key(group.name, families.ANY)),
               Line(group.line_label(families.NONE), total.count - some, figures.key(group.name, families.NONE))]
    return Table(group.name, title, heading, lines, total, summary=summary, multi_valued=True)


def _reunified_table(counts: families.Counts, total: Line) -> Table:
    yes = counts.get(figures.key(families.REUNIFIED.name, families.YES))
    lines = [Line(families.REUNIFIED.line_label(families.YES), yes, figures.key(families.REUNIFIED.name, families.YES)),
             Line(families.REUNIFIED.line_label(families.NO), total.count - yes,
                  figures.key(families.REUNIFIED.name, families.NO))]
    return Table("reunified", str(_l("Family reunification")), str(_l("Persons assisted")), lines, total)


def _services_table(summary: dict[str, int], total: Line) -> Table:
    lines = [Line(service_label(code), summary[figures.key("service", code)], figures.key("service", code))
             for code in SERVICE_CODES]
    received = [Line(service_label(arg), summary[figures.key("service", arg)], figures.key("service", arg))
                for arg in (ANY, NONE)]
    return Table("services", str(_l("Services received in the period")), str(_l("Service")), lines, total,
                 summary=received, multi_valued=True)


# --- the version that may leave the organisation ----------------------------------------------------------------


def shared(report: DonorReport, k: int, merge: bool = True) -> DonorReport:
    """The report with every count of 1..k-1 hidden, and every count that would give one away.

    Before suppressing, the nominal tables (types of exploitation, services, spend categories) merge their small
    lines into one "Other (merged)" line, as statistical agencies do: the persons stay in the table, counted
    together, instead of being hidden with a line hidden to protect them. `merge=False` is the earlier algorithm,
    which the benchmark compares against."""
    cross = _shared_cross(report.gender_age, k)
    total = cross.total
    gender = replace(report.gender, lines=[row for row, _cells in cross.rows], total=total)
    age = replace(report.age, lines=cross.columns, total=total)
    citizenship = _shared_citizenship(report.citizenship, k, total)
    exploitation = _shared_multi(report.exploitation, k, total, merge)
    services = _shared_multi(report.services, k, total, merge)
    spent = _shared_spend(report.spend, k, report.total.count, merge)
    result = replace(report, total=total, gender=gender, age=age, citizenship=citizenship, gender_age=cross,
                     exploitation=exploitation, services=services, spend=spent, k=k,
                     children=_shared_children(report, age, k, total),
                     tracing=_shared_multi(report.tracing, k, total, merge),
                     bid=_shared_multi(report.bid, k, total, merge),
                     granted=_shared_multi(report.granted, k, total, merge),
                     reunified=_shared_pair(report.reunified, k, total),
                     joined=_published(report.joined, None if 0 < report.joined.count < k else report.joined.count,
                                       primary=True))
    result.suppressed = sum(line.hidden for line in printed_lines(result)) + sum(
        money.hidden for line in (*spent.lines, spent.total) for money in line.amounts) + int(result.joined.hidden)
    return result


def printed_lines(report: DonorReport):
    """Every count the report prints, table by table (a total once per table that shows it); amounts aside."""
    for table in report.tables:
        yield from table.lines
        yield from table.summary
        yield table.total
    cross = report.gender_age
    for row_total, cells in cross.rows:
        yield from cells
        yield row_total
    yield from cross.columns
    yield cross.total
    for line in (*report.spend.lines, report.spend.total):
        yield line.persons


def _published(line: Line, count: int | None, primary: bool = False) -> Line:
    reason = None if count is not None else (FEWER if primary else SUPPRESSED)
    return Line(line.label, count, None, reason)


def _shared_pair(table: Table, k: int, total: Line) -> Table:
    """A table of two lines that add up to the total (a figure and the others): suppressed as one-way tables are,
    so that a small line is never given back by the total minus the other."""
    cells = {str(i): line.count for i, line in enumerate(table.lines)}
    result = disclosure.suppress_small_cells(cells, k, total=table.total.count)
    hide_all = total.hidden
    lines = [_published(line, None if hide_all else result.cells[str(i)], str(i) in result.primary or (
        hide_all and 0 < line.count < k)) for i, line in enumerate(table.lines)]
    return replace(table, lines=lines, total=total, categories=len(table.lines))


def _shared_children(report: DonorReport, age: Table, k: int, total: Line) -> Table:
    """Children and the others, suppressed as a pair, and hidden as well when they would tell more than the age
    table does. Children are the persons of the 0-8 and 9-17 bands plus those recorded as a child whose age is not
    known, who sit in other bands ("Unknown", mostly): children minus the two bands counts the latter, and each
    band minus them counts its persons who are not children. So children are published only when both children's
    bands are, and every band holding such persons is shown, with those persons and the rest of the band each 0 or
    at least k."""
    pair = _shared_pair(report.children, k, total)
    bands = {exact.key.partition(":")[2]: (exact, shown)
             for exact, shown in zip(report.age.lines, age.lines, strict=True)}
    safe = all(not bands[band][1].hidden for band in families.MINOR_AGE_BANDS if band in bands)
    for band, persons in report.child_unknown.items():
        if band in families.MINOR_AGE_BANDS or not persons:
            continue
        exact, shown = bands[band]
        rest = exact.count - persons
        safe = safe and not shown.hidden and persons >= k and (rest == 0 or rest >= k)
    if safe:
        return pair
    lines = [line if line.hidden else _published(line, None if line.count else 0, 0 < line.count < k)
             for line in pair.lines]
    return replace(pair, lines=lines)


def _shared_cross(cross: CrossTable, k: int) -> CrossTable:
    table = {str(i): {str(j): cell.count for j, cell in enumerate(cells)} for i, (_row, cells) in enumerate(cross.rows)}
    result = disclosure.suppress_small_cells_two_way(table, k, columns=[str(j) for j in range(len(cross.columns))])
    rows = [
        (_published(row, result.row_totals[str(i)], result.is_primary(str(i), None)),
         [_published(cell, result.cells[str(i)][str(j)], result.is_primary(str(i), str(j)))
          for j, cell in enumerate(cells)])
        for i, (row, cells) in enumerate(cross.rows)
    ]
    columns = [_published(column, result.column_totals[str(j)], result.is_primary(None, str(j)))
               for j, column in enumerate(cross.columns)]
    return replace(cross, rows=rows, columns=columns,
                   total=_published(cross.total, result.total, result.is_primary(None, None)))


def _shared_citizenship(table: Table, k: int, total: Line) -> Table:
    """Countries by name, each with at least k persons; the others together, so that no rare citizenship is named
    ("the only Haitian"). A country hidden to protect a small cell goes into the others as well: named but hidden,
    it would still say "k or more", which can be enough to work the small cell out."""
    missing = table.lines[-1]
    named = sorted((line for line in table.lines[:-1] if line.count >= k), key=lambda line: line.label)
    while True:
        other = sum(line.count for line in table.lines[:-1]) - sum(line.count for line in named)
        cells = {str(i): line.count for i, line in enumerate(named)}
        cells.update(other=other, missing=missing.count)
        result = disclosure.suppress_small_cells(cells, k)
        hidden = [line for i, line in enumerate(named) if result.cells[str(i)] is None]
        if not hidden:
            break
        named.remove(min(hidden, key=lambda line: line.count))
    lines = [_published(line, line.count) for line in named]
    lines.append(_published(Line(other_countries_label(), None), result.cells["other"], "other" in result.primary))
    lines.append(_published(missing, result.cells["missing"], "missing" in result.primary))
    return replace(table, lines=lines, total=total, categories=len(table.lines))


def other_countries_label() -> str:
    return str(_l("Other countries"))


def merged_line_label() -> str:
    return str(_l("Other (merged)"))


def _merge(lines: list[Line], combos: dict[frozenset[str], int], k: int) -> tuple[list[Line], list[str]]:
    """The lines with the small ones merged into "Other (merged)" (disclosure.merge_small_categories), and the
    labels of those merged. The merged line counts distinct persons: someone on two merged lines counts once."""
    keys = [line.key for line in lines]
    merged = disclosure.merge_small_categories(combos, keys, k)
    if not merged:
        return lines, []
    kept = [line for line in lines if line.key not in merged]
    other = Line(merged_line_label(), disclosure.union_count(combos, merged))
    return [*kept, other], [line.label for line in lines if line.key in merged]


def _shared_multi(table: Table, k: int, total: Line, merge: bool = True) -> Table:
    """The table suppressed, with its small lines merged when that hides fewer persons (then fewer lines) than
    suppressing them alone: a merge that draws a large line in and then has to be suppressed hides more."""
    plain = _shared_multi_lines(table, k, total, table.lines, [])
    if not (merge and table.combos):
        return plain
    lines, merged = _merge(table.lines, table.combos, k)
    if not merged:
        return plain
    combined = _shared_multi_lines(table, k, total, lines, merged)

    def cost(shared_table: Table, exact_lines: list[Line]) -> tuple[int, int]:
        hidden = [exact for exact, line in zip(exact_lines, shared_table.lines, strict=True) if line.hidden]
        return sum(line.count for line in hidden), len(hidden)

    return combined if cost(combined, lines) < cost(plain, table.lines) else plain


def _shared_multi_lines(table: Table, k: int, total: Line, lines: list[Line], merged: list[str]) -> Table:
    """A table where a person can be on several lines or none. Its additive part is "none" plus the lines (when
    nobody is on two lines they add up to the total), so "none" is suppressed together with them; "at least one" is
    the total minus "none" and is shown only when both are."""
    at_least_one, nobody = table.summary
    cells = {str(i): line.count for i, line in enumerate(lines)}
    cells["none"] = nobody.count
    # The table's own total is still the exact one: the persons, not the sum of the lines.
    result = disclosure.suppress_small_cells(cells, k, total=table.total.count)
    none_shown, none_primary = result.cells["none"], "none" in result.primary
    if 0 < at_least_one.count < k:
        # The lines' nonzero counts are all below k and hidden already; "none" would give their union away.
        none_shown = None
    one_shown = at_least_one.count if none_shown is not None and not total.hidden else None
    published = [_published(line, result.cells[str(i)], str(i) in result.primary) for i, line in enumerate(lines)]
    summary = [_published(at_least_one, one_shown, 0 < at_least_one.count < k),
               _published(nobody, none_shown, none_primary)]
    return replace(table, lines=published, total=total, summary=summary, merged=merged, categories=len(table.lines))


def _shared_spend(table: SpendTable, k: int, assisted: int, merge: bool = True) -> SpendTable:
    """Persons per category suppressed as the other multi-valued tables (after merging small categories); an amount
    is hidden with its persons, when fewer than k persons were paid in that category and currency, and in each
    currency a second amount (or the currency's total) when one alone is hidden, since the total would give it
    back. The persons' total is hidden when it, or the persons of the cohort paid nothing, number 1..k-1."""
    counts = table.counts
    lines = table.lines
    merged: list[str] = []
    merged_sets: dict[str, set[str]] = {}
    if merge and counts is not None and counts.combos:
        kept, merged = _merge([line.persons for line in lines], counts.combos, k)
        if merged:
            merged_keys = {line.persons.key for line in lines if line.persons.label in merged}
            other_amounts = [Money(sum((line.amounts[i].amount for line in lines if line.persons.key in merged_keys),
                                       Decimal("0.00"))) for i in range(len(table.currencies))]
            other = SpendLine(kept[-1], other_amounts)
            lines = [line for line in lines if line.persons.key not in merged_keys] + [other]
            merged_sets = {kept[-1].label: merged_keys}
    cells = {str(i): line.persons.count for i, line in enumerate(lines)}
    result = disclosure.suppress_small_cells(cells, k, total=table.total.persons.count)
    total_count, total_primary = result.total, result.total_primary
    unpaid = assisted - table.total.persons.count
    if total_count is not None and 0 < unpaid < k:
        total_count = None  # the cohort's total minus this one would count those paid nothing
    persons = [_published(line.persons, result.cells[str(i)], str(i) in result.primary)
               for i, line in enumerate(lines)]

    def currency_persons(index: int, currency: str) -> int:
        line = lines[index]
        if line.persons.key is not None:
            return counts.currency_persons.get((line.persons.key.partition(":")[2], currency), 0) if counts else 0
        keys = merged_sets[line.persons.label]
        return disclosure.union_count(counts.currency_combos.get(currency, {}), keys)

    columns, column_totals = [], []
    for c, currency in enumerate(table.currencies):
        values = {i: line.amounts[c].amount for i, line in enumerate(lines)}
        reasons: dict[int, str] = {}
        for i in values:
            few = 0 < currency_persons(i, currency) < k
            if persons[i].hidden or few:
                reasons[i] = FEWER if (persons[i].reason == FEWER or few) else SUPPRESSED
        column_total: Money = Money(table.total.amounts[c].amount)
        paid_in_currency = sum(counts.currency_combos.get(currency, {}).values()) if counts else 0
        if total_count is None or 0 < paid_in_currency < k:
            column_total = Money(None, FEWER if (total_primary or 0 < paid_in_currency < k) else SUPPRESSED)
        while column_total.amount is not None and len(reasons) == 1:
            visible = [i for i, amount in values.items() if i not in reasons and amount]
            if not visible:
                column_total = Money(None, SUPPRESSED)
                break
            reasons[min(visible, key=lambda i: values[i])] = SUPPRESSED
        columns.append([Money(None, reasons[i]) if i in reasons else Money(values[i]) for i in values])
        column_totals.append(column_total)
    spend_lines = [SpendLine(persons[i], [columns[c][i] for c in range(len(table.currencies))])
                   for i in range(len(lines))]
    total = SpendLine(_published(table.total.persons, total_count, total_primary), column_totals)
    return replace(table, lines=spend_lines, total=total, merged=merged)


# --- files ----------------------------------------------------------------------------------------------------------


def file_rows(report: DonorReport, scope: str) -> tuple[list[str], list[list]]:
    """The shared report as one sheet: every table one after another, a blank row between them, and notes. A hidden
    number says why: "fewer than k" (a small count) or "suppressed" (hidden to protect one)."""
    if report.k is None:
        raise ValueError("only the shared version of the report leaves the organisation")
    k = report.k

    def value(line: Line):
        return hidden_label(line.reason, k) if line.hidden else line.count

    def money(cell: Money):
        return hidden_label(cell.reason, k, amount=True) if cell.hidden else cell.amount

    header = [str(_l("table")), str(_l("category")), str(_l("persons"))]
    rows: list[list] = [[str(_l("Persons assisted")), scope, value(report.total)]]
    for table in report.tables:
        rows.append([])
        rows.extend([table.title, line.label, value(line)] for line in (*table.lines, *table.summary))
        rows.append([table.title, str(_l("Total")), value(table.total)])
    cross = report.gender_age
    rows.append([])
    rows.append([cross.title, f"{cross.row_heading} \\ {cross.column_heading}",
                 *(line.label for line in cross.columns), str(_l("Total"))])
    for row_total, cells in cross.rows:
        rows.append([cross.title, row_total.label, *(value(cell) for cell in cells), value(row_total)])
    rows.append([cross.title, str(_l("Total")), *(value(line) for line in cross.columns), value(cross.total)])
    spent = report.spend
    rows.append([])
    rows.append([spent.title, spent.heading, str(_l("persons")),
                 *(str(_l("amount (%(currency)s)", currency=currency)) for currency in spent.currencies)])
    for line in (*spent.lines, spent.total):
        rows.append([spent.title, line.persons.label, value(line.persons), *(money(cell) for cell in line.amounts)])
    rows.append([])
    rows.append([joined_title(), str(_l("Family members")), value(report.joined)])
    rows.append([])
    rows.append([str(_l("Note")), ngettext(
        "%(num)d number was hidden: counts below %(k)d are shown as \u201cfewer than %(k)d\u201d, and numbers hidden "
        "because they would let one of those be worked out from the totals as \u201csuppressed\u201d.",
        "%(num)d numbers were hidden: counts below %(k)d are shown as \u201cfewer than %(k)d\u201d, and numbers "
        "hidden because they would let one of those be worked out from the totals as \u201csuppressed\u201d.",
        report.suppressed, k=k), ""])
    for note in notes(report):
        rows.append([str(_l("Note")), note, ""])
    return header, rows


def notes(report: DonorReport) -> list[str]:
    """What the shared version did besides hiding cells, and what a reader must know to add its numbers up."""
    out = []
    for table in (report.exploitation, report.services, report.spend):
        if table.merged:
            out.append(str(_l("%(table)s: counted together as \u201cOther (merged)\u201d, because some had fewer than "
                              "%(k)d persons: %(categories)s.", table=table.title, k=report.k,
                              categories=", ".join(table.merged))))
    out.append(str(_l("A person can have several types of exploitation, receive several services and be paid in "
                      "several categories: those lines do not add up to the total of persons. Amounts do add up.")))
    out.append(str(_l("Amounts are net of refunds, in the currency of the project each request was charged to, at the "
                      "exchange rate fixed when the request was made; amounts in different currencies are never "
                      "added together.")))
    out.append(str(_l("Tracing requests, best-interests determinations and protection statuses count persons "
                      "assisted: a person with two requests of different outcomes is on both lines. Family members "
                      "who joined are counted as family members, not as persons assisted.")))
    return out


def joined_title() -> str:
    return str(_l("Family members who joined the persons assisted in the period"))
