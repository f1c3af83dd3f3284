"""Contracts between the journey's features and the pages that gather them (timeline, work list).

A feature package may provide:
- `timeline.py` with `entries(actor, case) -> list[TimelineEntry]`: what happened, for the case timeline. It must
  leave out what the actor may not read (e.g. counseling notes);
- `worklist.py` with `items(user) -> list[WorkItem]`: what waits for this user, for their home page;
- `guards.py` that calls `casemgmt.cases.stages.register_guard(to_stage, check)` at import time.
The journey package collects them; a feature never imports another feature's views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from casemgmt.core import zones

# Order matters for the demo: referrals come before returns and reintegration, which the mission works on.
FEATURES = (
    "intake", "consent", "referrals", "families", "bestinterests", "shelter", "counseling", "returns", "reintegration",
    "tasks", "documents", "programmes", "fund", "residence", "journey", "notifications",
)

WORK_SECTIONS = ("crisis", "approvals", "referrals", "tasks", "my_cases")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str            # e.g. "contact", "screening", "placement", "session", "return", "visit", "referral"
    title: str           # short, translated
    detail: str = ""     # translated; never something the actor may not read
    actor: str = ""      # display name of who did it
    url: str | None = None
    date_only: bool = False  # only the day is known: the page shows no time of day (see in_order for its place)


def when(day: date | datetime | None, recorded: datetime | None = None) -> tuple[datetime | None, bool]:
    """(moment, date_only) for an event known by its day. Many steps are entered as a date (admitted on, departed
    on); on the day they were recorded, the recording time orders them after what was done earlier that day (an
    approval before the departure it allowed). Otherwise the day's start stands in and the time is not shown."""
    if day is None or isinstance(day, datetime):
        return day, False
    # The day was entered in the organisation's zone: the recording moment counts if it fell on that day there.
    if recorded is not None and zones.local_date(recorded) == day:
        return recorded, False
    return datetime.combine(day, time.min), True


def dated(day: date | datetime | None, recorded: datetime | None = None, **fields) -> TimelineEntry:
    at, date_only = when(day, recorded)
    return TimelineEntry(at=at, date_only=date_only, **fields)


def _oldest_first_key(entry: TimelineEntry, tz) -> tuple:
    # A date-only entry's `at` is its day (midnight, no zone); a timed entry's is a moment, whose day is the one it
    # falls on in the zone the page shows.
    day = entry.at.date() if entry.date_only else zones.local_date(entry.at, tz)
    return day, not entry.date_only, entry.at


def in_order(entries: list[TimelineEntry], newest_first: bool = True,
             tz: ZoneInfo | None = None) -> list[TimelineEntry]:
    """The timeline's one order. Timed entries go by their moment. A date-only entry sits at the start of its day:
    before every timed entry of that day (one at 00:00 included) and after everything of the day before. The day is
    the day in the zone the page shows (the organisation's, core/zones.py): 02:00 UTC on the 5th is an evening of the
    4th in Lima, and sits there, after the 4th's date-only entries.
    Equal places keep the order the entries came in (the features' order, then each feature's), and newest first is
    exactly oldest first read backwards, ties included, so the two views never disagree about what came first.
    Entries without a moment have no place and are left out."""
    tz = tz or zones.current_zone()
    placed = sorted((e for e in entries if e.at is not None), key=lambda entry: _oldest_first_key(entry, tz))
    return placed[::-1] if newest_first else placed


@dataclass(frozen=True)
class WorkItem:
    section: str         # one of WORK_SECTIONS
    title: str           # translated
    url: str
    due: date | None = None
    overdue: bool = False
    urgent: bool = False
    # The case the item is about: the home page shows the person's name beside it to those who may see it.
    case_id: str | None = None
