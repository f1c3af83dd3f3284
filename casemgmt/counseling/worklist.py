"""Counseling follow-ups due within a week (or overdue) on the cases assigned to the user.

A follow-up counts as done once a later session of the same type is recorded for the case. Deleted sessions count
for neither (core/deletion.py)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for
from flask_babel import gettext
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.counseling.models import SESSION_TYPES, CounselingSession
from casemgmt.extensions import db

HORIZON = timedelta(days=7)
LIMIT = 50


def items(user) -> list[WorkItem]:
    if getattr(user, "id", None) is None:
        return []
    today = date.today()
    later = aliased(CounselingSession)
    followed_up = exists().where(and_(
        later.case_id == CounselingSession.case_id,
        later.session_type == CounselingSession.session_type,
        later.held_on > CounselingSession.held_on,
        later.deleted_at.is_(None),  # a deleted session followed nothing up
    ))
    rows = db.session.execute(
        select(CounselingSession.case_id, CounselingSession.session_type, CounselingSession.follow_up_on,
               Case.reference)
        .join(Case, Case.id == CounselingSession.case_id)
        .where(
            Case.assigned_to_id == user.id, Case.organisation_id == user.organisation_id,
            Case.erased_at.is_(None), Case.stage != "closed",
            CounselingSession.follow_up_on.is_not(None), CounselingSession.follow_up_on <= today + HORIZON,
            CounselingSession.live(),
            ~followed_up,
        )
        .order_by(CounselingSession.follow_up_on)
        .limit(LIMIT)
    )
    return [
        WorkItem(
            section="tasks",
            title=gettext("%(type)s follow-up: %(ref)s", type=SESSION_TYPES.label(session_type), ref=reference),
            url=url_for("counseling.case_index", case_id=case_id), due=due, overdue=due < today,
            case_id=case_id,
        )
        for case_id, session_type, due, reference in rows
    ]
