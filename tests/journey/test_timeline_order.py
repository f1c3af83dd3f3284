"""The timeline's one order (core/journey.in_order): a date-only entry sits at the start of its (UTC) day, before every
timed entry of that day and after the day before; ties keep the features' order; newest first is oldest first read
backwards."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.journey import queries as journey_queries

DAY = date(2026, 11, 20)


def _timed(title: str, hour: int, minute: int = 0, day: date = DAY) -> TimelineEntry:
    return TimelineEntry(at=datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute),
                         kind="test", title=title)


def _on(title: str, day: date = DAY, recorded: datetime | None = None) -> TimelineEntry:
    return dated(day, recorded, kind="test", title=title)


@pytest.fixture
def features(monkeypatch):
    """Install fake features; each gives its entries in the order given (the real features' order is FEATURES)."""
    installed: list[list[TimelineEntry]] = []

    def fake(part):
        assert part == "timeline"
        return [SimpleNamespace(entries=lambda actor, case, found=found: list(found)) for found in installed]

    monkeypatch.setattr(journey_queries, "feature_modules", fake)
    return installed


def _titles(newest_first: bool) -> list[str]:
    return [e.title for e in journey_queries.timeline(None, None, newest_first=newest_first)]


def test_a_date_only_entry_sits_at_the_start_of_its_day_among_the_timed_ones(features):
    # A feature earlier in the order has timed entries that day, one exactly at midnight; a later feature knows only
    # the day of its entry (entered days later, so no recording time stands in).
    features.append([_timed("evening before", 23, 59, date(2026, 11, 19)), _timed("midnight call", 0),
                     _timed("morning", 9), _timed("evening", 18)])
    features.append([_on("admitted (day only)", recorded=datetime(2026, 11, 25, 8, 0)),
                     _on("next day (day only)", date(2026, 11, 21))])
    assert _titles(newest_first=False) == [
        "evening before", "admitted (day only)", "midnight call", "morning", "evening", "next day (day only)"]
    shown = [e for e in journey_queries.timeline(None, None, newest_first=False) if e.title == "admitted (day only)"]
    assert shown[0].date_only and shown[0].at.date() == DAY  # shown on its date, with no invented time


def test_newest_first_is_oldest_first_backwards_ties_included(features):
    features.append([_on("consent given"), _timed("call", 10), _timed("case opened", 10)])
    features.append([_on("admitted"), _timed("stage moved", 10)])
    oldest = _titles(newest_first=False)
    # Equal places keep the features' order, then each feature's.
    assert oldest == ["consent given", "admitted", "call", "case opened", "stage moved"]
    assert _titles(newest_first=True) == list(reversed(oldest))


def test_a_step_recorded_on_its_day_sits_at_its_recording_time(features):
    features.append([_timed("approved", 10), _timed("lunch call", 13)])
    features.append([_on("departure", recorded=datetime(2026, 11, 20, 11, 30))])
    assert _titles(newest_first=False) == ["approved", "departure", "lunch call"]


def test_an_entry_without_a_moment_is_left_out_instead_of_breaking_the_page(features):
    features.append([_timed("call", 10), dated(None, kind="test", title="no day")])
    assert _titles(newest_first=True) == ["call"]
