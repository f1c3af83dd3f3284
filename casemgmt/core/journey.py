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
from datetime import date, datetime

# Order matters for the demo: referrals come before returns and reintegration, which the mission works on.
FEATURES = (
    "intake", "consent", "referrals", "shelter", "counseling", "returns", "reintegration", "tasks", "documents",
    "journey",
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


@dataclass(frozen=True)
class WorkItem:
    section: str         # one of WORK_SECTIONS
    title: str           # translated
    url: str
    due: date | None = None
    overdue: bool = False
    urgent: bool = False
