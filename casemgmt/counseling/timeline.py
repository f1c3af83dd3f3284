"""Sessions for the case timeline: that a session took place (type, duration, provider), never its notes."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.counseling.models import SESSION_TYPES, CounselingSession
from casemgmt.extensions import db


def entries(actor, case) -> list[TimelineEntry]:
    # Referral access (another organisation's mission) does not learn that counseling took place at all.
    if not allowed(actor, Action.COUNSELING_VIEW, case):
        return []
    sessions = db.session.scalars(
        select(CounselingSession)
        .where(CounselingSession.case_id == case.id, CounselingSession.live())
        .options(selectinload(CounselingSession.author))
    ).all()
    return [
        dated(
            s.held_on, s.created_at, kind="session",
            title=gettext("%(type)s session", type=SESSION_TYPES.label(s.session_type)),
            detail=gettext("%(minutes)d minutes with %(provider)s", minutes=s.duration_minutes, provider=s.provider),
            actor=s.author.display_name if s.author else "",
            url=url_for("counseling.view", case_id=case.id, session_id=s.id),
        )
        for s in sessions
    ]
