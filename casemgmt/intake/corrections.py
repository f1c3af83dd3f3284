"""Correcting a hotline contact, or deleting one recorded by mistake, with a reason (issue 12, item 6).

A contact belongs to the organisation that took it: whoever took it, the caseworker of the case it joined, or a
supervisor of that organisation corrects or deletes it (access.policies). The same rules as logging it apply (the
police report only with consent, unless a minor or immediate danger). The version replaced is kept in
record_revisions, sealed like the contact itself: under its case's key, or under its own key while it has no case
(intake.sealing, which moves both under the case's key when the contact joins one). A deleted contact leaves the
queue, the crisis list, the case and the timeline; it can no longer be attached to a case.
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.core import versions, zones
from casemgmt.extensions import db
from casemgmt.intake import operations, sealing
from casemgmt.intake.forms import ContactForm
from casemgmt.intake.models import Contact
from casemgmt.intake.operations import IntakeError
from casemgmt.revisions import operations as revisions

# As the correction form names them: the moment is entered as a day and a time on the organisation's clock.
FIELDS = ("channel", "call_type", "occurred_on", "occurred_time", "caller_type", "language", "minor_involved",
          "immediate_danger", "indicators", "actions", "consent_to_share", "caller_name", "caller_phone", "summary")
_MOMENT = ("occurred_on", "occurred_time")


def snapshot(contact: Contact) -> dict:
    """The contact as its form shows it: the moment on the organisation's clock (to the minute), text decrypted."""
    local = zones.to_local(contact.occurred_at)
    texts = {column: sealing.unseal_contact(contact, column) for column in sealing.SEALED_COLUMNS}
    return {
        "channel": contact.channel, "call_type": contact.call_type, "occurred_on": local.date(),
        "occurred_time": local.time().replace(second=0, microsecond=0), "caller_type": contact.caller_type,
        "language": contact.language, "minor_involved": contact.minor_involved,
        "immediate_danger": contact.immediate_danger, "indicators": contact.indicator_list,
        "actions": contact.action_list, "consent_to_share": contact.consent_to_share, **texts,
    }


def _seal(contact: Contact, revision, column: str, value: str | None) -> None:
    sealing.seal_beside(contact, revision, column, value)


def _unseal(contact: Contact, revision, column: str) -> str | None:
    return sealing.unseal_beside(contact, revision, column)


KIND = revisions.Kind(
    name="contact", title=lambda: str(_l("Hotline contact")), read_action=Action.CONTACT_VIEW, fields=FIELDS,
    events=("contact.correct", "contact.delete"), snapshot=snapshot,
    describe=lambda content: revisions.describe(content, ContactForm(formdata=None), FIELDS),
    seal=_seal, unseal=_unseal, seal_own=sealing.seal_contact,
)


def load(actor, contact_id: str, action: Action, deleted: bool = False) -> Contact:
    """A contact of the actor's organisation (another organisation's answers 404); a deleted one answers 404 unless
    `deleted` asks for it (its history, and a correction sent after someone deleted it)."""
    contact = db.session.get(Contact, contact_id) if contact_id and len(contact_id) <= 36 else None
    if contact is None or (contact.is_deleted and not deleted):
        raise NotFound()
    authorize(actor, Action.CONTACT_VIEW, contact)
    authorize(actor, action, contact)
    return contact


def _readable(contact: Contact) -> None:
    if contact.case is not None and contact.case.erased_at is not None:
        raise IntakeError(gettext("The case this contact belongs to has been erased: the contact can no longer be "
                                  "changed."))


def correct_contact(actor, contact: Contact, values: dict, base: int | None, reason: str | None = None) -> list[str]:
    """Correct a contact from version `base` (core/versions.py: EditConflict instead of overwriting a newer one).
    `values` are the form's fields (FIELDS) and `occurred_at`, the moment they give."""
    authorize(actor, Action.CONTACT_CORRECT, contact)
    _readable(contact)
    versions.check(contact, KIND.name, base, lambda: snapshot(contact), values, FIELDS)
    clean = operations._clean_contact(values)

    def apply(changed: list[str]) -> None:
        for name in changed:
            if name in _MOMENT:
                contact.occurred_at = clean["occurred_at"]
            elif name in sealing.SEALED_COLUMNS:
                sealing.seal_contact(contact, name, clean[name])
            else:
                setattr(contact, name, clean[name])
        # Why a police report was allowed follows from the corrected consent, minor and danger.
        contact.police_report_basis = clean["police_report_basis"]

    changed = revisions.correct(actor, KIND, contact, values, base, reason, apply)
    return changed


def delete_contact(actor, contact: Contact, reason: str | None, base: int | None) -> None:
    authorize(actor, Action.CONTACT_DELETE, contact)
    _readable(contact)
    reason = revisions.clean_reason(reason)
    if reason is None:
        raise IntakeError(gettext("Say why the contact is deleted."))
    revisions.delete(actor, KIND, contact, reason, base, IntakeError(gettext(
        "Someone else changed or deleted this contact after you opened it. Look at it again before deleting it.")))
