"""The figures of the projects list and the project page, in each project's currency.

Budget figures are project-wide (fund/budget.py: one GROUP BY whatever the number of requests); the cases are the
reader's own organisation's. Percentages are whole numbers for the bars, from the Decimal shares burn_rate gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import func, select

from casemgmt.extensions import db
from casemgmt.fund import budget
from casemgmt.fund.models import HOLDING, FundRequest
from casemgmt.programmes import queries
from casemgmt.programmes.models import Project

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ListRow:
    project: Project
    budget: Decimal
    spent: Decimal
    remaining: Decimal
    lead: bool


def project_rows(organisation_id: int) -> list[ListRow]:
    """The projects the organisation implements with their budget, spent and remaining: two queries in all."""
    projects = queries.projects_for(organisation_id)
    held = queries.held_by_project([p.id for p in projects])
    out = []
    for p in projects:
        total = sum((line.amount for line in p.lines), ZERO).quantize(Decimal("0.01"))
        waiting, committed, spent = held.get(p.id, (ZERO, ZERO, ZERO))
        out.append(ListRow(p, total, spent, total - waiting - committed - spent, p.organisation_id == organisation_id))
    return out


def percent(share: Decimal) -> int:
    """A share between 0 and 1 as a whole percentage, 0..100 (a bar's width), rounded half-even."""
    bounded = max(Decimal(0), min(share, Decimal(1)))
    return int((bounded * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class Burn:
    spent_share: Decimal
    period_share: Decimal

    @property
    def spent_percent(self) -> int:
        return percent(self.spent_share)

    @property
    def period_percent(self) -> int:
        return percent(self.period_share)


@dataclass(frozen=True)
class RateUsed:
    currency: str
    month: date
    rate: Decimal
    requests: int


@dataclass(frozen=True)
class ProjectFigures:
    lines: list[budget.LineFigures]
    totals: budget.Totals
    fund_totals: budget.Totals  # the lines the fund spends (with a category)
    burn: Burn
    rates: list[RateUsed]  # every rate the project's figures were converted at


def rates_used(project: Project) -> list[RateUsed]:
    """The rates the requests that count in the project's figures were converted at (every implementing
    organisation's): the page and the workbook print them so a reader can redo the sums. One GROUP BY."""
    rows = db.session.execute(
        select(FundRequest.currency, FundRequest.rate_month, FundRequest.rate, func.count())
        .where(FundRequest.project_id == project.id, FundRequest.rate.is_not(None),
               FundRequest.status.in_(HOLDING))
        .group_by(FundRequest.currency, FundRequest.rate_month, FundRequest.rate)
        .order_by(FundRequest.currency, FundRequest.rate_month)
    )
    return [RateUsed(currency, month, Decimal(str(rate)), n) for currency, month, rate, n in rows]


def project_figures(project: Project, today: date | None = None) -> ProjectFigures:
    lines = budget.line_figures(project)
    totals = budget.totals(lines)
    spent_share, period_share = budget.burn_rate(project, totals.spent, totals.budget, today or date.today())
    return ProjectFigures(lines, totals, budget.totals([f for f in lines if f.tracked]),
                          Burn(spent_share, period_share), rates_used(project))
