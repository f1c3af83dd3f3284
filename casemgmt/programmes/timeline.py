"""Enrolments on the case timeline: the user's organisation's, as its projects tab shows them."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.programmes import queries


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.ENROLMENT_MANAGE, case):
        return []
    enrolments = queries.enrolments_of(case.id, actor.organisation_id)
    if not enrolments:
        return []
    names = queries.user_names({e.enrolled_by_id for e in enrolments})
    url = url_for("programmes.case_index", case_id=case.id)
    out: list[TimelineEntry] = []
    for e in enrolments:
        label = f"{e.project.code} · {e.project.title}"
        out.append(dated(e.enrolled_on, e.created_at, kind="enrolment", title=gettext("Enrolled in a project"),
                         detail=label, actor=names.get(e.enrolled_by_id, ""), url=url))
        if e.ended_on:
            out.append(dated(e.ended_on, kind="enrolment", title=gettext("Enrolment in a project ended"),
                             detail=label, url=url))
    return out
