"""Monthly exchange rates: what finance recorded, and the conversions that use them.

A conversion uses the rate of the month the money moved in (the request's month for what is waiting or approved).
No rate for that month is an error the person can act on ("record the rate for March"), never a guess: a report in
the project's currency lists every rate it used (used_rates), so a reader can redo the sums.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from casemgmt.core import money
from casemgmt.extensions import db
from casemgmt.programmes.models import ExchangeRate


class MissingRate(LookupError):
    def __init__(self, currency: str, quote_currency: str, month: date):
        super().__init__(f"{currency}->{quote_currency} {month:%Y-%m}")
        self.currency, self.quote_currency, self.month = currency, quote_currency, month


def month_start(day: date) -> date:
    return day.replace(day=1)


def rate_for(organisation_id: int, currency: str, quote_currency: str, day: date) -> ExchangeRate | None:
    return db.session.scalar(select(ExchangeRate).where(
        ExchangeRate.organisation_id == organisation_id, ExchangeRate.currency == currency,
        ExchangeRate.quote_currency == quote_currency, ExchangeRate.month == month_start(day)))


def to_currency(organisation_id: int, amount: Decimal, currency: str, quote_currency: str,
                day: date) -> tuple[Decimal, Decimal | None, date | None]:
    """(amount in quote_currency, rate used, its month); the rate and month are None for the same currency.
    Raises MissingRate when finance has not recorded that month's rate."""
    if currency == quote_currency:
        return money.quantize(amount, quote_currency), None, None
    found = rate_for(organisation_id, currency, quote_currency, day)
    if found is None:
        raise MissingRate(currency, quote_currency, month_start(day))
    return money.convert(amount, found.rate, quote_currency), found.rate, found.month
