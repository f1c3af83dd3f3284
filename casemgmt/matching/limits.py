"""What a supervisor sees of their colleagues' duplicate checks and searches (issue 13, item 4).

A script walking names and birth dates through the new-case form or the search box is stopped by the hard limits
(casemgmt.ratelimits.LIMITS) and, before that, shows up as a burst (ratelimits.BURSTS). Both are told to the user's
organisation's supervisors (notices "check_limit_reached", "check_burst"), who also see, per colleague, how many
checks and searches they made lately: counts from the audit trail, never what was looked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from limits import parse_many
from sqlalchemy import case, func, select

from casemgmt.access.roles import Role
from casemgmt.accounts.models import User
from casemgmt.audit.models import AuditEvent
from casemgmt.core.time import utcnow
from casemgmt.extensions import db

CHECK, SEARCH = "check", "search"
# The audited action of each kind: the duplicate check (new case form, opening a case from a contact) and search.
ACTIONS = {CHECK: "intake.duplicate_check", SEARCH: "case.search"}
RECENT = timedelta(minutes=10)
DAY = timedelta(hours=24)


def watched_kind(endpoint: str | None) -> str | None:
    from casemgmt.ratelimits import WATCHED

    return WATCHED.get(endpoint or "")


def supervisors_told(session, actor) -> list[User]:
    from casemgmt.notifications import recipients

    return [u for u in recipients.staff(session, getattr(actor, "organisation_id", None), [Role.SUPERVISOR])
            if u.id != getattr(actor, "id", None)]


def limit_reached(actor, endpoint: str, event: AuditEvent) -> int:
    """The user's organisation's supervisors are told that they reached a hard limit of checks or searches (called
    where the 429 is audited, once per window: ratelimits.audit_breach). The notices are written here rather than by
    a rule: notices are derived from successful events only, and a refusal is not one. The caller commits."""
    from casemgmt.notifications import derive
    from casemgmt.notifications.rules import Notice, path_for

    if watched_kind(endpoint) is None or getattr(actor, "id", None) is None:
        return 0
    link = path_for("matching.index")
    notices = [Notice(u.id, "check_limit_reached", link, None, "user", str(actor.id))
               for u in supervisors_told(db.session, actor)]
    db.session.flush()
    derive.save(db.session, notices, event.seq)
    return len(notices)


def first_seq_since(moment: datetime) -> int | None:
    """The first audit event at or after `moment`, found through the primary key alone (the table has no index on
    time, and a window's count must not read the whole trail): events are numbered in the order they are written,
    under a lock, with the time they are written, so time grows with the sequence number. A gallop back from the
    newest event, then a binary search: about 2·log2(events in the window) primary-key reads."""
    newest = db.session.scalar(select(func.max(AuditEvent.seq)))
    if newest is None:
        return None

    def at(seq: int) -> datetime | None:
        return db.session.scalar(select(AuditEvent.occurred_at).where(AuditEvent.seq >= seq)
                                 .order_by(AuditEvent.seq).limit(1))

    if at(newest) < moment:
        return newest + 1
    step, low, high = 1, 0, newest  # at(high) >= moment; low is before the window (or 0)
    while newest - step > 0:
        probe = newest - step
        if at(probe) < moment:
            low = probe
            break
        high, step = probe, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        if at(middle) < moment:
            low = middle
        else:
            high = middle
    return high


@dataclass(frozen=True)
class Activity:
    user: User
    checks_recent: int
    checks_day: int
    searches_recent: int
    searches_day: int
    limits_reached: int
    bursts: int

    @property
    def flagged(self) -> bool:
        return bool(self.limits_reached or self.bursts)


def activity(organisation_id: int, now: datetime | None = None) -> list[Activity]:
    """Per active colleague of the organisation (and anyone of it who checked or searched): the checks and searches
    of the last ten minutes and of the last day, and the limits reached and bursts of the last day."""
    from casemgmt.notifications import recipients

    now = now or utcnow()
    first = first_seq_since(now - DAY)
    counts: dict[int, dict[str, int]] = {}
    if first is not None:
        recent = first_seq_since(now - RECENT)
        actions = [*ACTIONS.values(), "ratelimit.burst"]
        rows = db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.action, func.count(),
                   func.sum(case((AuditEvent.seq >= recent, 1), else_=0)))
            .where(AuditEvent.seq >= first, AuditEvent.organisation_id == organisation_id,
                   AuditEvent.action.in_(actions), AuditEvent.actor_id.is_not(None))
            .group_by(AuditEvent.actor_id, AuditEvent.action)
        ).all()
        for actor_id, action, day, last in rows:
            mine = counts.setdefault(actor_id, {})
            mine[action], mine[action + "/recent"] = day, int(last or 0)
        # A refusal names its endpoint in its details (a few rows a day at most: read, not counted in SQL).
        for actor_id, details in db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.details)
            .where(AuditEvent.seq >= first, AuditEvent.organisation_id == organisation_id,
                   AuditEvent.action == "ratelimit.exceeded", AuditEvent.actor_id.is_not(None))
        ):
            try:
                endpoint = json.loads(details or "{}").get("endpoint")
            except (ValueError, AttributeError):
                endpoint = None
            if watched_kind(endpoint) is not None:
                mine = counts.setdefault(actor_id, {})
                mine["limits"] = mine.get("limits", 0) + 1
    people = {u.id: u for u in recipients.staff(db.session, organisation_id)}
    missing = [i for i in counts if i not in people]
    if missing:
        people.update({u.id: u for u in db.session.scalars(
            select(User).where(User.id.in_(missing), User.organisation_id == organisation_id))})
    out = []
    for user in sorted(people.values(), key=lambda u: (u.display_name.casefold(), u.id)):
        mine = counts.get(user.id, {})
        out.append(Activity(
            user,
            mine.get(ACTIONS[CHECK] + "/recent", 0), mine.get(ACTIONS[CHECK], 0),
            mine.get(ACTIONS[SEARCH] + "/recent", 0), mine.get(ACTIONS[SEARCH], 0),
            mine.get("limits", 0), mine.get("ratelimit.burst", 0),
        ))
    return out


@dataclass(frozen=True)
class LimitRow:
    kind: str
    endpoint: str
    limits: str
    burst: str


def limits_in_force() -> list[LimitRow]:
    """The hard limits per endpoint and the burst that is reported before them (ratelimits)."""
    from casemgmt.ratelimits import BURSTS, LIMITS, WATCHED

    return [LimitRow(kind, endpoint, "; ".join(rule.limits for rule in LIMITS.get(endpoint, ())), BURSTS[kind])
            for endpoint, kind in sorted(WATCHED.items(), key=lambda item: (item[1], item[0]))]


def in_words(notation: str) -> str:
    """A limit in Flask-Limiter's notation ("10/minute;60/hour", "20 per 10 minutes") as the supervisor reads it, in
    their language: "10 a minute, 60 an hour". Each phrase is one whole message, so translators order its words."""
    phrases = []
    for item in parse_many(notation):
        unit, many = item.GRANULARITY.name, item.multiples > 1
        if unit == "second":
            text = gettext("%(num)d in %(n)d seconds") if many else gettext("%(num)d a second")
        elif unit == "minute":
            text = gettext("%(num)d in %(n)d minutes") if many else gettext("%(num)d a minute")
        elif unit == "hour":
            text = gettext("%(num)d in %(n)d hours") if many else gettext("%(num)d an hour")
        elif unit == "day":
            text = gettext("%(num)d in %(n)d days") if many else gettext("%(num)d a day")
        else:
            phrases.append(notation)  # months and years are not used for these pages
            continue
        phrases.append(text % {"num": item.amount, "n": item.multiples})
    return ", ".join(phrases)
