"""Family tracing on the case timeline: requests opened and closed, actions, family assessment visits.

Only for those who may see the family (family.view): the entries name codes (the relationship, the kind of action,
the outcome, the recommendation), never a family member's name or what was written about them."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.extensions import db
from casemgmt.families import queries
from casemgmt.families.models import (
    ASSESSMENT_RECOMMENDATIONS,
    RELATIONSHIPS,
    TRACING_ACTION_KINDS,
    TRACING_ACTION_OUTCOMES,
    TRACING_REASONS,
    TRACING_STATUSES,
    TracingAction,
)


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.FAMILY_VIEW, case):
        return []
    requests = queries.requests_of(case.id)
    visits = queries.visits_of(case.id)
    if not requests and not visits:
        return []
    actions = list(db.session.scalars(select(TracingAction).where(TracingAction.case_id == case.id))) if requests \
        else []
    names = queries.user_names({r.opened_by_id for r in requests} | {r.closed_by_id for r in requests}
                               | {a.recorded_by_id for a in actions} | {v.recorded_by_id for v in visits})
    relationships = {r.id: r.family_member.relationship_code if r.family_member else None for r in requests}
    out: list[TimelineEntry] = []
    for found in requests:
        url = url_for("families.tracing_request", request_id=found.id)
        sought = RELATIONSHIPS.label(relationships[found.id]) if relationships[found.id] else ""
        out.append(dated(found.opened_on, found.created_at, kind="tracing", title=gettext("Tracing request opened"),
                         detail=gettext("Looking for: %(relationship)s (%(reason)s)", relationship=sought,
                                        reason=TRACING_REASONS.label(found.reason)),
                         actor=names.get(found.opened_by_id, ""), url=url))
        if found.closed_on is not None:
            out.append(dated(found.closed_on, found.updated_at, kind="tracing",
                             title=gettext("Tracing request closed: %(status)s",
                                           status=TRACING_STATUSES.label(found.status)),
                             actor=names.get(found.closed_by_id, ""), url=url))
    for action in actions:
        out.append(dated(action.done_on, action.created_at, kind="tracing",
                         title=gettext("Tracing action: %(kind)s — %(outcome)s",
                                       kind=TRACING_ACTION_KINDS.label(action.kind),
                                       outcome=TRACING_ACTION_OUTCOMES.label(action.outcome)),
                         actor=names.get(action.recorded_by_id, ""),
                         url=url_for("families.tracing_request", request_id=action.tracing_request_id)))
    for visit in visits:
        out.append(dated(visit.visited_on, visit.created_at, kind="visit",
                         title=gettext("Family assessment visit: %(recommendation)s",
                                       recommendation=ASSESSMENT_RECOMMENDATIONS.label(visit.recommendation)),
                         actor=names.get(visit.recorded_by_id, ""),
                         url=url_for("families.case_index", case_id=case.id)))
    return out
