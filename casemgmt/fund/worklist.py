"""The fund's requests waiting for this user's approval (supervisors and finance officers of the requesting
organisation): never their own, never one they have approved already. One query, whatever the number of requests."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import gettext

from casemgmt.access import Action, allowed
from casemgmt.core.journey import WorkItem
from casemgmt.fund import queries
from casemgmt.fund.models import CATEGORIES

LIMIT = 50


def items(user) -> list[WorkItem]:
    if not allowed(user, Action.FUND_APPROVE):
        return []
    today = date.today()
    out = []
    for request_id, reference, category, given, needed, needed_by, case_id in queries.waiting_for(user, LIMIT):
        out.append(WorkItem(
            section="approvals",
            title=gettext("Assistance fund request for case %(ref)s (%(category)s) is waiting for your approval: "
                          "%(given)d of %(needed)d approvals", ref=reference, category=CATEGORIES.label(category),
                          given=given, needed=needed),
            url=url_for("fund.request_page", request_id=request_id),
            due=needed_by, overdue=bool(needed_by and needed_by < today), case_id=case_id,
        ))
    return out
