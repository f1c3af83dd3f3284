"""The home page's "approvals" section: closure requests waiting for a supervisor of the case's organisation."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.core.journey import WorkItem
from casemgmt.i18n import format_date  # the day of a moment in the organisation's time zone
from casemgmt.journey import queries
from casemgmt.journey.models import CLOSURE_CODES


def items(user) -> list[WorkItem]:
    return [
        WorkItem(
            section="approvals",
            title=gettext("Closure of %(ref)s (%(code)s), requested by %(name)s on %(date)s",
                          ref=r.case.reference, code=CLOSURE_CODES.label(r.code),
                          name=r.requested_by.display_name if r.requested_by else "—",
                          date=format_date(r.requested_at)),
            url=url_for("journey.closure", case_id=r.case_id), case_id=r.case_id,
        )
        for r in queries.closures_waiting_for(user)
    ]
