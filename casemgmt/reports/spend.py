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

Every number is a GROUP BY in SQL; the amounts are summed in whole cents (an integer), so SQLite's floating-point
NUMERIC cannot put a cent wrong.
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
    """Three GROUP BYs over the paid requests of the cohort: per category and currency (amounts, persons), per case
    (the combinations of categories), and per case and currency."""
    from casemgmt.fund.models import FundRequest

    paid = paid_requests(organisation_id, filters).where(FundRequest.case_id.in_(cohort)).subquery("paid")
    amounts, currency_persons = {}, {}
    for category, cur, persons, cents in db.session.execute(
        select(paid.c.category, paid.c.currency, func.count(paid.c.case_id.distinct()), func.sum(paid.c.cents))
        .group_by(paid.c.category, paid.c.currency)
    ):
        amounts[(category, cur)] = (Decimal(int(cents)) * CENT).quantize(CENT)
        currency_persons[(category, cur)] = persons

    combos = _combos(paid, ())
    currency_combos: dict[str, dict[frozenset[str], int]] = {}
    for (cur,), combination, n in _combo_rows(paid, (paid.c.currency,)):
        currency_combos.setdefault(cur, {})[combination] = n
    persons = {code: sum(n for keys, n in combos.items() if figures.key("spend", code) in keys) for code in CATEGORIES}
    currencies = sorted({cur for _cat, cur in amounts} | ({currency} if currency else set()))
    return SpendCounts(currencies=currencies, persons=persons, amounts=amounts, currency_persons=currency_persons,
                       total_persons=sum(combos.values()), combos=combos, currency_combos=currency_combos)


def _combo_rows(paid, extra):
    """((extra values), frozenset of spend keys, persons) per distinct combination of categories of a case."""
    per_category = select(paid.c.case_id, *extra, paid.c.category).group_by(paid.c.case_id, *extra,
                                                                             paid.c.category).subquery("pc")
    extra_cols = [per_category.c[column.name] for column in extra]
    per_case = (select(*extra_cols, func.aggregate_strings(per_category.c.category, ";").label("codes"))
                .group_by(per_category.c.case_id, *extra_cols).subquery("per_case"))
    extra_cols = [per_case.c[column.name] for column in extra]
    rows = db.session.execute(select(*extra_cols, per_case.c.codes, func.count())
                              .group_by(*extra_cols, per_case.c.codes))
    out: dict[tuple, dict[frozenset[str], int]] = {}
    for *values, codes, n in rows:
        combination = frozenset(figures.key("spend", code) for code in codes.split(";"))
        bucket = out.setdefault(tuple(values), {})
        # Two strings with the same categories in another order are one combination.
        bucket[combination] = bucket.get(combination, 0) + n
    return [(values, combination, n) for values, bucket in out.items() for combination, n in bucket.items()]


def _combos(paid, extra) -> dict[frozenset[str], int]:
    return {combination: n for _values, combination, n in _combo_rows(paid, extra)}
