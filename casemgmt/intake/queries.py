"""Reads for the intake pages: the queue, one contact, a case's contacts and screenings."""

from __future__ import annotations

from sqlalchemy import Select, and_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.access.policies import case_access
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.intake import sealing
from casemgmt.intake.models import Contact, Screening


def _valid_id(value: str | None) -> bool:
    return bool(value) and len(value) <= 36


def contact_for(actor, contact_id: str) -> Contact:
    """A contact of the actor's organisation; another organisation's (or a missing) contact answers 404."""
    contact = db.session.get(Contact, contact_id) if _valid_id(contact_id) else None
    if contact is None or contact.is_deleted:  # a deleted contact is gone from every page (core/deletion.py)
        raise NotFound()
    authorize(actor, Action.CONTACT_VIEW, contact)
    return contact


def case_for(actor, case_id: str, action: Action) -> Case:
    found = db.session.get(Case, case_id) if _valid_id(case_id) else None
    if found is None:
        raise NotFound()
    authorize(actor, action, found)
    return found


def waiting_condition():
    """In SQL, what Contact.waiting says: a crisis not handled and not linked to a case (the queue, the work list)."""
    return and_(Contact.call_type == "crisis", Contact.handled_at.is_(None), Contact.case_id.is_(None),
                Contact.live())


def waiting_first():
    """Sort key: crisis contacts nobody has acted on come first."""
    return sql_case((waiting_condition(), 0), else_=1)


def queue_query(actor) -> Select:
    """The organisation's contacts: unhandled crises on top, then everything else, newest first."""
    authorize(actor, Action.CONTACT_VIEW)
    return (
        select(Contact)
        .where(Contact.organisation_id == actor.organisation_id, Contact.live())
        .options(selectinload(Contact.taken_by), selectinload(Contact.case))
        .order_by(waiting_first(), Contact.occurred_at.desc(), Contact.id)
    )


def contact_texts(contact: Contact) -> dict[str, str | None] | None:
    """The contact's encrypted text, or None when the case it belongs to has been erased."""
    if contact.case is not None and contact.case.erased_at is not None:
        return None
    return {column: sealing.unseal_contact(contact, column) for column in sealing.SEALED_COLUMNS}


def contacts_of_case(actor, case_id: str) -> list[Contact]:
    """The case's contacts that the actor may read (contacts belong to the organisation that took them)."""
    return list(db.session.scalars(
        select(Contact)
        .where(Contact.case_id == case_id, Contact.organisation_id == actor.organisation_id, Contact.live())
        .options(selectinload(Contact.taken_by), selectinload(Contact.handled_by))
        .order_by(Contact.occurred_at.desc())
    ))


def screenings_of(case_id: str) -> list[Screening]:
    return list(db.session.scalars(
        select(Screening)
        .where(Screening.case_id == case_id)
        .options(selectinload(Screening.screened_by), selectinload(Screening.consent_record))
        .order_by(Screening.screened_on.desc(), Screening.created_at.desc())
    ))


def may_read_screening_notes(actor, case: Case) -> bool:
    """Interview notes are for the organisation working the case, not for organisations it was referred to."""
    return case_access(actor, case) == "full"


def screening_texts(screenings: list[Screening]) -> dict[str, dict[str, str | None]]:
    return {s.id: {c: unseal(s, c) for c in ("interpreter_name", "notes")} for s in screenings}


def minor_reported(actor, case_id: str) -> bool:
    """Whether a contact of the actor's organisation linked to the case said a minor was involved. Not a fact about
    the person (the caller may have meant someone else, or guessed): the case page asks for the age instead."""
    return db.session.scalar(
        select(Contact.id).where(
            Contact.case_id == case_id, Contact.organisation_id == actor.organisation_id,
            Contact.minor_involved.is_(True), Contact.live(),
        ).limit(1)
    ) is not None
