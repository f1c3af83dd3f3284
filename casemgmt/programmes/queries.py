"""Read-only questions about projects and enrolments that other features ask (the fund, the reports)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from casemgmt.accounts.models import Organisation, User
from casemgmt.cases.models import Case
from casemgmt.core import pagination
from casemgmt.extensions import db
from casemgmt.fund.models import FundRequest
from casemgmt.programmes.models import Donor, Enrolment, ExchangeRate, Project, ProjectAttribution, ProjectOrganisation


def projects_for(organisation_id: int) -> list[Project]:
    """The projects the organisation implements (leading them or not), newest period first."""
    return list(db.session.scalars(
        select(Project)
        .join(ProjectOrganisation, ProjectOrganisation.project_id == Project.id)
        .where(ProjectOrganisation.organisation_id == organisation_id)
        .order_by(Project.starts_on.desc(), Project.code)
    ))


def enrolled_projects(case_id: str, organisation_id: int, on: date) -> list[Project]:
    """The projects of `organisation_id` that the case is enrolled in on `on` (the enrolment and the project's
    period both cover the day): the only projects work on the case that day can be charged to."""
    return list(db.session.scalars(
        select(Project)
        .join(Enrolment, Enrolment.project_id == Project.id)
        .where(Enrolment.case_id == case_id, Enrolment.organisation_id == organisation_id,
               Enrolment.enrolled_on <= on, or_(Enrolment.ended_on.is_(None), Enrolment.ended_on >= on),
               Project.starts_on <= on, Project.ends_on >= on)
        .order_by(Project.code)
        .distinct()
    ))


def is_enrolled(case_id: str, project_id: int, organisation_id: int, on: date) -> bool:
    return any(p.id == project_id for p in enrolled_projects(case_id, organisation_id, on))


# The programmes pages' own questions ------------------------------------------------------------------------------


def project_or_404(project_id: int) -> Project:
    project = db.session.get(Project, project_id) if isinstance(project_id, int) else None
    if project is None:
        raise NotFound()
    return project


def donors_of(organisation_id: int) -> list[Donor]:
    return list(db.session.scalars(
        select(Donor).where(Donor.organisation_id == organisation_id).order_by(Donor.name)))


def organisation_choices() -> list[tuple[int, str]]:
    return [(o.id, o.name) for o in db.session.scalars(select(Organisation).order_by(Organisation.name))]


def held_by_project(project_ids: list[int]) -> dict[int, tuple]:
    """{project id: (waiting, committed, spent)} in each project's currency, with one GROUP BY for every project of
    the list (the same definitions as fund.budget: refunds come off what was spent)."""
    if not project_ids:
        return {}
    net = FundRequest.project_amount - FundRequest.refunded_project_amount
    rows = db.session.execute(
        select(
            FundRequest.project_id,
            func.coalesce(func.sum(case((FundRequest.status == "requested", FundRequest.project_amount))), 0),
            func.coalesce(func.sum(case((FundRequest.status == "approved", FundRequest.project_amount))), 0),
            func.coalesce(func.sum(case((FundRequest.status.in_(("disbursed", "refunded")), net))), 0),
        )
        .where(FundRequest.project_id.in_(project_ids),
               FundRequest.status.in_(("requested", "approved", "disbursed", "refunded")))
        .group_by(FundRequest.project_id)
    )
    cent = Decimal("0.01")
    return {pid: tuple(Decimal(str(v)).quantize(cent) for v in values) for pid, *values in rows}


OPEN_END = date(9999, 12, 31)


def _first_enrolments(project_id: int, organisation_id: int):
    """(case_id, enrolled_on) per case the organisation enrolled in the project, its first enrolment's date: read
    from ix_project_enrolments_project_org alone (project, organisation, enrolled_on, case_id), no table row."""
    return (
        select(Enrolment.case_id.label("case_id"), func.min(Enrolment.enrolled_on).label("enrolled_on"))
        .where(Enrolment.project_id == project_id, Enrolment.organisation_id == organisation_id)
        .group_by(Enrolment.case_id)
        .subquery("first_enrolments")
    )


def enrolled_cases_query(project_id: int, organisation_id: int):
    """The cases `organisation_id` enrolled in the project (once each, however many enrolments), first enrolment
    newest first, then by reference; erased cases left out."""
    first = _first_enrolments(project_id, organisation_id)
    return (
        select(Case, first.c.enrolled_on)
        .join(first, first.c.case_id == Case.id)
        .where(Case.erased_at.is_(None))
        .order_by(first.c.enrolled_on.desc(), Case.reference)
    )


def enrolled_cases_page(project_id: int, organisation_id: int, per_page: int,
                        page: int | None = None) -> pagination.Page:
    """One page of enrolled_cases_query as (case, enrolled_on, ended_on), ended_on the latest end of the case's
    enrolments (OPEN_END while one is open).

    The page's ids and the count are one query (count(*) OVER ()): both must join every enrolled case to leave the
    erased ones out (erasure keeps the case's row and its enrolments), and that join is most of the cost (about
    75 ms for 18,600 cases on SQLite at 100,000), so it is done once, not once for the pager's count and again for
    the page. It carries the case's id and reference only, for the sort; the page's 25 cases are loaded next, by id.
    The end dates are read for the page's cases only: ended_on is not in the index, and reading it for every
    enrolment cost as much again. A page beyond the end (no row, hence no count) counts and asks for the last page."""
    first = _first_enrolments(project_id, organisation_id)
    ordered = (
        select(Case.id, first.c.enrolled_on, func.count().over().label("total"))
        .join(first, first.c.case_id == Case.id)
        .where(Case.erased_at.is_(None))
        .order_by(first.c.enrolled_on.desc(), Case.reference)
    )
    wanted = page or pagination.requested_page()
    rows = db.session.execute(ordered.limit(per_page).offset((wanted - 1) * per_page)).all()
    if rows:
        total = rows[0].total
    else:
        total = db.session.scalar(
            select(func.count()).select_from(first).join(Case, Case.id == first.c.case_id)
            .where(Case.erased_at.is_(None))) or 0
        shown, offset = pagination.page_window(total, per_page, wanted)
        if total and shown != wanted:
            rows = db.session.execute(ordered.limit(per_page).offset(offset)).all()
        wanted = shown
    items = []
    if rows:
        ids = [row.id for row in rows]
        cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(ids)))}
        ended = dict(db.session.execute(
            select(Enrolment.case_id, func.max(func.coalesce(Enrolment.ended_on, OPEN_END)))
            .where(Enrolment.project_id == project_id, Enrolment.organisation_id == organisation_id,
                   Enrolment.case_id.in_(ids))
            .group_by(Enrolment.case_id)
        ).all())
        items = [(cases[case_id], enrolled_on, _as_date(ended.get(case_id, OPEN_END)))
                 for case_id, enrolled_on, _total in rows]
    return pagination.Page(items=items, page=wanted, per_page=per_page, total=total)


def _as_date(value) -> date:
    # SQLite gives max(coalesce(date, literal)) back as text, PostgreSQL as a date.
    return date.fromisoformat(value) if isinstance(value, str) else value


def enrolments_of(case_id: str, organisation_id: int) -> list[Enrolment]:
    """The case's enrolments made by the organisation, newest first."""
    return list(db.session.scalars(
        select(Enrolment).options(selectinload(Enrolment.project))
        .where(Enrolment.case_id == case_id, Enrolment.organisation_id == organisation_id)
        .order_by(Enrolment.enrolled_on.desc(), Enrolment.created_at.desc())
    ))


def attributions_of(case_id: str) -> dict[tuple[str, str], ProjectAttribution]:
    """{(record kind, record id): ProjectAttribution} of the case."""
    return {(a.record_kind, a.record_id): a for a in db.session.scalars(
        select(ProjectAttribution).where(ProjectAttribution.case_id == case_id))}


def rates_query(organisation_id: int):
    return (select(ExchangeRate).where(ExchangeRate.organisation_id == organisation_id)
            .order_by(ExchangeRate.month.desc(), ExchangeRate.currency, ExchangeRate.quote_currency))


def user_names(ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
