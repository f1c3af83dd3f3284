"""Time zones: each organisation reads and enters times in its own zone, while the database keeps naive UTC
(core/time.py).

An organisation's zone is an IANA name (Organisation.time_zone, "America/Lima"). A request's zone is the logged-in
user's organisation's; outside a request (the CLI, jobs, the demo) it is UTC. Conversions happen at the edges only:
pages format stored moments into the zone (casemgmt/i18n.py), and forms that take a time of day turn the wall time
entered into UTC before the operation sees it. Date-only fields are days, not moments, and are never converted.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import g, has_request_context
from flask_login import current_user

from casemgmt.core.time import utcnow

log = logging.getLogger(__name__)

UTC_NAME = "UTC"
UTC = ZoneInfo(UTC_NAME)
# The geographic areas of the tz database. Other names are aliases kept for old systems ("US/Eastern",
# "Etc/GMT+5" with its inverted sign, "posixrules"), which an administrator should not have to choose among.
AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """UTC, then every geographic zone the system's tz database knows, sorted."""
    names = sorted(n for n in available_timezones() if "/" in n and n.split("/", 1)[0] in AREAS)
    return (UTC_NAME, *names)


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(zone_names())


def is_zone(name: str | None) -> bool:
    return bool(name) and name in _known()


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    """The zone named, or UTC for a name the tz database does not know (a row edited by hand, an old tzdata)."""
    if not is_zone(name):
        if name:
            log.warning("unknown time zone %r: using UTC", name)
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("time zone %r cannot be loaded: using UTC", name)
        return UTC


def zone_for_country(country: str | None) -> str | None:
    """The country's zone when it has exactly one (Peru, Colombia, Haiti), else None (the United States, Brazil,
    an unknown code): a guess between several zones would put times hours off without anyone noticing."""
    # pytz ships the tz database's country table (zone.tab), which zoneinfo does not expose; flask-babel needs it.
    import pytz

    names = pytz.country_timezones.get((country or "").upper(), [])
    return names[0] if len(names) == 1 and is_zone(names[0]) else None


def current_zone() -> ZoneInfo:
    """The zone this request shows and reads times in: the user's organisation's (UTC outside a request)."""
    if not has_request_context():
        return UTC
    cached = g.get("_casemgmt_zone")
    if cached is not None:
        return cached
    found = UTC
    if current_user and current_user.is_authenticated:
        organisation = getattr(current_user, "organisation", None)
        found = zone(getattr(organisation, "time_zone", None))
    g._casemgmt_zone = found
    return found


def to_local(moment: datetime, tz: ZoneInfo | None = None) -> datetime:
    """A stored moment (naive UTC) as an aware datetime in `tz` (default: the request's zone)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(tz or current_zone())


def to_utc(wall: datetime, tz: ZoneInfo | None = None) -> datetime:
    """A wall-clock time entered in `tz` (default: the request's zone) as a stored moment (naive UTC).

    In the hour a clock is put back, a wall time happens twice: the first is taken (fold=0). In the hour it skips,
    a wall time never happens: zoneinfo reads it with the offset from before the change, as clocks still showed it."""
    if wall.tzinfo is not None:
        return wall.astimezone(UTC).replace(tzinfo=None)
    return wall.replace(tzinfo=tz or current_zone()).astimezone(UTC).replace(tzinfo=None)


def local_date(moment: datetime, tz: ZoneInfo | None = None) -> date:
    """The day a stored moment falls on in `tz` (default: the request's zone)."""
    return to_local(moment, tz).date()


def local_now(tz: ZoneInfo | None = None) -> datetime:
    """Now, as a naive wall-clock time in `tz` (default: the request's zone): what a form's 'empty: now' means."""
    return to_local(utcnow(), tz).replace(tzinfo=None)


def local_today(tz: ZoneInfo | None = None) -> date:
    return local_now(tz).date()


def label(tz: ZoneInfo | None = None) -> str:
    """How a zone is named next to a time: its IANA name ("America/Lima"), which unlike an abbreviation ("CST") is
    never ambiguous."""
    return (tz or current_zone()).key
