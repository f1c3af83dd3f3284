"""Dates, numbers and money follow each language's own conventions (CLDR through Babel), and Haitian Creole, which
CLDR leaves without month names, reads "29 nov 2026" rather than "2026 M11 29" (casemgmt/core/creole.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import flask_babel
import pytest
from flask import session

from casemgmt.core import money
from casemgmt.i18n import format_date

DAY = date(2026, 11, 29)
NNBSP, NBSP = "\u202f", "\xa0"


def _in(app, lang: str):
    context = app.test_request_context("/")
    context.push()
    session["language"] = lang
    flask_babel.refresh()
    return context


@pytest.mark.parametrize(("lang", "day", "number", "amount"), [
    ("en", "Nov 29, 2026", "12,345.6", "$1,250.00"),
    ("es", "29 nov 2026", "12.345,6", f"1.250,00{NBSP}US$"),
    ("fr", "29 nov. 2026", f"12{NNBSP}345,6", f"1{NNBSP}250,00{NBSP}$US"),
    ("pt", "29 de nov. de 2026", "12.345,6", f"US${NBSP}1.250,00"),
    ("ht", "29 nov 2026", f"12{NBSP}345,6", f"US${NBSP}1{NBSP}250,00"),
])
def test_each_language_formats_in_its_own_way(app, lang, day, number, amount):
    context = _in(app, lang)
    try:
        assert format_date(DAY) == day
        assert flask_babel.format_decimal(Decimal("12345.6")) == number
        assert money.format_money(Decimal("1250"), "USD") == amount
    finally:
        context.pop()


def test_creole_has_month_and_day_names(app):
    context = _in(app, "ht")
    try:
        assert flask_babel.format_date(date(2026, 7, 1), "full") == "mèkredi 1 jiyè 2026"
        assert flask_babel.format_date(date(2026, 2, 3), "MMMM y") == "fevriye 2026"
        assert flask_babel.format_datetime(datetime(2026, 11, 29, 14, 5), rebase=False) == "29 nov 2026 14:05:00"
    finally:
        context.pop()


def test_the_system_role_of_audit_events_is_translated(app):
    """The audit trail's line under each sentence names the role; the application's own events said "system"."""
    from casemgmt.navigation import role_label

    context = _in(app, "es")
    try:
        assert role_label("system") == "El sistema"
        assert role_label("caseworker") != "caseworker"
        assert role_label("unknown-role") == "unknown-role"
    finally:
        context.pop()
