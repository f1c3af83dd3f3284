"""Dates around an 18th birthday, for the tests of every child rule (the day before it, the day of it)."""

from __future__ import annotations

from datetime import date, timedelta

TODAY = date.today()
DAY = timedelta(days=1)


def born_years_before(years: int, day: date) -> date:
    """The date of birth of someone who turns `years` on `day` (28 February for a 29 February birthday)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def eighteen_on(day: date) -> date:
    """The date of birth of someone whose 18th birthday is `day`."""
    return born_years_before(18, day)


def not_29_february(day: date) -> date:
    return day - DAY if (day.month, day.day) == (2, 29) else day


# An 18th birthday a little before today, so the day before and the day of it are both valid past action dates.
BIRTHDAY = not_29_february(TODAY - 10 * DAY)
BORN = eighteen_on(BIRTHDAY)
