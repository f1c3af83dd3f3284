"""Date-only steps on the timeline: ordered by when they were recorded that day, shown without a time otherwise."""

from datetime import date, datetime

from casemgmt.core.journey import dated, when


def test_a_step_recorded_on_its_day_takes_the_recording_time():
    approved_at = datetime(2026, 11, 20, 10, 0)
    departure = dated(date(2026, 11, 20), datetime(2026, 11, 20, 11, 30), kind="return", title="Departure")
    assert departure.at == datetime(2026, 11, 20, 11, 30) and departure.date_only is False
    # The departure, entered as a date, no longer sorts before the approval that allowed it.
    assert departure.at > approved_at


def test_a_step_entered_later_keeps_only_its_day():
    at, date_only = when(date(2026, 11, 2), datetime(2026, 11, 20, 9, 0))
    assert at == datetime(2026, 11, 2, 0, 0) and date_only is True
    assert when(date(2026, 11, 2)) == (datetime(2026, 11, 2, 0, 0), True)


def test_moments_that_already_have_a_time_are_kept():
    moment = datetime(2026, 11, 20, 8, 15)
    assert when(moment, datetime(2026, 11, 20, 9, 0)) == (moment, False)
    assert when(None) == (None, False)
