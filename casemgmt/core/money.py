"""Money: decimal amounts with an ISO 4217 currency, never floats.

- parse_amount(): what a person typed, to a Decimal with the currency's own number of decimals (Babel's CLDR data:
  2 for USD, 0 for CLP and JPY, 3 for KWD). More decimals than the currency has are refused, not rounded away, so
  nothing typed is silently changed.
- format_money(): an amount in the reader's locale, with the currency's symbol or code (Babel).
- convert(): an amount into another currency at a stated rate, rounded half-even to that currency's decimals.
- allocate(): a total split by weights so that the rounded parts add up to the rounded total exactly (largest
  remainder), for reports whose lines must add up to the totals they print.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal, get_currency_precision, list_currencies

# The rounding every conversion uses, stated on the reports that convert.
ROUNDING = ROUND_HALF_EVEN
# The largest amount the columns hold (Numeric(14, 2) and the like): 999,999,999,999.
MAX_AMOUNT = Decimal("999999999999")
# ISO 4217 minus its codes for "no currency", "testing", precious metals and the IMF's units.
_NOT_MONEY = {"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD"}
CURRENCIES: frozenset[str] = frozenset(code for code in list_currencies() if len(code) == 3 and code not in _NOT_MONEY)


class MoneyError(ValueError):
    """Input that is not an amount of this currency; the message is for the person who typed it."""


def is_currency(code: str | None) -> bool:
    return bool(code) and code in CURRENCIES


def exponent(currency: str) -> int:
    """How many decimals the currency has (CLDR): 2 for USD, 0 for CLP."""
    return get_currency_precision(currency)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUNDING)


def parse_amount(text: object, currency: str, *, allow_zero: bool = False) -> Decimal:
    """A positive amount of `currency` from a form: digits with at most one decimal point. Group separators (spaces,
    commas before a point) are not guessed at: "1,500" could be fifteen hundred or one and a half."""
    from flask_babel import gettext

    if not is_currency(currency):
        raise MoneyError(gettext("Choose the currency (an ISO 4217 code such as USD or PEN)."))
    if isinstance(text, Decimal):
        value = text
    else:
        raw = str(text if text is not None else "").strip()
        if not raw:
            raise MoneyError(gettext("Give the amount."))
        if isinstance(text, float):
            raise TypeError("amounts are never floats")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise MoneyError(gettext("Give the amount as digits, with a point before any decimals: 1500.50.")) from None
    if not value.is_finite():
        raise MoneyError(gettext("Give the amount as digits, with a point before any decimals: 1500.50."))
    places = exponent(currency)
    if value != value.quantize(quantum(currency), rounding=ROUNDING):
        if places == 0:
            raise MoneyError(gettext("%(currency)s has no decimals: give a whole amount.", currency=currency))
        raise MoneyError(gettext("%(currency)s has %(places)d decimals: give at most that many.",
                                 currency=currency, places=places))
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError(gettext("The amount must be more than zero."))
    if value > MAX_AMOUNT:
        raise MoneyError(gettext("The amount is too large."))
    return quantize(value, currency)


def format_money(amount: Decimal | None, currency: str, locale: str | None = None) -> str:
    """The amount as the reader writes money: "US$1,500.00" in en, "USD 1.500,00" in es. Empty for None."""
    if amount is None:
        return ""
    return format_currency(amount, currency, locale=locale or _locale(), currency_digits=True)


def format_rate(rate: Decimal, locale: str | None = None) -> str:
    return format_decimal(rate, format="#,##0.########", locale=locale or _locale())


def _locale() -> str:
    from casemgmt.navigation import current_locale

    try:
        return current_locale()
    except RuntimeError:  # outside a request (the CLI, a test without one)
        return "en"


def convert(amount: Decimal, rate: Decimal, to_currency: str) -> Decimal:
    """`amount` times `rate` (units of `to_currency` per unit of the amount's currency), rounded half-even."""
    if isinstance(amount, float) or isinstance(rate, float):
        raise TypeError("amounts and rates are never floats")
    return quantize(amount * rate, to_currency)


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` by `weights` into parts rounded to the currency that add up to the rounded total exactly: each
    part is rounded down, and the units left over go to the largest remainders (the first of equals)."""
    total = quantize(total, currency)
    weight_sum = sum(weights, Decimal(0))
    if not weights:
        return []
    if weight_sum == 0:
        return [Decimal(0).quantize(quantum(currency))] * len(weights)
    unit = quantum(currency)
    exact = [total * w / weight_sum for w in weights]
    floors = [(e // unit) * unit for e in exact]
    left = int((total - sum(floors, Decimal(0))) / unit)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += unit
    return [f.quantize(unit) for f in floors]


def currency_choices() -> list[tuple[str, str]]:
    """(code, "USD — US Dollar") for a select, in the reader's language."""
    from babel.numbers import get_currency_name

    locale = _locale()
    return sorted(((code, f"{code} — {get_currency_name(code, locale=locale)}") for code in CURRENCIES),
                  key=lambda item: item[0])
