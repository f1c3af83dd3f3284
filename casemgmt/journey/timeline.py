"""Stage changes and closure requests on the case timeline. Reasons and notes are free text about the person: they
are shown to those who may see who the person is, like the stage history on the case page."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.policies import case_access
from casemgmt.cases.models import StageChange
from casemgmt.core.journey import TimelineEntry
from casemgmt.crypto import unseal
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db
from casemgmt.journey import queries
from casemgmt.journey.models import CLOSURE_CODES


def _name(user) -> str:
    return user.display_name if user is not None else ""


def _stage_entries(case, reveal: bool) -> list[TimelineEntry]:
    rows = db.session.scalars(
        select(StageChange)
        .where(StageChange.case_id == case.id)
        .options(selectinload(StageChange.changed_by))
        .order_by(StageChange.changed_at)
    ).all()
    result = []
    for row in rows:
        if row.from_stage is None:
            title = gettext("Case opened (%(stage)s)", stage=htcds.STAGES.label(row.to_stage))
        elif row.from_stage == "closed":
            title = gettext("Case reopened: %(stage)s", stage=htcds.STAGES.label(row.to_stage))
        else:
            title = gettext("Stage: %(from)s → %(to)s", **{"from": htcds.STAGES.label(row.from_stage),
                                                           "to": htcds.STAGES.label(row.to_stage)})
        detail = (unseal(row, "reason") or "") if reveal else ""
        result.append(TimelineEntry(at=row.changed_at, kind="stage", title=title, detail=detail,
                                    actor=_name(row.changed_by)))
    return result


def _closure_entries(actor, case, reveal: bool) -> list[TimelineEntry]:
    # Closure requests are the owning organisation's business (the closure page's readers); a referral does not
    # reach them (access/scope.py), though it sees the stage move to "closed".
    if case_access(actor, case) != "full":
        return []
    url = url_for("journey.closure", case_id=case.id) if allowed(actor, Action.CASE_CHANGE_STAGE, case) else None
    result = []
    for request in queries.closure_requests(case):
        code = CLOSURE_CODES.label(request.code)
        result.append(TimelineEntry(
            at=request.requested_at, kind="closure", title=gettext("Closure requested: %(code)s", code=code),
            detail=(unseal(request, "reason") or "") if reveal else "", actor=_name(request.requested_by), url=url,
        ))
        if request.decided_at is not None:
            if request.status == "approved":
                title = gettext("Closure approved: %(code)s", code=code)
            elif request.status == "withdrawn":
                title = gettext("Closure request withdrawn: %(code)s", code=code)
            else:
                title = gettext("Closure refused: %(code)s", code=code)
            result.append(TimelineEntry(
                at=request.decided_at, kind="closure", title=title,
                detail=(unseal(request, "decision_note") or "") if reveal else "", actor=_name(request.decided_by),
                url=url,
            ))
    return result


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.TIMELINE_VIEW, case):
        return []
    reveal = allowed(actor, Action.CASE_VIEW_IDENTITY, case)
    if reveal:
        preload_keys([case.id])
    return _stage_entries(case, reveal) + _closure_entries(actor, case, reveal)
