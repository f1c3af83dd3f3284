"""has_consent(): the one question other features ask before sharing, returning or reporting; and the reads of
the consent page."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.cases import age
from casemgmt.cases.models import Case
from casemgmt.consent.models import PURPOSES, ConsentRecord
from casemgmt.crypto import unseal
from casemgmt.extensions import db

_COLUMN = {
    "share": ConsentRecord.consents_to_share,
    "return": ConsentRecord.consents_to_return,
    "police_report": ConsentRecord.consents_to_police_report,
}


def has_consent(case_id: str, purpose: str) -> bool:
    """True when a consent record that is not withdrawn covers `purpose` and the interview itself."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    found = db.session.scalar(
        select(ConsentRecord.id)
        .where(
            ConsentRecord.case_id == case_id,
            ConsentRecord.withdrawn_at.is_(None),
            ConsentRecord.point_interview.is_(True),
            _COLUMN[purpose].is_(True),
        )
        .limit(1)
    )
    return found is not None


def case_for(actor, case_id: str, action: Action) -> Case:
    """The case of a consent page; a missing case or another organisation's case answers 404."""
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    authorize(actor, action, case)
    return case


def record_for(actor, case_id: str, record_id: str) -> ConsentRecord:
    """A consent record of this case that the actor may change; anything else answers 404."""
    record = db.session.get(ConsentRecord, record_id) if record_id and len(record_id) <= 36 else None
    if record is None or record.case_id != case_id:
        raise NotFound()
    authorize(actor, Action.CONSENT_RECORD, record)
    return record


def records_of(case_id: str) -> list[ConsentRecord]:
    """Every consent record of a case, newest first, with who obtained and withdrew it (one query)."""
    return list(db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.case_id == case_id)
        .options(selectinload(ConsentRecord.obtained_by), selectinload(ConsentRecord.withdrawn_by))
        .order_by(ConsentRecord.obtained_on.desc(), ConsentRecord.created_at.desc())
    ))


def revealed(records: list[ConsentRecord]) -> dict[str, dict[str, str | None]]:
    """The encrypted text of records the caller has already been allowed to read, by record id."""
    columns = ("interpreter_name", "notes", "withdrawal_reason", "guardian_name", "guardian_relationship")
    return {r.id: {c: unseal(r, c) for c in columns} for r in records}


def asks_for_guardian(case: Case, day: date | None = None) -> bool:
    """Whether the consent form asks for the child's assent and a guardian's consent: when the person is a child on
    `day` (the date on the form) or on the day the case was registered, since consent may be dated back to any day
    since (an age only grows: a child on a later day was one on every day before), or when no age is recorded."""
    registered = case.created_at.date() if case.created_at else date.today()
    earliest = min(registered, day) if day else registered
    return age.is_child(case, earliest) or age.age_on(case, earliest).basis is None


def interview_consents(case_id: str) -> list[ConsentRecord]:
    """Active records that cover the interview: what a screening may rely on."""
    return list(db.session.scalars(
        select(ConsentRecord)
        .where(
            ConsentRecord.case_id == case_id,
            ConsentRecord.withdrawn_at.is_(None),
            ConsentRecord.point_interview.is_(True),
        )
        .options(selectinload(ConsentRecord.obtained_by))
        .order_by(ConsentRecord.obtained_on.desc(), ConsentRecord.created_at.desc())
    ))
