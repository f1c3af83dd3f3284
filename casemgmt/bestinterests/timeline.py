"""A child's best interests on the case timeline: assessments, determinations (convened, determined, not agreed,
withdrawn), guardians and care arrangements. Only for those who may view best interests (the case's organisation),
and never the encrypted text: the entries name codes, dates and people of the organisation."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt.access import Action, allowed
from casemgmt.bestinterests import queries
from casemgmt.bestinterests.models import CARE_KINDS, DECISIONS, GUARDIAN_KINDS, RECOMMENDATIONS
from casemgmt.core.journey import TimelineEntry, dated


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.BEST_INTERESTS_VIEW, case):
        return []
    assessments = queries.assessments_of(case.id)
    determinations = queries.determinations_of(case.id)
    guardians = queries.guardians_of(case.id)
    care = queries.care_of(case.id)
    if not (assessments or determinations or guardians or care):
        return []
    names = queries.user_names({a.recorded_by_id for a in assessments} | {d.proposed_by_id for d in determinations}
                               | {g.recorded_by_id for g in guardians} | {c.recorded_by_id for c in care})
    page = url_for("bestinterests.case_index", case_id=case.id)
    out: list[TimelineEntry] = []

    def add(day, title: str, detail: str = "", who: int | None = None, recorded=None, url: str = page) -> None:
        if day is not None:
            out.append(dated(day, recorded, kind="best_interests", title=title, detail=detail,
                             actor=names.get(who, "") if who else "", url=url))

    for a in assessments:
        add(a.assessed_on, gettext("Best-interests assessment"), who=a.recorded_by_id, recorded=a.created_at)
    for d in determinations:
        url = url_for("bestinterests.determination", determination_id=d.id)
        about = gettext("%(decision)s: %(recommendation)s", decision=DECISIONS.label(d.decision),
                        recommendation=RECOMMENDATIONS.label(d.recommendation))
        add(d.proposed_at, gettext("Best-interests panel convened"), about, d.proposed_by_id, url=url)
        if d.status == "determined":
            add(d.determined_on, gettext("Best-interests determination made"), about, recorded=d.closed_at, url=url)
        elif d.status == "not_agreed":
            add(d.closed_at, gettext("Best-interests panel did not agree"), about, url=url)
        elif d.status == "withdrawn":
            add(d.closed_at, gettext("Best-interests determination withdrawn"), about, d.proposed_by_id, url=url)
    for g in guardians:
        add(g.started_on, gettext("Guardian appointed"), GUARDIAN_KINDS.label(g.kind), g.recorded_by_id,
            recorded=g.created_at)
        add(g.ended_on, gettext("Guardian's appointment ended"), GUARDIAN_KINDS.label(g.kind))
    for c in care:
        add(c.started_on, gettext("Care arrangement started"), CARE_KINDS.label(c.kind), c.recorded_by_id,
            recorded=c.created_at)
        add(c.ended_on, gettext("Care arrangement ended"), CARE_KINDS.label(c.kind))
    return out
