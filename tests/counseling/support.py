from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from casemgmt.counseling import operations
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db

TODAY = date.today()


def session(author, case, notes: str | None = "Refiere pesadillas y miedo a salir.", **values) -> CounselingSession:
    data = {"session_type": "psychosocial", "provider": "Lic. Rosa Paredes", "held_on": TODAY - timedelta(days=2),
            "duration_minutes": 50, "follow_up_on": None, "notes": notes, **values}
    created = operations.record_session(author, case, data)
    db.session.commit()
    return created


def session_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(CounselingSession))
