"""Named verbs for counseling sessions. Each checks its policy, writes its audit event (field names, never values),
and leaves the commit to the caller.

Need to know: notes are decrypted only by read_notes(), and only for users whom COUNSELING_READ_NOTES allows for
that session; for everyone else the ciphertext is never touched, and each reading is audited.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, allowed, authorize
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.counseling.models import MAX_DURATION, MIN_DURATION, SESSION_TYPES, CounselingSession
from casemgmt.crypto import seal, unseal
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db

EARLIEST = date(1990, 1, 1)
MAX_PROVIDER = 200
MAX_NOTES = 20000


class CounselingError(ValueError):
    """A session that cannot be recorded; the message is shown to the user (already translated)."""


def load_case(actor, action: Action, case_id: str) -> Case:
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    authorize(actor, action, case)
    return case


def load_session(actor, case_id: str, session_id: str, action: Action = Action.COUNSELING_VIEW,
                 deleted: bool = False) -> CounselingSession:
    """A session of the case the actor may act on. A deleted session is gone from every page (404), except where
    `deleted` asks for it: its history, and a correction sent after someone deleted it (the conflict page says so)."""
    session = db.session.get(CounselingSession, session_id) if session_id and len(session_id) <= 36 else None
    if session is None or session.case_id != case_id or (session.is_deleted and not deleted):
        raise NotFound()
    authorize(actor, action, session)
    return session


def validate(values: dict) -> dict:
    session_type = values.get("session_type")
    if session_type not in SESSION_TYPES:
        raise CounselingError(gettext("Choose the type of session."))
    provider = (values.get("provider") or "").strip()
    if not provider:
        raise CounselingError(gettext("Say who provided the session (the professional or the service)."))
    if len(provider) > MAX_PROVIDER:
        raise CounselingError(gettext("The provider's name is too long."))
    held_on = values.get("held_on")
    if not isinstance(held_on, date):
        raise CounselingError(gettext("Give the date the session was held."))
    if held_on > date.today():
        raise CounselingError(gettext("A session cannot be recorded before it is held: the date is in the future."))
    if held_on < EARLIEST:
        raise CounselingError(gettext("The session date is too far in the past."))
    duration = values.get("duration_minutes")
    if not isinstance(duration, int) or isinstance(duration, bool) or not MIN_DURATION <= duration <= MAX_DURATION:
        raise CounselingError(gettext(
            "The duration must be between %(min)d and %(max)d minutes.", min=MIN_DURATION, max=MAX_DURATION
        ))
    follow_up_on = values.get("follow_up_on")
    if follow_up_on is not None and (not isinstance(follow_up_on, date) or follow_up_on < held_on):
        raise CounselingError(gettext("The follow-up cannot be before the session."))
    notes = (values.get("notes") or "").strip() or None
    if notes is not None and len(notes) > MAX_NOTES:
        raise CounselingError(gettext("The notes are too long."))
    return {
        "session_type": session_type, "provider": provider, "held_on": held_on, "duration_minutes": duration,
        "follow_up_on": follow_up_on, "notes": notes,
    }


def record_session(actor, case: Case, values: dict) -> CounselingSession:
    authorize(actor, Action.COUNSELING_RECORD, case)
    cleaned = validate(values)
    notes = cleaned.pop("notes")
    session = CounselingSession(id=new_uuid(), case_id=case.id, author_id=actor.id, **cleaned)
    seal(session, "notes", notes)
    db.session.add(session)
    db.session.flush()
    fields = sorted([k for k, v in cleaned.items() if v is not None] + (["notes"] if notes else []))
    record_event("counseling.record", object_type="counseling_session", object_id=session.id, case_id=case.id,
                 actor=actor, details={"fields": fields})
    return session


def may_read_notes(actor, session: CounselingSession) -> bool:
    return allowed(actor, Action.COUNSELING_READ_NOTES, session)


def read_notes(actor, sessions: list[CounselingSession]) -> dict[str, str]:
    """The notes of the sessions this user may read, decrypted, keyed by session id; every reading is audited.
    Sessions the user may not read are left out without touching their ciphertext."""
    readable = [s for s in sessions if s.notes is not None and may_read_notes(actor, s)]
    preload_keys(list({s.case_id for s in readable}))
    result = {}
    for session in readable:
        result[session.id] = unseal(session, "notes") or ""
        record_event("counseling.read_notes", object_type="counseling_session", object_id=session.id,
                     case_id=session.case_id, actor=actor)
    return result
