"""Recording and withdrawing informed consent. Each verb checks its policy, validates, writes its audit event (field
names, never values) and leaves the commit to the caller."""

from __future__ import annotations

from datetime import date

from flask_babel import format_date, gettext

from casemgmt import htcds
from casemgmt.access import Action, authorize, grants
from casemgmt.audit import record_event
from casemgmt.cases import age
from casemgmt.cases.age import GUARDIAN_RELATIONSHIPS
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.models import SEVEN_POINTS, ConsentRecord
from casemgmt.core.invariants import transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db

PURPOSE_FIELDS = ("consents_to_share", "consents_to_return", "consents_to_police_report")
FLAGS = ("interpreter_used", "is_child_assent", *SEVEN_POINTS, *PURPOSE_FIELDS)
MAX_NOTES = 5000
MAX_REASON = 2000
MAX_NAME = 120


class ConsentError(ValueError):
    """A consent record that cannot be saved as given; the message is shown to the user (already translated)."""


def _text(values: dict, key: str, limit: int) -> str | None:
    value = values.get(key)
    value = value.strip() if isinstance(value, str) else None
    if value and len(value) > limit:
        raise ConsentError(gettext("The text is too long (at most %(n)d characters).", n=limit))
    return value or None


def _check(case: Case, values: dict) -> None:
    obtained_on = values.get("obtained_on")
    if not isinstance(obtained_on, date):
        raise ConsentError(gettext("Say on which day the consent was obtained."))
    if obtained_on > date.today():
        raise ConsentError(gettext("Consent cannot be dated in the future."))
    if obtained_on.year < 1900:
        raise ConsentError(gettext("This date is too far in the past."))
    if values.get("language") not in htcds.language_codes():
        raise ConsentError(gettext("Choose the language in which consent was given."))
    if values.get("interpreter_used") and not _text(values, "interpreter_name", MAX_NAME):
        raise ConsentError(gettext("Give the interpreter's name."))
    if not values.get("interpreter_used") and _text(values, "interpreter_name", MAX_NAME):
        raise ConsentError(gettext("An interpreter's name was given, but no interpreter is marked as used."))
    if not values.get("point_interview"):
        raise ConsentError(gettext("A consent record needs at least the consent (or assent) to the interview."))
    _check_child(case, values, obtained_on)


def _check_child(case: Case, values: dict, obtained_on: date) -> None:
    """A child on the day of consent (cases.age.is_child) gives assent, and a parent, legal guardian or appointed
    representative gives consent with it: both are recorded, or the record is refused. Someone known to be 18 or
    older that day consents alone. When the age is not recorded either way is accepted, the guardian's consent
    going with a child's assent."""
    guardian = _text(values, "guardian_name", MAX_NAME)
    relationship = values.get("guardian_relationship") or None
    if relationship is not None and relationship not in GUARDIAN_RELATIONSHIPS:
        raise ConsentError(gettext("Choose the relationship to the child from the list."))
    if bool(guardian) != bool(relationship):
        raise ConsentError(gettext("Give both who consented for the child and how they are related, or neither."))
    if age.is_child(case, obtained_on):
        if not values.get("is_child_assent") or not guardian:
            raise ConsentError(gettext(
                "This person is a child (under 18) on %(date)s: record the child's assent and who gave consent for "
                "the child (a parent, legal guardian or representative).", date=format_date(obtained_on)))
        return
    if age.age_on(case, obtained_on).basis is not None and (values.get("is_child_assent") or guardian):
        raise ConsentError(gettext(
            "This person is 18 or older on %(date)s and consents for themselves: leave the child's assent and the "
            "guardian empty.", date=format_date(obtained_on)))
    if values.get("is_child_assent") and not guardian:
        raise ConsentError(gettext("A child's assent goes with the consent of a parent, legal guardian or "
                                   "representative: name them."))


def record_consent(actor, case: Case, values: dict) -> ConsentRecord:
    authorize(actor, Action.CONSENT_RECORD, case)
    _check(case, values)
    record = ConsentRecord(
        id=new_uuid(), case_id=case.id, obtained_on=values["obtained_on"], obtained_by_id=actor.id,
        language=values["language"], **{flag: bool(values.get(flag)) for flag in FLAGS},
    )
    seal(record, "interpreter_name", _text(values, "interpreter_name", MAX_NAME))
    seal(record, "notes", _text(values, "notes", MAX_NOTES))
    seal(record, "guardian_name", _text(values, "guardian_name", MAX_NAME))
    seal(record, "guardian_relationship", values.get("guardian_relationship") or None)
    db.session.add(record)
    record.case = case
    filled = [f for f in FLAGS if values.get(f)] + [
        f for f in ("interpreter_name", "notes", "guardian_name", "guardian_relationship") if values.get(f)]
    record_event("consent.record", object_type="consent", object_id=record.id, case_id=case.id, actor=actor,
                 details={"fields": sorted(filled)})
    return record


def withdraw_consent(actor, record: ConsentRecord, reason: str | None) -> ConsentRecord:
    """Withdrawal keeps the record (shown as withdrawn) and ends the consents it gave."""
    authorize(actor, Action.CONSENT_RECORD, record)
    if record.withdrawn_at is not None:
        raise ConsentError(gettext("This consent has already been withdrawn."))
    reason = _text({"reason": reason}, "reason", MAX_REASON)
    if not reason:
        raise ConsentError(gettext("Say why the consent is withdrawn."))
    # Conditional: a withdrawal sent twice is recorded once, with the first reason and person.
    if not transition(record, ConsentRecord.withdrawn_at.is_(None), withdrawn_at=utcnow(), withdrawn_by_id=actor.id):
        raise ConsentError(gettext("This consent has already been withdrawn."))
    seal(record, "withdrawal_reason", reason)
    record_event("consent.withdraw", object_type="consent", object_id=record.id, case_id=record.case_id, actor=actor,
                 details={"withdrawn": sorted(f for f in PURPOSE_FIELDS if getattr(record, f))})
    # Access another organisation has to the case on the strength of this consent stops now (access/grants.py).
    grants.suspend_for_consent(actor, record.id)
    return record
