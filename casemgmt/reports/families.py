"""Children and families in the reports (issue 15): children assisted, tracing requests by outcome, best-interests
determinations by recommendation, families reunified and the family members who joined them, protection status
granted by kind.

Every figure is `cohort AND figure` like the others (reports.figures): the cohort is the organisation's own cases
(with a project or donor filter, the cases it enrolled), and a related row counts for the case it belongs to, whoever
recorded it. A tracing request opened by the receiving organisation in the country of origin therefore counts for
the organisation that owns the case, as a referred-in case counts for its owner; the receiving organisation never
counts another organisation's case. Nothing is decrypted: the figures read plaintext codes and dates.

- children (`child:yes` / `child:no`): the person's age band is 0-8 or 9-17, or the person is recorded as a child
  whose age is not known yet (age_basis "child_unknown"), as cases.age.child_from counts from the plaintext columns.
  The band is the one the age table counts (worked out from the date of birth or the estimate on the day the record
  was saved), so a child on the day of registration stays a child in this figure as in that table;
- tracing (`tracing:<status>`): requests opened during the period, by their status now (open, found, not found,
  closed);
- best interests (`bid:<recommendation>`): determinations that became "determined" on a day of the period (a
  convened, not agreed or withdrawn panel decided nothing);
- reunified (`reunified:yes`): a reunification whose status is "reunified" with its reunified_on in the period (a
  cancelled one never counts); the family members who joined are the members of a reunification that was not
  cancelled who arrived on a day of the period (counted as family members, not as cases);
- protection status (`granted:<kind>`): a status granted (state "granted") with its decision dated in the period.

Each multi-valued group also has `:any` (at least one row of the group) and `:none` (the others), which the donor
report prints as the two summary lines its multi-valued tables have. One query counts them all (counts()).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, distinct, func, literal, not_, or_, select, union_all

from casemgmt.bestinterests.models import RECOMMENDATIONS, BestInterestsDetermination
from casemgmt.cases.age import MINOR_AGE_BANDS
from casemgmt.cases.models import Case, Person
from casemgmt.extensions import db
from casemgmt.families.models import TRACING_STATUSES, TracingRequest
from casemgmt.htcds import ValueSet
from casemgmt.reports import figures
from casemgmt.reports.figures import Figure, FigureContext
from casemgmt.reports.filters import ReportFilters, conditions, related
from casemgmt.residence.models import STATUS_KINDS, ProtectionStatus, Reunification, ReunificationMember

ANY, NONE = "any", "none"
YES, NO = "yes", "no"
CHILD_UNKNOWN = "child_unknown"
# The tag of the family members who arrived: counted as rows (members), not a figure of the registry.
JOINED = "joined"


def is_child(person=Person) -> ColumnElement[bool]:
    """The plaintext test of childhood: a child's age band, or recorded as a child with the age unknown."""
    return or_(person.age_band.in_(MINOR_AGE_BANDS), person.age_basis == CHILD_UNKNOWN)


def _within(column, filters: ReportFilters) -> list[ColumnElement[bool]]:
    """A date column on a day of the period (a missing date is never in it)."""
    conds = [column.is_not(None)]
    if filters.start:
        conds.append(column >= filters.start)
    if filters.end:
        conds.append(column <= filters.end)
    return conds


# --- the groups of rows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A figure name whose argument is a code of `codes` (or any / none), over rows `(case_id, code)`."""

    name: str
    codes: ValueSet
    # (case_id column, code column, WHERE conditions) of the rows counted for the filters' period.
    source: Callable[[ReportFilters], tuple]
    label: Callable[[str], object]
    summary_labels: dict[str, object] = field(default_factory=dict)

    def rows(self, filters: ReportFilters, code: str | None = None) -> Select:
        """SELECT case_id of the group's rows of the period (of one code, or all of them)."""
        case_id, code_column, where = self.source(filters)
        if code is not None:
            where = [*where, code_column == code]
        return select(case_id).where(*where)

    def line_label(self, arg: str) -> str:
        if arg in self.summary_labels:
            return str(self.summary_labels[arg])
        return str(self.codes.label(arg))


def _tracing(filters: ReportFilters) -> tuple:
    return TracingRequest.case_id, TracingRequest.status, _within(TracingRequest.opened_on, filters)


def _bid(filters: ReportFilters) -> tuple:
    bid = BestInterestsDetermination
    return bid.case_id, bid.recommendation, [bid.status == "determined", *_within(bid.determined_on, filters)]


def _granted(filters: ReportFilters) -> tuple:
    status = ProtectionStatus
    return status.case_id, status.kind, [status.state == "granted", *_within(status.decided_on, filters)]


REUNIFIED_CODES = ValueSet("ReunifiedFigure", {YES: _l("Reunified with their family in the period")})


def _reunified(filters: ReportFilters) -> tuple:
    return (Reunification.case_id, literal(YES),
            [Reunification.status == "reunified", *_within(Reunification.reunified_on, filters)])


def joined_rows(filters: ReportFilters) -> Select:
    """(case_id, figure) of every family member who arrived in the period, of a reunification not cancelled."""
    member = ReunificationMember
    return (select(member.case_id.label("case_id"), literal(JOINED).label("figure"))
            .join(Reunification, Reunification.id == member.reunification_id)
            .where(Reunification.status != "cancelled", *_within(member.arrived_on, filters)))


TRACING = Group(
    "tracing", TRACING_STATUSES, _tracing,
    lambda arg: _l("Tracing requests opened in the period: %(outcome)s", outcome=TRACING.line_label(arg)),
    {ANY: _l("At least one tracing request opened in the period"),
     NONE: _l("No tracing request opened in the period")})
BID = Group(
    "bid", RECOMMENDATIONS, _bid,
    lambda arg: _l("Best-interests determinations in the period: %(recommendation)s",
                   recommendation=BID.line_label(arg)),
    {ANY: _l("At least one best-interests determination in the period"),
     NONE: _l("No best-interests determination in the period")})
GRANTED = Group(
    "granted", STATUS_KINDS, _granted,
    lambda arg: _l("Protection status granted in the period: %(kind)s", kind=GRANTED.line_label(arg)),
    {ANY: _l("At least one protection status granted in the period"),
     NONE: _l("No protection status granted in the period")})
REUNIFIED = Group(
    "reunified", REUNIFIED_CODES, _reunified,
    lambda arg: _l("Persons reunified with their family in the period") if arg == YES
    else _l("Persons not reunified with their family in the period"),
    {NO: _l("Not reunified with their family in the period")})
GROUPS = (TRACING, BID, GRANTED, REUNIFIED)
# Multi-valued groups (a person can have rows of several codes) and their summary arguments.
MULTI = (TRACING, BID, GRANTED)


def _register(group: Group) -> None:
    """The group's figure: a code, `any` (rows of any code) or `none` (no row: the figure tests NOT IN), and the
    rows the dashboard counts for the first two (figures.rows)."""
    negative = NO if group is REUNIFIED else NONE
    positive = YES if group is REUNIFIED else ANY

    def make_rows(arg: str, ctx: FigureContext) -> Select | None:
        if arg == positive:
            return group.rows(ctx.filters)
        if arg in group.codes and group is not REUNIFIED:
            return group.rows(ctx.filters, arg)
        return None

    def condition(arg: str, ctx: FigureContext):
        if arg == negative:
            return Case.id.not_in(group.rows(ctx.filters))
        selected = make_rows(arg, ctx)
        return None if selected is None else Case.id.in_(selected)

    figures.FIGURES[group.name] = Figure(group.name, condition, group.label, make_rows)


for _group in GROUPS:
    _register(_group)


CHILD_LABELS = {YES: _l("Children (under 18, or recorded as a child)"),
                NO: _l("Adults, and persons whose age is not known")}


@figures.register("child", lambda arg: CHILD_LABELS[arg])
def _child(arg, ctx):
    if arg not in CHILD_LABELS:
        return None
    children = related(Person.case_id, is_child())
    return children if arg == YES else not_(children)


# --- the counts ---------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    cases: dict[str, int]  # figure key: cohort cases
    rows: dict[str, int]  # figure key: rows of cohort cases (requests, determinations, statuses, reunifications)
    joined: int  # family members who arrived in the period
    joined_cases: int

    def get(self, key: str) -> int:
        return self.cases.get(key, 0)


def tagged_rows(filters: ReportFilters, children: bool = True) -> list[Select]:
    """SELECT (case_id, figure) of every row this module counts, one part per table read: each group's rows of the
    period tagged with their figure key (`tracing:found`), again tagged `<group>:any` (a person with two codes is
    one "any"), the family members who arrived (`joined`) and, with `children`, the persons who are children
    (`child:yes`). Unions of these are counted by the dashboard (dashboard.related_counts, with its own figures'
    rows: the cohort is read once for all) and by counts() for the donor report."""
    parts = []
    for group in GROUPS:
        case_id, code, where = group.source(filters)
        if group is not REUNIFIED:
            parts.append(select(case_id.label("case_id"), (literal(f"{group.name}:") + code).label("figure"))
                         .where(*where))
        positive = YES if group is REUNIFIED else ANY
        parts.append(select(case_id.label("case_id"), literal(figures.key(group.name, positive)).label("figure"))
                     .where(*where))
    parts.append(joined_rows(filters))
    if children:
        parts.append(select(Person.case_id.label("case_id"), literal(figures.key("child", YES)).label("figure"))
                     .where(is_child()))
    return parts


def keys() -> list[str]:
    """The figure keys tagged_rows() counts (those of rows; not the "none" / "no" complements), and `joined`."""
    out = [figures.key("child", YES), JOINED]
    for group in GROUPS:
        codes = [YES] if group is REUNIFIED else [*group.codes, ANY]
        out += [figures.key(group.name, code) for code in codes]
    return out


def counts_from(cases: dict[str, int], rows: dict[str, int]) -> Counts:
    """Counts from cases and rows per figure key (missing keys are zeros)."""
    wanted = [key for key in keys() if key != JOINED]
    return Counts({key: cases.get(key, 0) for key in wanted}, {key: rows.get(key, 0) for key in wanted},
                  rows.get(JOINED, 0), cases.get(JOINED, 0))


def counts(ctx: FigureContext, children: bool = True) -> Counts:
    """Every figure of this module for the cohort, in one query: the rows of tagged_rows(), kept when their case is
    in the cohort, counted per figure (cases and rows). The cohort is tested once per row; each table is read for
    the rows of the period only."""
    every = union_all(*tagged_rows(ctx.filters, children)).subquery("family_rows")
    cohort = select(Case.id).where(*conditions(ctx.organisation_id, ctx.filters))
    found = db.session.execute(
        select(every.c.figure, func.count(distinct(every.c.case_id)), func.count())
        .where(every.c.case_id.in_(cohort))
        .group_by(every.c.figure)
    ).all()
    return counts_from({figure: n for figure, n, _rows in found}, {figure: n for figure, _n, n in found})
