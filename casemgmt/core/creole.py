"""Dates in Haitian Creole.

CLDR, which Babel carries, has no month or day names and no date patterns for Kreyòl ayisyen: Babel writes
"2026 M11 29" for 29 November. install() fills Babel's data for "ht" once, at start, with the names in the standard
spelling (Akademi Kreyòl Ayisyen) and day-first patterns as Haiti writes dates ("29 nov 2026"), so every date the
application formats for a Creole reader (Flask-Babel's format_date and format_datetime, Babel's own) reads right.
"""

from __future__ import annotations

from babel import dates, localedata

MONTHS = ("janvye", "fevriye", "mas", "avril", "me", "jen", "jiyè", "out", "septanm", "oktòb", "novanm", "desanm")
MONTHS_SHORT = ("jan", "fev", "mas", "avr", "me", "jen", "jiy", "out", "sep", "okt", "nov", "des")
# Babel numbers the days from Monday (0).
DAYS = ("lendi", "madi", "mèkredi", "jedi", "vandredi", "samdi", "dimanch")
DAYS_SHORT = ("len", "mad", "mèk", "jed", "van", "sam", "dim")
DATE_PATTERNS = {"full": "EEEE d MMMM y", "long": "d MMMM y", "medium": "d MMM y", "short": "dd/MM/y"}


def install() -> None:
    data = localedata.load("ht")
    if data.get("casemgmt_creole_dates"):
        return
    months = {
        "wide": {i + 1: name for i, name in enumerate(MONTHS)},
        "abbreviated": {i + 1: name for i, name in enumerate(MONTHS_SHORT)},
        "narrow": {i + 1: name[0].upper() for i, name in enumerate(MONTHS)},
    }
    days = {
        "wide": dict(enumerate(DAYS)),
        "abbreviated": dict(enumerate(DAYS_SHORT)),
        "short": dict(enumerate(DAYS_SHORT)),
        "narrow": {i: name[0].upper() for i, name in enumerate(DAYS)},
    }
    data["months"] = {"format": months, "stand-alone": months}
    data["days"] = {"format": days, "stand-alone": days}
    data["date_formats"] = {kind: dates.parse_pattern(pattern) for kind, pattern in DATE_PATTERNS.items()}
    data["casemgmt_creole_dates"] = True
