"""The stay on the case timeline: status applications and decisions, the reunification opened, each arrival, the
family reunified, services after arrival, a cancellation. Nothing encrypted is shown (codes and dates only)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.residence import queries
from casemgmt.residence.models import SERVICE_KINDS, STATUS_KINDS, STATUS_STATES


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.RESIDENCE_VIEW, case):
        return []
    statuses = queries.statuses_of(case.id)
    reunifications = queries.reunifications_of(case.id)
    if not statuses and not reunifications:
        return []
    ids = {s.recorded_by_id for s in statuses} | {r.opened_by_id for r in reunifications} | {
        r.cancelled_by_id for r in reunifications}
    names = queries.user_names(ids)
    tab = url_for("residence.case_index", case_id=case.id)
    out: list[TimelineEntry] = []

    def add(day, title: str, detail: str = "", who: int | None = None, url: str = tab, recorded=None) -> None:
        if day is not None:
            out.append(dated(day, recorded, kind="stay", title=title, detail=detail,
                             actor=names.get(who, "") if who else "", url=url))

    for s in statuses:
        kind = STATUS_KINDS.label(s.kind)
        add(s.applied_on, gettext("Applied for %(status)s", status=kind), who=s.recorded_by_id)
        if s.decided_on is not None:
            add(s.decided_on, gettext("%(status)s: %(state)s", status=kind, state=STATUS_STATES.label(s.state)),
                gettext("Work authorisation") if s.work_authorisation else "", s.recorded_by_id)
    for r in reunifications:
        url = url_for("residence.reunification", reunification_id=r.id)
        add(r.opened_on, gettext("Family reunification opened"), who=r.opened_by_id, url=url, recorded=r.created_at)
        for m in r.members:
            add(m.arrived_on, gettext("A family member arrived"), url=url)
        add(r.reunified_on, gettext("Family reunified"), url=url)
        add(r.cancelled_on, gettext("Family reunification cancelled"), who=r.cancelled_by_id, url=url)
        for service in queries.services_of(r.id):
            add(service.provided_on, gettext("Service after arrival: %(kind)s", kind=SERVICE_KINDS.label(service.kind)),
                url=url, recorded=service.created_at)
    return out
