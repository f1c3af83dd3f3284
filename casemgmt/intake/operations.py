"""Named verbs of the hotline and the screening interview. Each checks its policy, validates (so callers other than
the web forms get the same rules), writes its audit event with field names only, and leaves the commit to the
caller."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from casemgmt import htcds
from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_scope_filter
from casemgmt.audit import record_event
from casemgmt.cases import age, identity
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.core.invariants import transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.intake import duplicates, sealing
from casemgmt.intake.models import Contact, Screening
from casemgmt.intake.vocabulary import ACTIONS, CALL_TYPES, CALLER_TYPES, CHANNELS, INDICATORS, join_codes

# Clocks differ a little between the operator's computer and the server.
CLOCK_SLACK = timedelta(minutes=5)
MAX_SUMMARY = 5000
MAX_NAME = 120
MAX_PHONE = 32


class IntakeError(ValueError):
    """A change that cannot be made; the message is shown to the user (already translated)."""


class PossibleDuplicates(Exception):
    """The person may already be known: the user must attach the contact or confirm creating a new case."""

    def __init__(self, report: duplicates.DuplicateReport):
        super().__init__("possible duplicates")
        self.report = report


def _text(value, limit: int) -> str | None:
    value = value.strip() if isinstance(value, str) else None
    if value and len(value) > limit:
        raise IntakeError(gettext("The text is too long (at most %(n)d characters).", n=limit))
    return value or None


def _codes(values, allowed_codes, message: str) -> list[str]:
    codes = [c for c in (values or []) if c]
    if any(c not in allowed_codes for c in codes):
        raise IntakeError(message)
    return codes


def police_report_basis(actions: list[str], consent: bool, minor: bool, danger: bool) -> str | None:
    """Why a report to the police may be made: the caller's consent, or an override (a minor, imminent danger).

    `minor` is what the caller said ("a minor is involved"), not an age: a contact is logged before any case exists
    and may be about someone other than the person a case is later opened for. The case itself derives childhood
    from the age it records (cases.age); the contact's statement only prompts the case for that age."""
    if "police_report" not in actions:
        return None
    if consent:
        return "consent"
    if minor:
        return "minor"
    if danger:
        return "imminent_danger"
    raise IntakeError(gettext(
        "Reporting to the police needs the caller's consent to share, unless a minor is involved or someone is in "
        "immediate danger."
    ))


def _clean_contact(values: dict) -> dict:
    if values.get("channel") not in CHANNELS:
        raise IntakeError(gettext("Choose the channel."))
    if values.get("call_type") not in CALL_TYPES:
        raise IntakeError(gettext("Choose the call type."))
    caller_type = values.get("caller_type") or None
    if caller_type is not None and caller_type not in CALLER_TYPES:
        raise IntakeError(gettext("Choose who the caller is from the list."))
    language = values.get("language") or None
    if language is not None and language not in htcds.language_codes():
        raise IntakeError(gettext("Choose the language from the list."))
    occurred_at = values.get("occurred_at") or utcnow()
    if not isinstance(occurred_at, datetime):
        raise IntakeError(gettext("Say when the contact took place."))
    if occurred_at > utcnow() + CLOCK_SLACK:
        raise IntakeError(gettext("A contact cannot take place in the future."))
    if occurred_at.year < 1900:
        raise IntakeError(gettext("This date is too far in the past."))
    indicators = _codes(values.get("indicators"), INDICATORS, gettext("Choose the indicators from the list."))
    actions = _codes(values.get("actions"), ACTIONS, gettext("Choose the actions from the list."))
    flags = {f: bool(values.get(f)) for f in ("minor_involved", "immediate_danger", "consent_to_share")}
    basis = police_report_basis(actions, flags["consent_to_share"], flags["minor_involved"],
                                flags["immediate_danger"])
    caller_name = _text(values.get("caller_name"), MAX_NAME)
    if caller_name and caller_type == "Anonymous":
        raise IntakeError(gettext("The caller is marked anonymous: leave the name empty."))
    return {
        "channel": values["channel"], "call_type": values["call_type"], "caller_type": caller_type,
        "language": language, "occurred_at": occurred_at, "indicators": join_codes(indicators),
        "actions": join_codes(actions), "police_report_basis": basis, **flags,
        "caller_name": caller_name, "caller_phone": _text(values.get("caller_phone"), MAX_PHONE),
        "summary": _text(values.get("summary"), MAX_SUMMARY),
    }


def log_contact(actor, values: dict) -> Contact:
    """Record a contact for the actor's organisation. Anonymous contacts are fine: only channel and call type."""
    authorize(actor, Action.CONTACT_LOG)
    clean = _clean_contact(values)
    contact = Contact(id=new_uuid(), organisation_id=actor.organisation_id, taken_by_id=actor.id,
                      **{k: v for k, v in clean.items() if k not in sealing.SEALED_COLUMNS})
    sealing.give_own_key(contact)
    for column in sealing.SEALED_COLUMNS:
        sealing.seal_contact(contact, column, clean[column])
    db.session.add(contact)
    filled = sorted(k for k, v in clean.items() if v not in (None, False, ""))
    details: dict = {"fields": filled, "call_type": clean["call_type"]}
    if clean["police_report_basis"]:
        # An override of the caller's wishes must be traceable: the basis is a code, never what was said.
        details["police_report_basis"] = clean["police_report_basis"]
    record_event("contact.log", object_type="contact", object_id=contact.id, actor=actor, details=details)
    return contact


def _may_change(actor, contact: Contact) -> None:
    # CONTACT_VIEW settles whose contact it is (404 for another organisation); CONTACT_LOG, who may act on it.
    authorize(actor, Action.CONTACT_VIEW, contact)
    authorize(actor, Action.CONTACT_LOG, contact)


def mark_handled(actor, contact: Contact) -> Contact:
    _may_change(actor, contact)
    # Two operators may press the button for the same crisis at once: only one UPDATE finds it unhandled.
    now = utcnow()
    result = db.session.execute(
        update(Contact)
        .where(Contact.id == contact.id, Contact.handled_at.is_(None))
        .values(handled_at=now, handled_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise IntakeError(gettext("Someone has already marked this contact as handled."))
    set_committed_value(contact, "handled_at", now)
    set_committed_value(contact, "handled_by_id", actor.id)
    record_event("contact.handled", object_type="contact", object_id=contact.id, case_id=contact.case_id,
                 actor=actor, details={"call_type": contact.call_type})
    return contact


def _not_linked(contact: Contact) -> None:
    if contact.case_id is not None:
        raise IntakeError(gettext("This contact is already linked to a case."))


def _claim(contact: Contact, linked_as: str) -> None:
    """Link the contact with one conditional UPDATE, before the work starts: of two operators opening a case from
    the same contact at once, the second finds it linked (and makes no second case) instead of re-linking it."""
    if not transition(contact, Contact.case_id.is_(None), linked_as=linked_as):
        raise IntakeError(gettext("This contact is already linked to a case."))


def _case_values(values: dict) -> dict:
    """The case's values from what the contact's form gives. The age (a date of birth, a year of birth or an
    estimate made today) becomes the case's age and band (cases.operations). A contact's "a minor is involved" is
    not copied: it may be about someone else, or a guess; the case page asks for the age instead."""
    data = {k: values.get(k) for k in (*identity.ENCRYPTED_FIELDS, "gender", "citizenship", "languages",
                                       "unaccompanied_or_separated")}
    data["status"] = "Active"
    return data


def open_case_from_contact(actor, contact: Contact, values: dict, create_anyway: bool = False) -> Case:
    """Create a case for the person a contact is about, after a duplicate check; link the contact to it.

    Raises PossibleDuplicates when the person may already be known and the user has not chosen to create anyway.
    """
    _may_change(actor, contact)
    authorize(actor, Action.CASE_CREATE)
    _not_linked(contact)
    if not (values.get("given_name") or "").strip():
        raise IntakeError(gettext("Give at least the person's given name (or the name they use)."))
    wrong_age = age.problems(values)
    if wrong_age:
        raise IntakeError(next(iter(wrong_age.values())))
    report = duplicates.find_candidates(
        actor, values.get("given_name"), values.get("family_name"), values.get("date_of_birth"),
        values.get("birth_year"), values.get("document_number"), values.get("phone"),
    )
    if not report.empty and not create_anyway:
        raise PossibleDuplicates(report)
    _claim(contact, "opened")
    case = cases.create_case(actor, _case_values(values))
    sealing.move_to_case(contact, case.id)
    contact.case = case
    record_event("intake.case_opened", object_type="contact", object_id=contact.id, case_id=case.id, actor=actor,
                 details={"possible_duplicates": report.total, "created_anyway": not report.empty})
    return case


def attach_contact(actor, contact: Contact, reference: str) -> Case:
    """Link a contact to an existing case, chosen by reference; only a case the actor may open will do."""
    _may_change(actor, contact)
    _not_linked(contact)
    ref = (reference or "").strip().upper()
    # The scope is part of the query: another organisation's case is never loaded, so the answer and the work done
    # are the same as for a reference that does not exist (issue 10: no existence oracles).
    case = db.session.scalar(
        select(Case).where(Case.reference == ref, case_scope_filter(actor, by_case=True))
    ) if ref else None
    if case is None or not allowed(actor, Action.CASE_VIEW, case):
        # The same answer for a case that does not exist and one the actor may not open.
        raise IntakeError(gettext("No case you may open has the reference %(ref)s.", ref=ref))
    _claim(contact, "attached")
    sealing.move_to_case(contact, case.id)
    contact.case = case
    record_event("intake.contact_attach", object_type="contact", object_id=contact.id, case_id=case.id, actor=actor)
    return case


def _interview_consent(case: Case, values: dict, screened_on: date) -> ConsentRecord | None:
    choice = values.get("consent")
    if choice == "declined":
        return None
    record = db.session.get(ConsentRecord, choice) if isinstance(choice, str) and len(choice) <= 36 else None
    if record is None or record.case_id != case.id:
        raise IntakeError(gettext("Link the consent the interview relied on, or record that the person declined."))
    if record.withdrawn_at is not None:
        raise IntakeError(gettext("That consent has been withdrawn; it cannot cover an interview."))
    if not record.point_interview:
        raise IntakeError(gettext("That consent record does not cover the interview."))
    if record.obtained_on > screened_on:
        raise IntakeError(gettext("The consent was obtained after the interview date; consent comes first."))
    return record


def record_screening(actor, case: Case, values: dict) -> Screening:
    """Record a screening interview; its finding becomes the case's trafficking status (with who decided)."""
    authorize(actor, Action.SCREENING_RECORD, case)
    screened_on = values.get("screened_on")
    if not isinstance(screened_on, date):
        raise IntakeError(gettext("Say on which day the interview took place."))
    if screened_on > date.today():
        raise IntakeError(gettext("A screening cannot be dated in the future."))
    if screened_on.year < 1900:
        raise IntakeError(gettext("This date is too far in the past."))
    consent = _interview_consent(case, values, screened_on)
    interpreter = _text(values.get("interpreter_name"), MAX_NAME)
    if bool(values.get("interpreter_used")) != bool(interpreter):
        raise IntakeError(gettext("Give the interpreter's name when, and only when, an interpreter was used."))
    language = values.get("language") or None
    if language is not None and language not in htcds.language_codes():
        raise IntakeError(gettext("Choose the language from the list."))
    indicators = _codes(values.get("indicators"), INDICATORS, gettext("Choose the indicators from the list."))
    finding = values.get("finding") or None
    decided_by = values.get("decided_by") or None
    if finding is not None and finding not in htcds.TRAFFICKING_STATUS:
        raise IntakeError(gettext("Choose the finding from the list."))
    if decided_by is not None and decided_by not in htcds.STATUS_DECIDED_BY:
        raise IntakeError(gettext("Choose who decided from the list."))
    if finding is None and consent is not None:
        raise IntakeError(gettext("Record the finding of the screening."))
    if (finding is None) != (decided_by is None):
        raise IntakeError(gettext("A finding needs who decided it, and who decided needs a finding."))
    screening = Screening(
        id=new_uuid(), case_id=case.id, screened_on=screened_on, screened_by_id=actor.id,
        consent_record_id=consent.id if consent else None, consent_declined=consent is None,
        interpreter_used=bool(interpreter), language=language, indicators=join_codes(indicators),
        finding=finding, decided_by=decided_by,
    )
    seal(screening, "interpreter_name", interpreter)
    seal(screening, "notes", _text(values.get("notes"), MAX_SUMMARY))
    db.session.add(screening)
    changed = [] if finding is None else [
        name for name, value in (("trafficking_status", finding), ("status_decided_by", decided_by))
        if getattr(case, name) != value
    ]
    if changed:
        case.trafficking_status = finding
        case.status_decided_by = decided_by
        case.updated_at = utcnow()
        case.updated_by_id = actor.id
        try:
            db.session.flush()
        except StaleDataError:
            # Someone saved the case between our read and our write; the caller rolls back.
            raise IntakeError(gettext("Someone else changed this case just now. Please record the screening again.")
                              ) from None
        record_event("case.update", object_type="case", object_id=case.id, case_id=case.id, actor=actor,
                     details={"fields": changed})
    filled = sorted(k for k in ("interpreter_name", "language", "indicators", "finding", "decided_by", "notes")
                    if values.get(k))
    record_event("screening.record", object_type="screening", object_id=screening.id, case_id=case.id, actor=actor,
                 details={"fields": filled, "consent": "declined" if consent is None else "recorded"})
    return screening
