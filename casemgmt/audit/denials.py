"""Denied access is audited in its own transaction, so the record survives the aborted request."""

from __future__ import annotations

from casemgmt.audit.events import record_event
from casemgmt.extensions import db


def record_denial(action: str, obj=None, actor=None) -> None:
    """`actor` defaults to the logged-in user; pass it where there is none (CLI, jobs), or the denial is anonymous."""
    db.session.rollback()
    is_case = obj is not None and obj.__class__.__name__ == "Case"
    case_id = obj.id if is_case else getattr(obj, "case_id", None)
    record_event(
        "access.denied",
        object_type=obj.__class__.__name__.lower() if obj is not None else None,
        object_id=getattr(obj, "id", None),
        case_id=case_id,
        outcome="denied",
        details={"action": str(action)},
        actor=actor,
    )
    db.session.commit()
