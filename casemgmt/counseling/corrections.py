"""Correcting a counseling session, or deleting one recorded by mistake, with a reason (issue 12, item 6).

The version replaced is kept, encrypted, in record_revisions (casemgmt/revisions); the notes stay need-to-know: the
correction and history pages are for those who may read them (access.policies: COUNSELING_CORRECT, _DELETE and
COUNSELING_READ_NOTES all name the author, the assigned caseworker and the organisation's supervisors).
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from casemgmt.access import Action, authorize
from casemgmt.counseling.forms import SessionForm
from casemgmt.counseling.models import CounselingSession
from casemgmt.counseling.operations import CounselingError, validate
from casemgmt.crypto import seal, unseal
from casemgmt.revisions import operations as revisions

FIELDS = ("session_type", "provider", "held_on", "duration_minutes", "follow_up_on", "notes")


def snapshot(session: CounselingSession) -> dict:
    """The session as its form shows it, notes decrypted: call it only for a user who may read them."""
    data = {name: getattr(session, name) for name in FIELDS if name != "notes"}
    data["notes"] = unseal(session, "notes")
    return data


KIND = revisions.Kind(
    name="counseling_session", title=lambda: str(_l("Counseling session")), read_action=Action.COUNSELING_READ_NOTES,
    fields=FIELDS, events=("counseling.correct", "counseling.delete"), snapshot=snapshot,
    describe=lambda content: revisions.describe(content, SessionForm(formdata=None), FIELDS),
)


def correct_session(actor, session: CounselingSession, values: dict, base: int | None,
                    reason: str | None = None) -> list[str]:
    """Correct a session from version `base` (core/versions.py: EditConflict instead of overwriting a newer one)."""
    authorize(actor, Action.COUNSELING_CORRECT, session)
    cleaned = validate(values)

    def apply(changed: list[str]) -> None:
        for name in changed:
            if name == "notes":
                seal(session, "notes", cleaned["notes"])
            else:
                setattr(session, name, cleaned[name])

    return revisions.correct(actor, KIND, session, cleaned, base, reason, apply)


def delete_session(actor, session: CounselingSession, reason: str | None, base: int | None) -> None:
    authorize(actor, Action.COUNSELING_DELETE, session)
    reason = revisions.clean_reason(reason)
    if reason is None:
        raise CounselingError(gettext("Say why the session is deleted."))
    revisions.delete(actor, KIND, session, reason, base, CounselingError(gettext(
        "Someone else changed or deleted this session after you opened it. Look at it again before deleting it.")))
