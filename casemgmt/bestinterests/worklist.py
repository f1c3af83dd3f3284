"""Determinations waiting for this user's signature, on their home page: only those the policy lets them sign (a
named member whose vote is pending, while the panel is convened). One query, whatever the number."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.access import Action, allowed
from casemgmt.bestinterests import queries
from casemgmt.core.journey import WorkItem

LIMIT = 50


def items(user) -> list[WorkItem]:
    if getattr(user, "id", None) is None or not allowed(user, Action.BID_SIGN):
        return []
    out = []
    for member in queries.pending_for(user, LIMIT):
        determination = member.determination
        if not allowed(user, Action.BID_SIGN, determination):
            continue
        out.append(WorkItem(
            section="approvals",
            title=gettext("Sign the best-interests determination of case %(ref)s: the panel waits for you",
                          ref=determination.case.reference),
            url=url_for("bestinterests.determination", determination_id=determination.id),
            case_id=determination.case_id,
        ))
    return out
