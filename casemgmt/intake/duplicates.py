"""Duplicate detection before a case is opened: is this person already known, here or elsewhere?

The blind indexes on Person (name with year of birth, document number, phone) find candidates without decrypting the
table. They collide by design (see crypto.blind_index), so a candidate is only a candidate: those in cases the user
may open are decrypted and compared exactly, and only real matches are shown, with the fields that matched. Those in
cases the user may not open are never decrypted; the user learns only that a possible match exists in organisation X
and how to reach that organisation, nothing about the person (an index hit may well be a coincidence). The check is
audited with counts only, never the terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_scope_filter
from casemgmt.audit import record_event
from casemgmt.cases import identity
from casemgmt.cases.models import Case, Person
from casemgmt.cases.queries import MAX_CANDIDATES
from casemgmt.crypto import blind_index as bidx
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db


@dataclass(frozen=True)
class Candidate:
    """A case the user may open whose person matches exactly on at least one field."""

    case_id: str
    reference: str
    name: str
    matched: tuple[str, ...]  # codes of intake.vocabulary.MATCHED_FIELDS


@dataclass(frozen=True)
class Elsewhere:
    """An organisation holding a possible match in a case the user may not open: whom to ask, nothing more."""

    organisation_id: int
    organisation_name: str
    contact: str | None


@dataclass
class DuplicateReport:
    candidates: list[Candidate] = field(default_factory=list)
    elsewhere: list[Elsewhere] = field(default_factory=list)
    searched: bool = False  # False when nothing searchable was given (a name needs a year of birth)

    @property
    def empty(self) -> bool:
        return not self.candidates and not self.elsewhere

    @property
    def total(self) -> int:
        return len(self.candidates) + len(self.elsewhere)


@dataclass(frozen=True)
class _Terms:
    name: str
    year: int | None
    dob: str | None
    document: str
    phone: str


def _terms(given_name, family_name, date_of_birth, birth_year, document_number, phone) -> _Terms:
    dob = date_of_birth if isinstance(date_of_birth, date) else None
    year = dob.year if dob else (int(birth_year) if birth_year else None)
    return _Terms(
        name=bidx.full_name(given_name, family_name),
        year=year,
        dob=dob.isoformat() if dob else None,
        document=bidx.normalise_document(document_number or ""),
        phone=bidx.normalise_phone(phone or ""),
    )


def _conditions(terms: _Terms) -> list:
    # The same normalisation and keys as cases.identity.write_identity, so equal values give equal indexes.
    bits = identity._bits()
    conditions = []
    if terms.name and terms.year:
        conditions.append(Person.name_year_bidx == bidx.compute("name_year", f"{terms.name}|{terms.year}", bits))
    if terms.document:
        conditions.append(Person.document_bidx == bidx.compute("document", terms.document, bits))
    if terms.phone:
        conditions.append(Person.phone_bidx == bidx.compute("phone", terms.phone, bits))
    return conditions


def _exact_matches(terms: _Terms, revealed: dict[str, str | None]) -> tuple[str, ...]:
    matched = []
    stored_dob = revealed.get("date_of_birth")
    if terms.name and terms.year and stored_dob:
        same_name = bidx.full_name(revealed.get("given_name"), revealed.get("family_name")) == terms.name
        if same_name and terms.dob == stored_dob:
            matched.append("name_date_of_birth")
        elif same_name and stored_dob[:4] == str(terms.year):
            matched.append("name_birth_year")
    if terms.document and bidx.normalise_document(revealed.get("document_number") or "") == terms.document:
        matched.append("document_number")
    if terms.phone and bidx.normalise_phone(revealed.get("phone") or "") == terms.phone:
        matched.append("phone")
    return tuple(matched)


def find_candidates(
    actor,
    given_name: str | None = None,
    family_name: str | None = None,
    date_of_birth: date | None = None,
    birth_year: int | None = None,
    document_number: str | None = None,
    phone: str | None = None,
) -> DuplicateReport:
    """Look for the person among existing cases (all organisations), revealing only what the actor may see."""
    authorize(actor, Action.CASE_CREATE)
    terms = _terms(given_name, family_name, date_of_birth, birth_year, document_number, phone)
    conditions = _conditions(terms)
    report = DuplicateReport(searched=bool(conditions))
    if conditions:
        rows = db.session.scalars(
            select(Case)
            .join(Person, Person.case_id == Case.id)
            .where(or_(*conditions), Case.erased_at.is_(None))
            .options(selectinload(Case.person), selectinload(Case.organisation))
            .order_by(Case.created_at.desc(), Case.id)
            .limit(MAX_CANDIDATES)
        ).all()
        ids = [c.id for c in rows]
        in_scope = set(db.session.scalars(select(Case.id).where(Case.id.in_(ids), case_scope_filter(actor))))
        visible = [c for c in rows if c.id in in_scope and allowed(actor, Action.CASE_VIEW_IDENTITY, c)]
        preload_keys([c.id for c in visible])
        for case in visible:
            revealed = identity.read_identity(case.person)
            matched = _exact_matches(terms, revealed)
            if matched:
                report.candidates.append(
                    Candidate(case.id, case.reference, identity.display_name(revealed), matched)
                )
        shown = {c.id for c in visible}
        seen: set[int] = set()
        for case in rows:
            if case.id in shown or case.organisation_id in seen:
                continue
            seen.add(case.organisation_id)
            org = case.organisation
            report.elsewhere.append(Elsewhere(org.id, org.name, org.contact))
        report.elsewhere.sort(key=lambda e: e.organisation_name)
    record_event("intake.duplicate_check", actor=actor,
                 details={"searched": report.searched, "shown": len(report.candidates),
                          "organisations_elsewhere": len(report.elsewhere)})
    return report
