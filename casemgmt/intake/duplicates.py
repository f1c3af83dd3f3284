"""Duplicate detection before a case is opened: does the user's organisation already know this person?

The matching engine (casemgmt.matching) finds candidates through blind indexes without decrypting the table: the
phonetic code of each name part with the year of birth, the date of birth (also with day and month exchanged), the
phone in E.164 and the document number. The indexes collide by design (see crypto.blind_index), so a candidate is
only a candidate: the best-ranked few are decrypted and scored (matching.score), and only scored matches are shown,
with the fields that agreed.

The check never looks beyond the user's own organisation and the cases referred to them (issue 10, finding 2: it
used to name the organisation holding a match, which made it an oracle for "who holds this person?"). The scope is a
condition of the query itself, so another organisation's rows are never fetched, never decrypted, never counted
against the candidate limit, and the statements, rows and answer are the same whether another organisation holds
the person or nobody does. Telling the holder of a possible match in another organisation is matching.crossorg's
job, after the case is created and never to the person who searched.

A scored match in a case of the user's own organisation that they may not open (a hotline operator and a
caseworker's case) is reported without anything about it: inside one organisation a case's existence is not a
secret (such a case answers 403, not 404), and the point of the check is to stop duplicates at intake. The check is
audited with counts only, never the terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_access, case_scope_filter
from casemgmt.audit import record_event
from casemgmt.cases import identity
from casemgmt.cases.models import Case
from casemgmt.matching import engine, keys


@dataclass(frozen=True)
class Candidate:
    """A case the user may open whose person scored as probably the same (matching.score), with what agreed."""

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


def matched_fields(levels: dict[str, str]) -> tuple[str, ...]:
    """The codes of MATCHED_FIELDS for a candidate's agreeing fields (matching.score levels). The name agrees when
    every part of it that was typed agrees as typed (a given name alone, or surnames in another order, included);
    it is similar when some part agrees only as another spelling, or one surname is missing or another."""
    out = []
    names = [levels[f] for f in ("given", "family") if levels.get(f) is not None]
    if names and all(level == "exact" for level in names):
        out.append("name")
    elif any(level != "differ" for level in names):
        out.append("name_similar")
    out += {"exact": ["date_of_birth"], "swapped": ["date_of_birth_swapped"], "year": ["birth_year"]}.get(
        levels.get("dob"), [])
    if levels.get("document") in ("exact", "close"):
        out.append("document_number")
    if levels.get("phone") == "exact":
        out.append("phone")
    return tuple(out)


def query_region(actor) -> str | None:
    """Phones typed without a country code are read as the user's organisation's country's."""
    return actor.organisation.country if actor.organisation else None


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
    query = keys.identity_of({
        "given_name": given_name, "family_name": family_name, "date_of_birth": date_of_birth,
        "birth_year": birth_year, "document_number": document_number, "phone": phone,
    }, actor.organisation.country if actor.organisation else None)
    report = DuplicateReport(searched=bool(query.parts and query.year) or bool(query.phone or query.document))
    if report.searched:
        opened: set[str] = set()

        def may_decrypt(case: Case) -> bool:
            # Cases the user may open are decrypted to be shown; the rest of their own organisation's cases are
            # decrypted (server side, never shown) so that only a scored match is reported, not a coincidence.
            if case_access(actor, case) is not None:
                if not allowed(actor, Action.CASE_VIEW_IDENTITY, case):
                    return False
                opened.add(case.id)
                return True
            return case.organisation_id == actor.organisation_id

        found = engine.best_matches(query, _within_reach(actor), query_region(actor), may_decrypt=may_decrypt)
        for match in found:
            if match.case.id in opened:
                report.candidates.append(Candidate(
                    match.case.id, match.case.reference, identity.display_name(match.revealed),
                    matched_fields(match.score.levels),
                ))
            else:
                report.in_own_organisation = True
    record_event("intake.duplicate_check", actor=actor,
                 details={"searched": report.searched, "shown": len(report.candidates),
                          "own_organisation_not_open": report.in_own_organisation})
    return report
