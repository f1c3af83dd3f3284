"""Read-only queries for case pages: the filtered list, search through blind indexes, the access log."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_scope_filter, prefetch_case_access
from casemgmt.audit import record_event
from casemgmt.audit.models import AuditEvent
from casemgmt.cases import identity
from casemgmt.cases.models import Case, Person
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db

# A blind index value is shared by about C = R / 2**L records by design; more candidates than this means the
# term is not selective (or the index is undersized), and decrypting them all would be the scan we avoid.
MAX_CANDIDATES = 500

# What the "who has seen this record" page lists: views, changes and everything that shared or moved the record.
VIEW_ACTIONS = (
    "case.view", "case.update", "case.create", "case.stage_change", "case.erase", "case.export",
    "case.timeline_view", "counseling.read_notes",
    "referral.create", "referral.accept", "referral.decline", "referral.revoke", "referral.consent_override",
    "transfer.request", "transfer.approve", "transfer.reject", "transfer.cancel",
    "document.upload", "document.download",
)


@dataclass
class CaseFilters:
    stage: str | None = None
    status: str | None = None
    assignee: int | None = None
    # Extra conditions from a report figure (see reports.figures): the list behind a dashboard or report total.
    report_conditions: list = field(default_factory=list)


def case_list_query(actor, filters: CaseFilters) -> Select:
    authorize(actor, Action.CASE_LIST)
    query = (
        select(Case)
        .where(case_scope_filter(actor))
        .options(selectinload(Case.person), selectinload(Case.assigned_to))
        .order_by(Case.created_at.desc(), Case.id)
    )
    if filters.stage:
        query = query.where(Case.stage == filters.stage)
    if filters.status:
        query = query.where(Case.status == filters.status)
    if filters.assignee:
        query = query.where(Case.assigned_to_id == filters.assignee)
    if filters.report_conditions:
        query = query.where(*filters.report_conditions)
    return query


def names_for(actor, cases: list[Case]) -> dict[str, str]:
    """Decrypt the names on one page of cases, for the cases whose identity the user may see."""
    names = {}
    prefetch_case_access(actor, [c.id for c in cases])
    preload_keys([c.id for c in cases if c.person is not None])
    for case in cases:
        if case.person is not None and allowed(actor, Action.CASE_VIEW_IDENTITY, case):
            names[case.id] = identity.display_name(
                {"given_name": _unseal(case.person, "given_name"), "family_name": _unseal(case.person, "family_name")}
            )
    return names


def _unseal(person: Person, column: str) -> str | None:
    from casemgmt.crypto import unseal

    return unseal(person, column)


def search_cases(actor, kind: str, term: str) -> list[tuple[Case, str]]:
    """Exact search: the blind index narrows to a few candidates in the user's scope, which are decrypted and
    compared. The audit event records that a search happened and how many results, never the term."""
    authorize(actor, Action.CASE_SEARCH)
    column_name, value = identity.index_value(kind, term)
    results: list[tuple[Case, str]] = []
    if value is not None:
        column = getattr(Person, column_name)
        candidates = db.session.scalars(
            select(Case)
            .join(Person, Person.case_id == Case.id)
            .where(column == value, case_scope_filter(actor))
            .options(selectinload(Case.person))
            .order_by(Case.created_at.desc())
            .limit(MAX_CANDIDATES)
        ).all()
        preload_keys([c.id for c in candidates])
        for case in candidates:
            revealed = identity.read_identity(case.person)
            if identity.matches(kind, term, revealed):
                results.append((case, identity.display_name(revealed)))
    record_event("case.search", details={"kind": kind, "results": len(results)}, actor=actor)
    return results


def access_log_query(actor, case: Case) -> Select:
    authorize(actor, Action.CASE_ACCESS_LOG, case)
    return (
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.action.in_(VIEW_ACTIONS))
        .order_by(AuditEvent.seq.desc())
    )
