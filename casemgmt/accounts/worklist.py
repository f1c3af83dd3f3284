"""The home page's "approvals" section: account requests a supervisor of the organisation may decide (never their
own, never about themselves)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.accounts import approvals
from casemgmt.core.journey import WorkItem
from casemgmt.i18n import format_date  # the day of a moment in the organisation's time zone
from casemgmt.navigation import role_label


def _title(request) -> str:
    who = request.requested_by.display_name if request.requested_by else gettext("the operator")
    when = format_date(request.requested_at)
    if request.kind == "create":
        return gettext("New account %(username)s as %(role)s, requested by %(name)s on %(date)s",
                       username=request.user.username, role=role_label(request.role), name=who, date=when)
    if request.kind == "role":
        return gettext("Role change of %(username)s to %(role)s, requested by %(name)s on %(date)s",
                       username=request.user.username, role=role_label(request.role), name=who, date=when)
    return gettext("Reset of %(username)s, requested by %(name)s on %(date)s",
                   username=request.user.username, name=who, date=when)


def items(user) -> list[WorkItem]:
    return [WorkItem(section="approvals", title=_title(r), url=url_for("admin.approvals_list"))
            for r in approvals.waiting_for(user)]
