"""Duplicate detection before a case is opened: does the user's organisation already know this person?

The blind indexes on Person (name with year of birth, document number, phone) find candidates without decrypting the
table. They collide by design (see crypto.blind_index), so a candidate is only a candidate: those in cases the user
may open are decrypted and compared exactly, and only real matches are shown, with the fields that matched.

The check never looks beyond the user's own organisation and the cases referred to them (issue 10, finding 2: it
used to name the organisation holding a match, which made it an oracle for "who holds this person?"). The scope is a
condition of the query itself, so another organisation's rows are never fetched, never decrypted, never counted
against the candidate limit, and the statements, rows and answer are the same whether another organisation holds
the person or nobody does. Telling the holder of a possible match is left to its own feature.

A possible match in a case of the user's own organisation that they may not open (a hotline operator and a
caseworker's case) is reported without anything about it: inside one organisation a case's existence is not a
secret (such a case answers 403, not 404), and the point of the check is to stop duplicates at intake. The check is
audited with counts only, never the terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_access, case_scope_filter, prefetch_case_access
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


@dataclass
class DuplicateReport:
    candidates: list[Candidate] = field(default_factory=list)
    # A possible match in a case of the user's own organisation that they may not open: whether, never which.
    in_own_organisation: bool = False
    searched: bool = False  # False when nothing searchable was given (a name needs a year of birth)

    @property
    def empty(self) -> bool:
        return not self.candidates and not self.in_own_organisation

    @property
    def total(self) -> int:
        return len(self.candidates) + int(self.in_own_organisation)


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
    # A person known by the year of birth alone (cases.age) is found by name and year as well.
    stored_year = stored_dob[:4] if stored_dob else revealed.get("birth_year")
    if terms.name and terms.year and stored_year:
        same_name = bidx.full_name(revealed.get("given_name"), revealed.get("family_name")) == terms.name
        if same_name and stored_dob and terms.dob == stored_dob:
            matched.append("name_date_of_birth")
        elif same_name and stored_year == str(terms.year):
            matched.append("name_birth_year")
    if terms.document and bidx.normalise_document(revealed.get("document_number") or "") == terms.document:
        matched.append("document_number")
    if terms.phone and bidx.normalise_phone(revealed.get("phone") or "") == terms.phone:
        matched.append("phone")
    return tuple(matched)


def _within_reach(actor):
    """The cases the check may look at, as SQL: the user's scope (own cases, referred-in cases) and the rest of their
    own organisation. Nothing else is ever read."""
    own_organisation = (Case.organisation_id == actor.organisation_id) & Case.erased_at.is_(None)
    return or_(case_scope_filter(actor, by_case=True), own_organisation)


def find_candidates(
    actor,
    given_name: str | None = None,
    family_name: str | None = None,
    date_of_birth: date | None = None,
    birth_year: int | None = None,
    document_number: str | None = None,
    phone: str | None = None,
) -> DuplicateReport:
    """Look for the person among the cases of the actor's organisation and those referred to them."""
    authorize(actor, Action.CASE_CREATE)
    terms = _terms(given_name, family_name, date_of_birth, birth_year, document_number, phone)
    conditions = _conditions(terms)
    report = DuplicateReport(searched=bool(conditions))
    if conditions:
        rows = db.session.scalars(
            select(Case)
            .join(Person, Person.case_id == Case.id)
            .where(or_(*conditions), Case.erased_at.is_(None), _within_reach(actor))
            .options(selectinload(Case.person))
            .order_by(Case.created_at.desc(), Case.id)
            .limit(MAX_CANDIDATES)
        ).all()
        prefetch_case_access(actor, [c.id for c in rows])
        opened = [c for c in rows if case_access(actor, c) is not None]
        visible = [c for c in opened if allowed(actor, Action.CASE_VIEW_IDENTITY, c)]
        preload_keys([c.id for c in visible])
        for case in visible:
            revealed = identity.read_identity(case.person)
            matched = _exact_matches(terms, revealed)
            if matched:
                report.candidates.append(
                    Candidate(case.id, case.reference, identity.display_name(revealed), matched)
                )
        # Only rows of the actor's own organisation can be left over (see _within_reach); a case they may open
        # without seeing its identity is left out rather than reported by an index hit that may be a coincidence.
        opened_ids = {c.id for c in opened}
        report.in_own_organisation = any(
            c.id not in opened_ids and c.organisation_id == actor.organisation_id for c in rows
        )
    record_event("intake.duplicate_check", actor=actor,
                 details={"searched": report.searched, "shown": len(report.candidates),
                          "own_organisation_not_open": report.in_own_organisation})
    return report
