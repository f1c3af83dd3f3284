"""The audit trail's filters, read from the query string: who, what, which case, from and to which day.

Days are the organisation's (what its staff call "the 5th"), turned into UTC moments for the query. Input that cannot
be read is not silently dropped: the page says which filter is wrong and lists nothing, so an auditor never mistakes
an unfiltered list for a filtered one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import request
from flask_babel import gettext

from casemgmt.audit import queries
from casemgmt.core import params, zones

MAX_REFERENCE = 16  # cases.models.Case.reference


@dataclass
class AuditFilters:
    user: int | None = None
    action: str | None = None
    case: str | None = None          # the reference as typed
    case_id: str | None = None       # the case it names, when the reader may know it
    date_from: date | None = None
    date_to: date | None = None
    denied: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    # Filled in from the request as it was sent, so the form shows what the user typed even when it was wrong.
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def nothing_matches(self) -> bool:
        """A filter that cannot match anything (an unreadable value, a case the reader may not know)."""
        return bool(self.errors)

    def query_args(self) -> dict:
        tz = zones.current_zone()
        since = zones.to_utc(datetime.combine(self.date_from, time.min), tz) if self.date_from else None
        # "To the 5th" includes the whole 5th: up to the start of the 6th.
        until = zones.to_utc(datetime.combine(self.date_to + timedelta(days=1), time.min), tz) \
            if self.date_to else None
        return {"action": self.action, "denied_only": self.denied, "actor_id": self.user, "case_id": self.case_id,
                "since": since, "until": until}

    def link_args(self) -> dict:
        """The filters as query arguments for the pager's links (empty ones left out)."""
        return {key: value for key, value in self.raw.items() if value}


def _day(text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    # Far-off years would overflow when turned into UTC (year 1 east of Greenwich); nothing was logged then anyway.
    return day if 1900 <= day.year <= 2999 else None


def from_request(actor) -> AuditFilters:
    args = request.args
    raw = {name: (args.get(name) or "").strip()[:64] for name in ("user", "action", "case", "from", "to")}
    raw["denied"] = "1" if args.get("denied") == "1" else ""
    found = AuditFilters(raw=raw, action=raw["action"] or None, denied=raw["denied"] == "1")
    if raw["user"]:
        found.user = params.parse_id(raw["user"])
        if found.user is None:
            found.errors["user"] = gettext("Choose a user from the list.")
    for name, attribute in (("from", "date_from"), ("to", "date_to")):
        if raw[name]:
            day = _day(raw[name])
            if day is None:
                found.errors[name] = gettext("Enter a date as YYYY-MM-DD, for example 2026-03-05.")
            setattr(found, attribute, day)
    if found.date_from and found.date_to and found.date_from > found.date_to:
        found.errors["to"] = gettext("The end date is before the start date.")
    if raw["case"]:
        found.case = raw["case"]
        found.case_id = queries.case_for_reference(actor, raw["case"]) if len(raw["case"]) <= MAX_REFERENCE else None
        if found.case_id is None:
            found.errors["case"] = gettext("No case with the reference %(ref)s among the cases you may see.",
                                           ref=raw["case"])
    return found
