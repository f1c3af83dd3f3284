"""Read-only queries for case pages: the filtered list, search (on the matching engine), the access log."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import date
from functools import reduce

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_scope_filter, case_scope_parts, prefetch_case_access
from casemgmt.audit import record_event
from casemgmt.audit.denials import DENIED
from casemgmt.audit.models import AuditEvent
from casemgmt.cases import age, identity
from casemgmt.cases.models import Case, Person
from casemgmt.core.pagination import Page, page_window
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db
from casemgmt.matching import search

# What the "who has seen this record" page lists: views, changes and everything that shared or moved the record.
VIEW_ACTIONS = (
    "case.view", "case.update", "case.create", "case.stage_change", "case.erase", "case.export",
    "case.timeline_view", "counseling.read_notes", "revision.view",
    "referral.create", "referral.accept", "referral.decline", "referral.revoke", "referral.consent_override",
    "referral.resume", "transfer.request", "transfer.approve", "transfer.reject", "transfer.cancel",
    "transfer.accept", "transfer.decline", "grant.create", "grant.suspend", "grant.resume", "grant.revoke",
    "document.upload", "document.download",
)


@dataclass
class CaseFilters:
    stage: str | None = None
    status: str | None = None
    assignee: int | None = None
    # Extra conditions from a report figure (see reports.figures): the list behind a dashboard or report total.
    report_conditions: list = field(default_factory=list)


def _conditions(filters: CaseFilters) -> list:
    conditions = []
    if filters.stage:
        conditions.append(Case.stage == filters.stage)
    if filters.status:
        conditions.append(Case.status == filters.status)
    if filters.assignee:
        conditions.append(Case.assigned_to_id == filters.assignee)
    return conditions + list(filters.report_conditions)


def _newest_first(columns) -> list:
    # The id only orders cases opened in the same instant. Both descending, so that an index on
    # (organisation_id, created_at, id) gives the whole order read backwards, with no sort step.
    return [columns.created_at.desc(), columns.id.desc()]


def case_list_page(actor, filters: CaseFilters, per_page: int, page: int | None = None) -> Page:
    """One page of the cases in the user's scope that match the filters, newest first, and how many there are.

    The scope is read as its disjoint parts (policies.case_scope_parts): each part's newest cases come in order
    through its own index and the parts are merged, so a page reads about a page of rows (plus the offset) instead
    of sorting the whole caseload; each part is counted on its own. The page's keys are found first and the full
    rows joined to them, so the rows before the offset are skipped in the index without reading the cases."""
    authorize(actor, Action.CASE_LIST)
    where = _conditions(filters)
    parts = case_scope_parts(actor)
    if not parts:
        return Page(items=[], page=1, per_page=per_page, total=0)
    counts = [select(func.count()).select_from(Case).where(part, *where).scalar_subquery() for part in parts]
    total = db.session.scalar(select(reduce(operator.add, counts))) or 0
    page, offset = page_window(total, per_page, page)
    keyed = [select(Case.id, Case.created_at).where(part, *where) for part in parts]
    if len(keyed) > 1 and db.session.get_bind().dialect.name != "sqlite":
        # PostgreSQL (15) merges the parts (Merge Append) only when each is ordered and limited on its own; without
        # that it sorts the whole scope. SQLite merges plain parts in index order (MERGE (UNION ALL)) but would
        # sort each limited part again, so it gets them plain.
        keyed = [part.order_by(*_newest_first(part.selected_columns)).limit(offset + per_page) for part in keyed]
    merged = union_all(*keyed) if len(keyed) > 1 else keyed[0]
    keys = merged.order_by(*_newest_first(merged.selected_columns)).limit(per_page).offset(offset).subquery("page")
    items = db.session.scalars(
        select(Case)
        .join(keys, Case.id == keys.c.id)
        .options(joinedload(Case.person), selectinload(Case.assigned_to))
        .order_by(*_newest_first(keys.c))
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


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


def names_for_ids(actor, case_ids) -> dict[str, str]:
    """The names of a few cases met on a capped list (a work list, one page of tasks or notifications), for the
    cases whose identity the user may see. Only those cases are loaded (one query, their people joined) and
    decrypted; a user who may see no identity (a finance officer) costs no query at all."""
    ids = {cid for cid in case_ids if cid}
    if not ids or not allowed(actor, Action.CASE_VIEW_IDENTITY):
        return {}
    cases = db.session.scalars(
        select(Case).where(Case.id.in_(ids), Case.erased_at.is_(None)).options(joinedload(Case.person))
    ).unique().all()
    return names_for(actor, list(cases))


def _unseal(person: Person, column: str) -> str | None:
    from casemgmt.crypto import unseal

    return unseal(person, column)


@dataclass(frozen=True)
class SearchHit:
    """One search result as the page shows it."""

    case: Case
    name: str
    age: str | None  # "16", "about 16", "born 2010" (cases.age), None when nothing is recorded


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    page: int
    has_next: bool


def search_cases(actor, text: str, date_of_birth: date | None = None, birth_year: int | None = None,
                 page: int = 1) -> SearchResults:
    """One page of the cases in the user's scope whose person answers the search (matching.search), best first.

    Only cases the user may open are looked at (the scope is a condition of the candidates query) and only the
    page's candidates whose identity the user may see are decrypted. The audit event records that a search happened,
    a coarse kind ("name" or "number"), the page and how many results: never the term."""
    authorize(actor, Action.CASE_SEARCH)
    region = actor.organisation.country if actor.organisation else None
    query = search.parse_search(text, region, date_of_birth, birth_year)
    found = search.search(
        query, case_scope_filter(actor, by_case=True), region, page,
        # The candidates are a few by now: their own grants are probed (by_case) and answered in one query.
        before_decrypt=lambda ids: prefetch_case_access(actor, ids),
        may_decrypt=lambda case: allowed(actor, Action.CASE_VIEW_IDENTITY, case),
    )
    today = date.today()
    hits = [SearchHit(f.case, identity.display_name(f.revealed), _age_label(f.case, f.revealed, today))
            for f in found.results]
    record_event("case.search", details={"kind": query.kind, "page": found.page, "results": len(hits)}, actor=actor)
    return SearchResults(hits, found.page, found.has_next)


def _age_label(case: Case, revealed: dict, today: date) -> str | None:
    """The age from the values the search decrypted anyway (cases.age reckons it; nothing is decrypted again)."""
    def number(text):
        return int(text) if text not in (None, "") else None

    def day(text):
        return date.fromisoformat(text) if text else None

    facts = age.AgeFacts(
        basis=case.person.age_basis, date_of_birth=day(revealed.get("date_of_birth")),
        estimated_age=number(revealed.get("estimated_age")), estimated_on=day(revealed.get("age_estimated_on")),
        birth_year=number(revealed.get("birth_year")), age_band=case.person.age_band,
    )
    reckoned = age.age_from(facts, today)
    return reckoned.label() if reckoned.basis is not None else None


def access_log_query(actor, case: Case) -> Select:
    authorize(actor, Action.CASE_ACCESS_LOG, case)
    # The owning organisation also sees who tried and was refused (another organisation's probe answers 404, so
    # this is the only place it shows); a referral partner sees the views of the record they share, as before.
    actions = (*VIEW_ACTIONS, DENIED) if case.organisation_id == actor.organisation_id else VIEW_ACTIONS
    return (
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.action.in_(actions))
        .order_by(AuditEvent.seq.desc())
    )
