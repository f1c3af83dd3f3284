"""Closure with a supervisor's approval, and the audited opening of the case timeline.

A caseworker requests closure with a code and a reason; a supervisor of the case's organisation approves it, which
moves the case to "closed" through casemgmt.cases.operations.change_stage (so the stage history records who, when and
why), or rejects it with a note, and the case stays open. Each verb checks its policy and writes its audit event with
codes and field names only; the caller commits.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, StageChange, new_uuid
from casemgmt.core.invariants import insert_or_refuse, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db
from casemgmt.journey.automatic import AutomaticMoveRefused, follow
from casemgmt.journey.models import CLOSURE_CODES, ClosureRequest, status_for

TEXT_MAX = 2000


class JourneyError(ValueError):
    """A closure step that cannot be taken; the message is shown to the user (already translated)."""


def _case_or_404(case_id: str) -> Case:
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    return case


def pending_request(case: Case) -> ClosureRequest | None:
    return db.session.scalar(
        select(ClosureRequest)
        .where(ClosureRequest.case_id == case.id, ClosureRequest.status == "requested")
        .order_by(ClosureRequest.requested_at.desc())
        .limit(1)
    )


def _text(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > TEXT_MAX:
        raise JourneyError(gettext("Keep it under %(n)d characters.", n=TEXT_MAX))
    return text


def _already_requested() -> JourneyError:
    return JourneyError(gettext("A closure request for this case is already waiting for a supervisor."))


def request_closure(actor, case: Case, code: str, reason: str | None) -> ClosureRequest:
    authorize(actor, Action.CASE_CHANGE_STAGE, case)
    if case.stage == "closed":
        raise JourneyError(gettext("This case is already closed."))
    if code not in CLOSURE_CODES:
        raise JourneyError(gettext("Choose why the case is to be closed."))
    reason = _text(reason)
    if not reason:
        raise JourneyError(gettext("Say why: closing a case needs a reason."))
    if pending_request(case) is not None:
        raise _already_requested()
    request = ClosureRequest(id=new_uuid(), case_id=case.id, code=code, status="requested", requested_by_id=actor.id,
                             requested_at=utcnow())
    seal(request, "reason", reason)
    # Two requests sent at the same instant both pass the check above; the unique index refuses the second.
    insert_or_refuse(request, "uq_closure_requests_case_pending", _already_requested())
    record_event("closure.request", object_type="closure_request", object_id=request.id, case_id=case.id,
                 actor=actor, details={"code": code})
    return request


def _decide(actor, request: ClosureRequest, status: str, note: str | None) -> str:
    authorize(actor, Action.CLOSURE_APPROVE, request)
    note = _text(note)
    if request.status == "withdrawn":
        raise _withdrawn()
    if request.status != "requested":
        raise JourneyError(gettext("This closure request has already been decided."))
    if status == "approved" and request.case.stage == "closed":
        raise JourneyError(gettext("This case is already closed."))
    if status == "rejected" and not note:
        raise JourneyError(gettext("Say why the closure is refused, so the caseworker knows what is missing."))
    # One conditional UPDATE decides: of two supervisors deciding at once, the second finds it decided.
    if not transition(request, ClosureRequest.status == "requested", status=status, decided_by_id=actor.id,
                      decided_at=utcnow()):
        raise JourneyError(gettext("This closure request has already been decided."))
    seal(request, "decision_note", note or None)
    return note


def approve_closure(actor, request: ClosureRequest, note: str | None = None) -> StageChange:
    """Approve, and close the case with the requested reason and the status the closure code implies."""
    note = _decide(actor, request, "approved", note)
    case = request.case
    db.session.flush()  # the closure guard looks for this approval in the database
    # The approval is the event that closes the case (journey/automatic.py); if a guard refuses, so is the approval.
    try:
        change = follow(actor, case, "closure.approve", reason=unseal(request, "reason"),
                        status=status_for(request.code), must_move=True).change
    except AutomaticMoveRefused as exc:  # another feature's guard refused
        raise JourneyError(str(exc)) from exc
    if change is None:  # closed by someone else while this approval waited for the case
        raise JourneyError(gettext("This case is already closed."))
    request.stage_change = change
    record_event("closure.approve", object_type="closure_request", object_id=request.id, case_id=case.id,
                 actor=actor, details={"code": request.code, "status": case.status, "note_given": bool(note)})
    return change


def reject_closure(actor, request: ClosureRequest, note: str | None) -> None:
    _decide(actor, request, "rejected", note)
    record_event("closure.reject", object_type="closure_request", object_id=request.id, case_id=request.case_id,
                 actor=actor, details={"code": request.code})


def _withdrawn() -> JourneyError:
    return JourneyError(gettext("This closure request was withdrawn: there is nothing left to decide."))


def withdraw_closure(actor, request: ClosureRequest, reason: str | None = None) -> None:
    """Take back a request still waiting for a supervisor. The case stays where it is, and its closure can be
    requested again (the one-pending-request index counts "requested" rows only)."""
    authorize(actor, Action.CLOSURE_WITHDRAW, request)
    reason = _text(reason)
    if request.status == "withdrawn":
        raise _withdrawn()
    if request.status != "requested":
        raise JourneyError(gettext("This closure request has already been decided."))
    # The same conditional UPDATE as a decision: a withdrawal racing an approval, one of them finds it taken.
    if not transition(request, ClosureRequest.status == "requested", status="withdrawn", decided_by_id=actor.id,
                      decided_at=utcnow()):
        raise JourneyError(gettext("This closure request has already been decided or withdrawn."))
    seal(request, "decision_note", reason or None)
    record_event("closure.withdraw", object_type="closure_request", object_id=request.id, case_id=request.case_id,
                 actor=actor, details={"code": request.code, "reason_given": bool(reason)})


def record_earlier_closure(actor, case: Case, code: str, reason: str) -> ClosureRequest:
    """For a case closed before approvals existed (imported or demo data): record the closure as approved by the
    supervisor, linked to the stage change that closed it. The case keeps its stage; its status follows the code."""
    authorize(actor, Action.CLOSURE_APPROVE, case)
    if case.stage != "closed":
        raise JourneyError(gettext("Only a closed case can have its earlier closure recorded."))
    if code not in CLOSURE_CODES:
        raise JourneyError(gettext("Choose why the case is to be closed."))
    closing = db.session.scalar(
        select(StageChange)
        .where(StageChange.case_id == case.id, StageChange.to_stage == "closed")
        .order_by(StageChange.changed_at.desc())
        .limit(1)
    )
    if closing is None:
        raise JourneyError(gettext("Only a closed case can have its earlier closure recorded."))
    already = db.session.scalar(select(ClosureRequest.id).where(ClosureRequest.stage_change_id == closing.id))
    if already is not None:
        raise JourneyError(gettext("This closure is already recorded."))
    request = ClosureRequest(
        id=new_uuid(), case_id=case.id, code=code, status="approved", requested_by_id=closing.changed_by_id,
        requested_at=closing.changed_at, decided_by_id=actor.id, decided_at=closing.changed_at, stage_change=closing,
    )
    seal(request, "reason", _text(reason) or None)
    db.session.add(request)
    case.status = status_for(code)
    record_event("closure.record_earlier", object_type="closure_request", object_id=request.id, case_id=case.id,
                 actor=actor, details={"code": code, "status": case.status})
    return request


def load_closure(actor, request_id: str, action: Action = Action.CLOSURE_APPROVE) -> ClosureRequest:
    request = db.session.get(ClosureRequest, request_id) if request_id and len(request_id) <= 36 else None
    if request is None:
        raise NotFound()
    authorize(actor, action, request)
    return request


def open_closure_page(actor, case_id: str, audit: bool = True) -> Case:
    """The case's closure page (requests with their reasons, decrypted): for those who may move its stage."""
    case = _case_or_404(case_id)
    authorize(actor, Action.CASE_CHANGE_STAGE, case)
    if audit:
        record_event("case.closure_view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def open_timeline(actor, case_id: str) -> Case:
    case = _case_or_404(case_id)
    authorize(actor, Action.TIMELINE_VIEW, case)
    record_event("case.timeline_view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case
