"""The filters every report shares, and the cohort they select.

A report covers the cases *owned* by the supervisor's organisation (referred-in cases are counted by their owner)
that were open at some time during the period: registered on or before its last day and not closed before its
first. The same conditions drive the figures and the case lists they link to, so a figure and its list cannot
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, or_, select
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Form, SelectField
from wtforms.validators import Optional, ValidationError

from casemgmt import htcds
from casemgmt.cases.models import Case, CaseCode, Person
from casemgmt.core.params import parse_int
from casemgmt.core.time import utcnow
from casemgmt.core.widgets import LongSelect

# A period longer than this is almost always a typing mistake (year 2205) and would make a useless monthly chart.
MAX_PERIOD_DAYS = 366 * 20
# The dates a report can be about. Beyond them is a typing mistake, and near year 9999 the date arithmetic of a
# report (the day after the end, the month after the last) overflowed into a 500.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class ReportFilters:
    start: date | None = None
    end: date | None = None
    citizenship: str | None = None
    exploitation_country: str | None = None
    exploitation: str | None = None
    # A user id, or 0 for "not assigned to anyone".
    assignee: int | None = None
    # A project the organisation implements, or a donor (all its projects the organisation implements): the cohort
    # becomes the cases the organisation enrolled in them, and services count only the work attributed to them.
    project: int | None = None
    donor: int | None = None

    def args(self) -> dict[str, str]:
        """The query-string form, for links to the figure lists and to exports."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    @property
    def programme(self) -> bool:
        """Whether a project or donor filter narrows the cohort to enrolled cases."""
        return self.project is not None or self.donor is not None

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) as datetimes: the end day is included whole."""
        start = datetime.combine(self.start, time.min) if self.start else None
        end = datetime.combine(self.end + timedelta(days=1), time.min) if self.end else None
        return start, end


class FilterForm(Form):
    """Validates report filters from a query string (GET, no CSRF: filters change nothing)."""

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    citizenship = SelectField(_l("Citizenship"), validators=[Optional()], validate_choice=False, widget=LongSelect())
    exploitation_country = SelectField(_l("Country of exploitation"), validators=[Optional()], validate_choice=False,
                                       widget=LongSelect())
    exploitation = SelectField(_l("Type of exploitation"), validators=[Optional()], validate_choice=False)
    assignee = SelectField(_l("Assigned to"), validators=[Optional()], validate_choice=False)
    project = SelectField(_l("Project"), validators=[Optional()], validate_choice=False)
    donor = SelectField(_l("Donor"), validators=[Optional()], validate_choice=False)

    def __init__(self, formdata, assignees: list[tuple[int, str]], projects: ProjectChoices | None = None):
        super().__init__(formdata)
        projects = projects or ProjectChoices()
        anyone = [("", str(_l("All")))]
        self.citizenship.choices = anyone + htcds.country_choices()
        self.exploitation_country.choices = anyone + htcds.country_choices()
        self.exploitation.choices = anyone + list(htcds.EXPLOITATION_TYPES.choices())
        self.assignee.choices = anyone + [("0", str(_l("Not assigned")))] + [(str(i), n) for i, n in assignees]
        self._assignee_ids = {i for i, _n in assignees}
        self.project.choices = anyone + [(str(i), label) for i, label in projects.projects]
        self.donor.choices = anyone + [(str(i), label) for i, label in projects.donors]
        self._project_ids = {i for i, _label in projects.projects}
        self._donor_ids = {i for i, _label in projects.donors}

    def validate_start(self, field):
        _plausible_date(field)

    def validate_end(self, field):
        if field.data and self.start.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The end of the period cannot be before its start."))
            if (field.data - self.start.data).days > MAX_PERIOD_DAYS:
                raise ValidationError(_l("The period cannot be longer than 20 years."))
        _plausible_date(field)

    def validate_citizenship(self, field):
        _known_country(field)

    def validate_exploitation_country(self, field):
        _known_country(field)

    def validate_exploitation(self, field):
        if field.data and field.data not in htcds.EXPLOITATION_TYPES:
            raise ValidationError(_l("Choose a type of exploitation from the list."))

    def validate_assignee(self, field):
        if field.data and not (field.data == "0" or parse_int(field.data) in self._assignee_ids):
            raise ValidationError(_l("Choose a person from the list."))

    # Another organisation's project (or donor) gets the same answer as one that does not exist: no leak either way.
    def validate_project(self, field):
        if field.data and parse_int(field.data) not in self._project_ids:
            raise ValidationError(_l("Choose a project your organisation implements."))

    def validate_donor(self, field):
        if field.data and parse_int(field.data) not in self._donor_ids:
            raise ValidationError(_l("Choose a donor of a project your organisation implements."))


@dataclass(frozen=True)
class ProjectChoices:
    """The projects the organisation implements and their donors, as (id, label) for the filter form."""

    projects: tuple[tuple[int, str], ...] = ()
    donors: tuple[tuple[int, str], ...] = ()


def project_choices(organisation_id: int) -> ProjectChoices:
    """One query: the projects programmes.queries.projects_for lists (the same join and order), with their donors."""
    from casemgmt.extensions import db
    from casemgmt.programmes.models import Donor, Project, ProjectOrganisation

    rows = db.session.execute(
        select(Project.id, Project.code, Project.title, Donor.id, Donor.name)
        .join(ProjectOrganisation, ProjectOrganisation.project_id == Project.id)
        .join(Donor, Donor.id == Project.donor_id)
        .where(ProjectOrganisation.organisation_id == organisation_id)
        .order_by(Project.starts_on.desc(), Project.code)
    ).all()
    donors = {donor_id: name for *_p, donor_id, name in rows}
    return ProjectChoices(
        projects=tuple((pid, f"{code} · {title}") for pid, code, title, _d, _n in rows),
        donors=tuple(sorted(donors.items(), key=lambda item: item[1].casefold())),
    )


def assignee_choices(organisation_id: int) -> list[tuple[int, str]]:
    """Everyone in the organisation a case can be assigned to, deactivated accounts included: their cases still
    count, and a link to them must keep working."""
    from casemgmt.access.roles import Role
    from casemgmt.accounts.models import User
    from casemgmt.extensions import db

    rows = db.session.execute(
        select(User.id, User.display_name, User.active)
        .where(User.organisation_id == organisation_id,
               User.role.in_([Role.CASEWORKER, Role.SUPERVISOR, Role.MISSION]))
        .order_by(User.display_name)
    )
    return [(uid, name if active else str(_l("%(name)s (deactivated)", name=name))) for uid, name, active in rows]


def _plausible_date(field) -> None:
    if field.data and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_l("Choose a date between 1900 and 2100."))


def _known_country(field) -> None:
    if field.data and field.data not in htcds.country_codes():
        raise ValidationError(_l("Choose a country from the list."))


def parse(args: MultiDict, assignees: list[tuple[int, str]], default: ReportFilters | None = None,
          projects: ProjectChoices | None = None):
    """Filters from a query string: (filters, form). Invalid fields are reported on the form and ignored, so a bad
    link still shows a report (of the valid filters) instead of an error page. `projects` are the choices the
    project and donor filters accept (none without it)."""
    form = FilterForm(args, assignees, projects)
    form.validate()
    bad = set(form.errors)

    def value(name):
        data = getattr(form, name).data
        return None if name in bad or data in (None, "") else data

    assignee, project, donor = value("assignee"), value("project"), value("donor")
    filters = ReportFilters(
        start=value("start"), end=value("end"), citizenship=value("citizenship"),
        exploitation_country=value("exploitation_country"), exploitation=value("exploitation"),
        assignee=int(assignee) if assignee is not None else None,
        project=int(project) if project is not None else None, donor=int(donor) if donor is not None else None,
    )
    if default is not None and not any(k in args for k in ("start", "end")):
        filters = replace(filters, start=default.start, end=default.end)
        form.start.data, form.end.data = default.start, default.end
    return filters, form


def default_period(today: date | None = None, months: int = 12) -> ReportFilters:
    """The last `months` whole months up to today: the dashboard's opening view."""
    today = today or utcnow().date()
    year, month = today.year, today.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return ReportFilters(start=date(year, month, 1), end=today)


def conditions(organisation_id: int, filters: ReportFilters) -> list[ColumnElement[bool]]:
    """WHERE conditions on Case for the cohort. Only plaintext categorical columns and indexed dates are used."""
    conds: list[ColumnElement[bool]] = [Case.organisation_id == organisation_id, Case.erased_at.is_(None)]
    start, end = filters.bounds()
    if end is not None:
        conds.append(Case.created_at < end)
    if start is not None:
        conds.append(or_(Case.closed_at.is_(None), Case.closed_at >= start))
    if filters.citizenship:
        conds.append(related(Person.case_id, Person.citizenship == filters.citizenship))
    if filters.exploitation_country:
        conds.append(_has_code("exploitation_country", filters.exploitation_country))
    if filters.exploitation:
        conds.append(_has_code("exploitation", filters.exploitation))
    if filters.assignee is not None:
        unassigned = filters.assignee == 0
        conds.append(Case.assigned_to_id.is_(None) if unassigned else Case.assigned_to_id == filters.assignee)
    if filters.programme:
        conds.append(Case.id.in_(enrolled_rows(organisation_id, filters)))
    return conds


def project_ids(organisation_id: int, filters: ReportFilters) -> Select:
    """SELECT id of the projects the project/donor filters name, among those the organisation implements (the form
    checked it; this says it again, so that no other organisation's project can reach a figure by any path)."""
    from casemgmt.programmes.models import Project, ProjectOrganisation

    implemented = select(ProjectOrganisation.project_id).where(ProjectOrganisation.organisation_id == organisation_id)
    where = [Project.id.in_(implemented)]
    if filters.project is not None:
        where.append(Project.id == filters.project)
    if filters.donor is not None:
        where.append(Project.donor_id == filters.donor)
    return select(Project.id).where(*where)


def enrolled_rows(organisation_id: int, filters: ReportFilters) -> Select:
    """SELECT case_id of the organisation's enrolments in the filtered projects that overlap the period: enrolled
    on or before its last day and not ended before its first."""
    from casemgmt.programmes.models import Enrolment

    where = [Enrolment.organisation_id == organisation_id,
             Enrolment.project_id.in_(project_ids(organisation_id, filters))]
    if filters.end:
        where.append(Enrolment.enrolled_on <= filters.end)
    if filters.start:
        where.append(or_(Enrolment.ended_on.is_(None), Enrolment.ended_on >= filters.start))
    return select(Enrolment.case_id).where(*where)


def related_rows(case_id, *where) -> Select:
    """`SELECT case_id FROM ... WHERE ...`: one row per related row matching `where` (see related())."""
    return select(case_id).where(case_id.is_not(None), *where)


def related(case_id, *where) -> ColumnElement[bool]:
    """The case has a related row matching `where`: `cases.id IN (SELECT case_id FROM ... WHERE ...)`.

    Why IN and not a correlated EXISTS: the subquery runs once and is probed per case, whatever index the planner
    picks; a correlated EXISTS ran once per case, and SQLite (which keeps no statistics unless ANALYZE was run)
    sometimes drove it through the wrong index, scanning a whole table per case: 24 s instead of 0.1 s for the
    dashboard at 10,000 cases. Being uncorrelated, it also stays right when the outer query joins the same table."""
    return Case.id.in_(related_rows(case_id, *where))


def _has_code(kind: str, code: str) -> ColumnElement[bool]:
    return related(CaseCode.case_id, CaseCode.kind == kind, CaseCode.code == code)


def cohort_ids(organisation_id: int, filters: ReportFilters):
    """The cohort as a subquery of case ids, to join figures against."""
    return select(Case.id).where(and_(*conditions(organisation_id, filters))).subquery("cohort")
