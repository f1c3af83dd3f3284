"""A project's budget, line by line, in the project's currency: what waits for approval, what is committed
(approved, not yet paid), what is spent (paid, less refunds) and what remains.

    remaining = budget - waiting - committed - spent

A waiting request holds its amount, so two requests for a line's last funds cannot both be accepted: the check and
the insert happen under the line's row lock (lock_line), and the second request counts the first. Every figure is
one GROUP BY over fund_requests (ix_fund_requests_line_status covers it), whatever the number of requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from casemgmt.core.invariants import lock_row
from casemgmt.extensions import db
from casemgmt.fund.models import FundRequest
from casemgmt.programmes.models import BudgetLine, Project

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineFigures:
    line: BudgetLine
    budget: Decimal
    waiting: Decimal      # requested, not yet approved
    committed: Decimal    # approved, not yet paid
    spent: Decimal        # paid, less refunds
    requests: int         # requests that hold money on the line (waiting, approved or paid)

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.waiting - self.committed - self.spent

    @property
    def tracked(self) -> bool:
        """Whether the fund spends this line; staff, travel and overheads are spent outside casemgmt."""
        return self.line.category is not None


def _sums(line_ids: list[int]) -> dict[int, tuple[Decimal, Decimal, Decimal, int]]:
    if not line_ids:
        return {}
    net = FundRequest.project_amount - FundRequest.refunded_project_amount
    rows = db.session.execute(
        select(
            FundRequest.budget_line_id,
            func.coalesce(func.sum(case((FundRequest.status == "requested", FundRequest.project_amount))), 0),
            func.coalesce(func.sum(case((FundRequest.status == "approved", FundRequest.project_amount))), 0),
            func.coalesce(func.sum(case((FundRequest.status.in_(("disbursed", "refunded")), net))), 0),
            func.count(),
        )
        .where(FundRequest.budget_line_id.in_(line_ids),
               FundRequest.status.in_(("requested", "approved", "disbursed", "refunded")))
        .group_by(FundRequest.budget_line_id)
    )
    return {line_id: (Decimal(w), Decimal(c), Decimal(s), n) for line_id, w, c, s, n in rows}


def _money(value) -> Decimal:
    # SQLite hands sums of NUMERIC back as floats or ints through SQLAlchemy's Numeric; two decimals are exact here
    # because every summand has at most two.
    return Decimal(str(value)).quantize(Decimal("0.01"))


def line_figures(project: Project) -> list[LineFigures]:
    sums = _sums([line.id for line in project.lines])
    out = []
    for line in project.lines:
        waiting, committed, spent, n = sums.get(line.id, (ZERO, ZERO, ZERO, 0))
        out.append(LineFigures(line, _money(line.amount), _money(waiting), _money(committed), _money(spent), n))
    return out


def remaining_on(line: BudgetLine) -> Decimal:
    waiting, committed, spent, _n = _sums([line.id]).get(line.id, (ZERO, ZERO, ZERO, 0))
    return _money(line.amount) - _money(waiting) - _money(committed) - _money(spent)


def lock_line(line_id: int) -> None:
    """Queue the requests that check this line's remaining funds before they write (PostgreSQL: FOR UPDATE)."""
    lock_row(BudgetLine, line_id, BudgetLine.updated_at)


@dataclass(frozen=True)
class Totals:
    budget: Decimal
    waiting: Decimal
    committed: Decimal
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.waiting - self.committed - self.spent


def totals(figures: list[LineFigures]) -> Totals:
    return Totals(
        budget=sum((f.budget for f in figures), ZERO), waiting=sum((f.waiting for f in figures), ZERO),
        committed=sum((f.committed for f in figures), ZERO), spent=sum((f.spent for f in figures), ZERO))


def burn_rate(project: Project, spent: Decimal, budget: Decimal, today: date) -> tuple[Decimal, Decimal]:
    """(share of the budget spent, share of the period elapsed), each between 0 and 1, to four places: a project
    that has spent 30% half-way through is under-spending."""
    days = (project.ends_on - project.starts_on).days + 1
    elapsed = min(max((today - project.starts_on).days + 1, 0), days)
    period = (Decimal(elapsed) / Decimal(days)).quantize(Decimal("0.0001"))
    share = (spent / budget).quantize(Decimal("0.0001")) if budget else Decimal(0)
    return share, period
