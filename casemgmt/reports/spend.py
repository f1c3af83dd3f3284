"""Spend by category: the emergency fund's money paid to the report's cohort in the period.

A request counts when it was paid (status disbursed, or refunded in part) on a day of the period, by the
supervisor's organisation, to a case of the cohort; with a project or donor filter, only requests charged to those
projects. Its amount is net of refunds (project_amount - refunded_project_amount, refunds as recorded today), in
the project's currency at the rate fixed when the request was made; a request refunded in full paid nobody anything
and counts for no one. Amounts add up only within one currency, so the table has one amount column per currency
(with a project filter, the project's currency alone).

Persons are distinct cases: a person helped in two categories counts on both lines and once in the total (the lines
do not add up to it), and the figure "spend:<category>" lists exactly those cases, "spend:any" the total. The
amounts do add up: each line is a sum of requests, the total the sum of the lines.

The paid requests are grouped once in SQL, per case, category and currency, with their amounts summed in whole
cents (an integer), so SQLite's floating-point NUMERIC cannot put a cent wrong; the figures are tallied from those
rows (one per person and category, a few thousand at 100,000 cases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, cast, func, select

from casemgmt.extensions import db
from casemgmt.fund.models import CATEGORIES
from casemgmt.reports import figures
from casemgmt.reports.filters import ReportFilters, project_ids

PAID = ("disbursed", "refunded")
ANY = "any"
CENT = Decimal("0.01")


def net_amount():
    from casemgmt.fund.models import FundRequest

    return FundRequest.project_amount - FundRequest.refunded_project_amount


def paid_requests(organisation_id: int, filters: ReportFilters):
    """SELECT (case_id, category, currency, cents) of the requests paid in the period (the module's definition)."""
    from casemgmt.fund.models import Disbursement, FundRequest
    from casemgmt.programmes.models import Project

    where = [FundRequest.organisation_id == organisation_id, FundRequest.status.in_(PAID), net_amount() > 0]
    if filters.start:
        where.append(Disbursement.paid_on >= filters.start)
    if filters.end:
        where.append(Disbursement.paid_on <= filters.end)
    if filters.programme:
        where.append(FundRequest.project_id.in_(project_ids(organisation_id, filters)))
    cents = cast(func.round(net_amount() * 100), Integer)
    return (
        select(FundRequest.case_id, FundRequest.category, Project.currency, cents.label("cents"))
        .join(Disbursement, Disbursement.request_id == FundRequest.id)
        .join(Project, Project.id == FundRequest.project_id)
        .where(*where)
    )


def _label(arg: str) -> str:
    if arg == ANY:
        return _l("Emergency assistance paid in the period")
    return _l("Emergency assistance paid in the period: %(category)s", category=CATEGORIES.label(arg))


@figures.register_rows("spend", _label)
def _spend(arg, ctx):
    if arg != ANY and arg not in CATEGORIES:
        return None
    paid = paid_requests(ctx.organisation_id, ctx.filters).subquery("paid")
    where = [] if arg == ANY else [paid.c.category == arg]
    return select(paid.c.case_id).where(*where)


@dataclass
class SpendCounts:
    """The exact figures, before any suppression."""

    currencies: list[str]
    persons: dict[str, int]  # category: distinct cases
    amounts: dict[tuple[str, str], Decimal]  # (category, currency): net amount
    currency_persons: dict[tuple[str, str], int]  # (category, currency): distinct cases
    total_persons: int  # distinct cases paid anything
    # Persons per combination of categories (a frozenset of figure keys), overall and per currency: what merging
    # small categories into one line needs to count that line's distinct persons.
    combos: dict[frozenset[str], int] = field(default_factory=dict)
    currency_combos: dict[str, dict[frozenset[str], int]] = field(default_factory=dict)


def counts(organisation_id: int, filters: ReportFilters, cohort, currency: str | None = None) -> SpendCounts:
    """One GROUP BY over the paid requests of the cohort, per case, category and currency (its net cents), and the
    rest in Python: amounts and persons per category and currency, and the combinations of categories per case and
    per case and currency. A row is one (case, category, currency), so counting rows counts distinct cases. (Three
    GROUP BYs, each joining the paid requests with the cohort again, cost three times as much: about 40% of the
    donor report at 100,000 cases.)"""
    from casemgmt.fund.models import FundRequest

    paid = paid_requests(organisation_id, filters).where(FundRequest.case_id.in_(cohort)).subquery("paid")
    rows = db.session.execute(
        select(paid.c.case_id, paid.c.category, paid.c.currency, func.sum(paid.c.cents))
        .group_by(paid.c.case_id, paid.c.category, paid.c.currency)
    )
    cents: dict[tuple[str, str], int] = {}
    currency_persons: dict[tuple[str, str], int] = {}
    per_case: dict[str, set[str]] = {}
    per_case_currency: dict[tuple[str, str], set[str]] = {}
    for case_id, category, cur, amount in rows:
        cents[(category, cur)] = cents.get((category, cur), 0) + int(amount)
        currency_persons[(category, cur)] = currency_persons.get((category, cur), 0) + 1
        key = figures.key("spend", category)
        per_case.setdefault(case_id, set()).add(key)
        per_case_currency.setdefault((case_id, cur), set()).add(key)
    amounts = {pair: (Decimal(total) * CENT).quantize(CENT) for pair, total in cents.items()}
    combos = _tally(per_case.values())
    currency_combos: dict[str, dict[frozenset[str], int]] = {}
    for (_case_id, cur), keys in per_case_currency.items():
        bucket = currency_combos.setdefault(cur, {})
        combination = frozenset(keys)
        bucket[combination] = bucket.get(combination, 0) + 1
    persons = {code: sum(n for keys, n in combos.items() if figures.key("spend", code) in keys) for code in CATEGORIES}
    currencies = sorted({cur for _cat, cur in amounts} | ({currency} if currency else set()))
    return SpendCounts(currencies=currencies, persons=persons, amounts=amounts, currency_persons=currency_persons,
                       total_persons=sum(combos.values()), combos=combos, currency_combos=currency_combos)


def _tally(sets) -> dict[frozenset[str], int]:
    """Persons per combination of spend keys, from each person's set of keys."""
    out: dict[frozenset[str], int] = {}
    for keys in sets:
        combination = frozenset(keys)
        out[combination] = out.get(combination, 0) + 1
    return out
