"""Denied access is audited in its own transaction, so the record survives the aborted request.

A denial touching another organisation's object is also filed under that organisation (subject_organisation_id):
its supervisors see who probed their cases, while the prober still gets the same 404 as for an id that does not exist.
"""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from casemgmt.audit.events import acting_user, record_event
from casemgmt.extensions import db

DENIED = "access.denied"
NOT_FOUND = "access.not_found"


def owning_organisation(obj) -> int | None:
    """The organisation an object belongs to: its case's, else its own organisation_id (a contact, a facility)."""
    if obj is None:
        return None
    case = obj if obj.__class__.__name__ == "Case" else getattr(obj, "case", None)
    holder = case if case is not None else obj
    return getattr(holder, "organisation_id", None)


def record_denial(action: str, obj=None, actor=None) -> None:
    """`actor` defaults to the logged-in user; pass it where there is none (CLI, jobs), or the denial is anonymous."""
    # Read before the rollback expires the object: the policy check has just loaded these, so no query is added to
    # the path a prober can time.
    owner = owning_organisation(obj)
    prober_org = getattr(acting_user(actor), "organisation_id", None)
    subject = owner if owner is not None and owner != prober_org else None
    db.session.rollback()
    is_case = obj is not None and obj.__class__.__name__ == "Case"
    case_id = obj.id if is_case else getattr(obj, "case_id", None)
    record_event(
        DENIED,
        object_type=obj.__class__.__name__.lower() if obj is not None else None,
        object_id=getattr(obj, "id", None),
        case_id=case_id,
        outcome="denied",
        details={"action": str(action)},
        actor=actor,
        subject_organisation_id=subject,
    )
    db.session.commit()
    if has_request_context():
        g.casemgmt_denial_recorded = True


def record_not_found() -> None:
    """A signed-in user asked for something that does not exist. Audited like a denial, in its own transaction, so
    that "another organisation's case" (a denial, then 404) and "no such case" (404) cost the same: without it the
    denial's commit made a foreign id measurably slower than a missing one, an existence oracle by timing. A run of
    these is also what probing for ids looks like."""
    if not has_request_context() or g.get("casemgmt_denial_recorded"):
        return
    if not current_user or not current_user.is_authenticated:
        return
    db.session.rollback()
    record_event(NOT_FOUND, outcome="denied", details={"endpoint": request.endpoint})
    db.session.commit()
