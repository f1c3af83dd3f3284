"""Reads for the fund's pages: a case's requests, the organisation's list (the fund report) with its filters and
totals, names of the people who acted.

The list is one SQL query for its page and one for its count and totals, whatever the number of requests: the
filters are columns of fund_requests (ix_fund_requests_org_requested for the unfiltered list's order,
ix_fund_requests_org_status, ix_fund_requests_project_org, ix_fund_requests_line_status) and the user's scope is a
condition on the joined case (access.policies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from casemgmt.access.policies import case_scope_filter
from casemgmt.access.roles import Role
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.core import pagination
from casemgmt.extensions import db
from casemgmt.fund.models import CATEGORIES, STATUSES, FundRequest
from casemgmt.programmes import queries as programmes
from casemgmt.programmes.models import BudgetLine, Project

PER_PAGE = 50
FIGURES = {
    "waiting": ("requested",),
    "committed": ("approved",),
    "spent": ("disbursed", "refunded"),
}
ALL_FIGURES = ("waiting", "committed", "spent", "all")
ZERO = Decimal("0.00")


def case_requests(case_id: str, organisation_id: int) -> list[FundRequest]:
    """The case's requests made by the organisation, newest first, with what their rows show loaded at once."""
    return list(db.session.scalars(
        select(FundRequest)
        .where(FundRequest.case_id == case_id, FundRequest.organisation_id == organisation_id)
        .options(selectinload(FundRequest.project), selectinload(FundRequest.budget_line),
                 selectinload(FundRequest.approvals))
        .order_by(FundRequest.requested_at.desc())
    ))


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class Filters:
    project: int | None = None
    line: int | None = None
    figure: str = "all"
    status: str | None = None
    category: str | None = None
    month: date | None = None

    def args(self) -> dict:
        """The filters as the URL carries them (for the pager's links)."""
        out: dict = {}
        if self.project:
            out["project"] = self.project
        if self.line:
            out["line"] = self.line
        if self.figure != "all":
            out["figure"] = self.figure
        if self.status:
            out["status"] = self.status
        if self.category:
            out["category"] = self.category
        if self.month:
            out["month"] = f"{self.month:%Y-%m}"
        return out


def parse_month(text: str | None) -> date | None:
    if not isinstance(text, str) or len(text) != 7 or text[4] != "-":
        return None
    year, month = text[:4], text[5:]
    if not (year.isascii() and year.isdigit() and month.isascii() and month.isdigit()):
        return None
    if not (1900 <= int(year) <= 9999 and 1 <= int(month) <= 12):
        return None
    return date(int(year), int(month), 1)


def filters_from(args, parse_id) -> Filters:
    """The URL's filters; anything that is not a known code or a number is ignored, never an error."""
    figure = args.get("figure")
    status = args.get("status")
    category = args.get("category")
    return Filters(
        project=parse_id(args.get("project")), line=parse_id(args.get("line")),
        figure=figure if figure in ALL_FIGURES else "all",
        status=status if status in STATUSES else None,
        category=category if category in CATEGORIES else None,
        month=parse_month(args.get("month")),
    )


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def listed_scope(user):
    """Which of the organisation's requests the user sees in the list: supervisors and finance officers all of
    them; case workers the ones they made and the ones on cases they work on."""
    own = FundRequest.organisation_id == user.organisation_id
    if user.role in (Role.SUPERVISOR, Role.FINANCE):
        return own
    return own & or_(FundRequest.requested_by_id == user.id, case_scope_filter(user))


def _conditions(user, f: Filters) -> list:
    conditions = [listed_scope(user), Case.erased_at.is_(None)]
    if f.project:
        conditions.append(FundRequest.project_id == f.project)
    if f.line:
        conditions.append(FundRequest.budget_line_id == f.line)
    if f.figure in FIGURES:
        conditions.append(FundRequest.status.in_(FIGURES[f.figure]))
    if f.status:
        conditions.append(FundRequest.status == f.status)
    if f.category:
        conditions.append(FundRequest.category == f.category)
    if f.month:
        start = datetime.combine(f.month, datetime.min.time())
        conditions.append(and_(FundRequest.requested_at >= start,
                               FundRequest.requested_at < datetime.combine(_next_month(f.month),
                                                                           datetime.min.time())))
    return conditions


def list_query(user, f: Filters) -> Select:
    return (
        select(FundRequest, Case.reference, Project.code, Project.currency, BudgetLine.name)
        .join(Case, Case.id == FundRequest.case_id)
        .join(Project, Project.id == FundRequest.project_id)
        .join(BudgetLine, BudgetLine.id == FundRequest.budget_line_id)
        .where(*_conditions(user, f))
        .order_by(FundRequest.requested_at.desc(), FundRequest.id)
    )


@dataclass(frozen=True)
class Totals:
    """Of the filtered rows, in the project's currency: asked (the requests' project amounts), refunded, and net.
    For figure=spent the net is the project page's "spent"; for waiting or committed nothing is refunded."""

    currency: str
    asked: Decimal
    refunded: Decimal
    count: int

    @property
    def net(self) -> Decimal:
        return self.asked - self.refunded


def _money(value) -> Decimal:
    # SQLite hands sums of NUMERIC back as floats; every summand has two decimals, so this is exact (fund/budget.py).
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def totals(user, f: Filters, project: Project) -> Totals:
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(FundRequest.project_amount), 0),
               func.coalesce(func.sum(FundRequest.refunded_project_amount), 0))
        .select_from(FundRequest).join(Case, Case.id == FundRequest.case_id)
        .where(*_conditions(user, f))
    ).one()
    return Totals(project.currency, _money(row[1]), _money(row[2]), int(row[0]))


def count_of(user, f: Filters) -> int:
    """The number of rows list_query lists: the requests joined to their case only (the case can drop a row, by
    erasure or by a case worker's scope; project and budget line are required keys of every request and cannot)."""
    return db.session.scalar(
        select(func.count()).select_from(FundRequest).join(Case, Case.id == FundRequest.case_id)
        .where(*_conditions(user, f))
    ) or 0


def page_of(user, f: Filters, page: int | None = None, total: int | None = None) -> pagination.Page:
    """One page of the list, newest first: unfiltered, read in the order of ix_fund_requests_org_requested and
    stopped after the page. `total` is the count when the caller has it already (totals() counts the same rows)."""
    if total is None:
        total = count_of(user, f)
    page, offset = pagination.page_window(total, PER_PAGE, page)
    items = list(db.session.execute(list_query(user, f).limit(PER_PAGE).offset(offset)))
    return pagination.Page(items=items, page=page, per_page=PER_PAGE, total=total)


def visible_projects(user) -> list[Project]:
    return programmes.projects_for(user.organisation_id)


def figure_of(request: FundRequest) -> Decimal:
    """What the request holds on its line now: its project amount while it waits or is approved, net of refunds
    once paid, nothing when it was refused, declined or cancelled."""
    if request.status in ("requested", "approved"):
        return request.project_amount
    if request.status in ("disbursed", "refunded"):
        return request.net_project_amount
    return ZERO


def waiting_for(user, limit: int) -> list[tuple]:
    """(request id, case reference, category, approvals given, approvals needed, needed by, case id) of the
    organisation's requests waiting for this user's approval: not their own, not approved by them already."""
    from casemgmt.fund.models import FundApproval

    given = (select(func.count()).select_from(FundApproval)
             .where(FundApproval.request_id == FundRequest.id).correlate(FundRequest).scalar_subquery())
    mine = (select(FundApproval.id).where(FundApproval.request_id == FundRequest.id,
                                          FundApproval.approver_id == user.id).correlate(FundRequest).exists())
    rows = db.session.execute(
        select(FundRequest.id, Case.reference, FundRequest.category, given, FundRequest.approvals_needed,
               FundRequest.needed_by, FundRequest.case_id)
        .join(Case, Case.id == FundRequest.case_id)
        .where(FundRequest.organisation_id == user.organisation_id, FundRequest.status == "requested",
               Case.erased_at.is_(None),
               or_(FundRequest.requested_by_id.is_(None), FundRequest.requested_by_id != user.id), ~mine)
        .order_by(case((FundRequest.needed_by.is_(None), 1), else_=0), FundRequest.needed_by,
                  FundRequest.requested_at)
        .limit(limit)
    ).all()
    return [tuple(r) for r in rows]
