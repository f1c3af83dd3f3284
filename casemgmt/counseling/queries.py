"""Reads for the counseling pages: a case's sessions, newest first, with their authors in the same round trip."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.cases.models import Case
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db


def sessions_of(case: Case) -> list[CounselingSession]:
    return list(db.session.scalars(
        select(CounselingSession)
        .where(CounselingSession.case_id == case.id, CounselingSession.live())
        .options(selectinload(CounselingSession.author))
        .order_by(CounselingSession.held_on.desc(), CounselingSession.created_at.desc())
    ))
