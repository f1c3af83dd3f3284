"""A status that ends soon, for the caseworker the case is assigned to: a granted status (a T visa, Continued
Presence, a residence permit) whose end date is within 60 days, or has passed while the record still says "granted",
unless a renewal (a later record of the same kind, applied for or granted) follows it."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import format_date, gettext

from casemgmt.core.journey import WorkItem
from casemgmt.residence import queries
from casemgmt.residence.models import STATUS_KINDS


def items(user) -> list[WorkItem]:
    if getattr(user, "id", None) is None or getattr(user, "organisation_id", None) is None:
        return []
    today = date.today()
    out = []
    for status in queries.expiring_statuses(user, today):
        ended = status.valid_until < today
        title = (gettext("%(status)s of case %(ref)s expired on %(day)s: renew it or record that it expired",
                         status=STATUS_KINDS.label(status.kind), ref=status.case.reference,
                         day=format_date(status.valid_until)) if ended else
                 gettext("%(status)s of case %(ref)s expires on %(day)s",
                         status=STATUS_KINDS.label(status.kind), ref=status.case.reference,
                         day=format_date(status.valid_until)))
        out.append(WorkItem(section="tasks", title=title,
                            url=url_for("residence.case_index", case_id=status.case_id),
                            due=status.valid_until, overdue=ended, case_id=status.case_id))
    return out
