"""Caseload exports: one row per cohort case, with or without the person's identifying fields.

Rows are read in keyset batches (ordered by registration, then id), so memory stays flat and no query runs per row:
each batch costs one query for the cases, one for their codes, one for the assignees' names and, in the identified
export only, one for the people and one for their data keys.

Files carry codes (HTCDS values, ISO countries) and stable column names, not translated labels: a file is read by
other systems and by people in other languages, and the codes are what lines up with the standard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from itertools import islice

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from casemgmt.access import Action, authorize
from casemgmt.accounts.models import User
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, CaseCode, Person
from casemgmt.crypto import DecryptionError, unseal
from casemgmt.crypto.fields import forget_keys, preload_keys
from casemgmt.extensions import db
from casemgmt.reports.filters import ReportFilters, conditions

BATCH = 500

CASELOAD_HEADER = (
    "reference", "stage", "status", "assigned_to", "registered_on", "closed_on",
    "trafficking_status", "status_decided_by", "gender", "age_band", "citizenship",
    "exploitation_types", "control_methods", "recruitment_method", "relationship_to_trafficker",
    "recruitment_countries", "exploitation_countries",
    "unaccompanied_or_separated", "pregnant", "elderly", "ill",
)

# Encrypted columns of Person, in file order. The address is left out: no use of the file needs it.
IDENTITY_FIELDS = (
    "given_name", "family_name", "aliases", "date_of_birth", "phone", "document_type", "document_number",
)
IDENTIFIED_HEADER = CASELOAD_HEADER + IDENTITY_FIELDS

# An alias, so the row query's join to Person stays apart from the cohort's own subqueries on Person.
_person = aliased(Person)

_COLUMNS = (
    Case.id, Case.created_at, Case.reference, Case.stage, Case.status, Case.assigned_to_id, Case.closed_at,
    Case.trafficking_status, Case.status_decided_by, Case.recruitment_method, Case.relationship_to_trafficker,
    Case.unaccompanied_or_separated, Case.pregnant, Case.elderly, Case.ill,
    _person.gender, _person.age_band, _person.citizenship,
)


def cohort_count(organisation_id: int, filters: ReportFilters) -> int:
    return db.session.scalar(select(func.count()).select_from(Case).where(*conditions(organisation_id, filters)))


def record_caseload_export(user, filters: ReportFilters, fmt: str) -> int:
    """Count the rows and add the audit event; the caller commits before the first byte leaves. Returns the count."""
    authorize(user, Action.EXPORT_CASELOAD)
    return _record("export.caseload", user, filters, fmt)


def record_identified_export(user, filters: ReportFilters, fmt: str) -> int:
    authorize(user, Action.EXPORT_IDENTIFIED)
    return _record("export.identified", user, filters, fmt)


def record_identified_denied(user, filters: ReportFilters, fmt: str) -> None:
    """A wrong passphrase at the identified export: a failed re-authentication, kept with what was asked for."""
    record_event("export.identified", object_type="organisation", object_id=user.organisation_id, outcome="denied",
                 details={"filters": filters.args(), "format": fmt, "reason": "reauthentication"}, actor=user)


def _record(action: str, user, filters: ReportFilters, fmt: str) -> int:
    rows = cohort_count(user.organisation_id, filters)
    record_event(action, object_type="organisation", object_id=user.organisation_id,
                 details={"filters": filters.args(), "format": fmt, "rows": rows}, actor=user)
    return rows


def _batches(organisation_id: int, filters: ReportFilters) -> Iterator[list]:
    query = (
        select(*_COLUMNS)
        .outerjoin(_person, _person.case_id == Case.id)
        .where(*conditions(organisation_id, filters))
        .order_by(Case.created_at, Case.id)
        .limit(BATCH)
    )
    after = None
    while True:
        page = query if after is None else query.where(
            or_(Case.created_at > after[0], and_(Case.created_at == after[0], Case.id > after[1]))
        )
        rows = db.session.execute(page).all()
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        after = (rows[-1].created_at, rows[-1].id)


def _codes(case_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for case_id, kind, code in db.session.execute(
        select(CaseCode.case_id, CaseCode.kind, CaseCode.code)
        .where(CaseCode.case_id.in_(case_ids))
        .order_by(CaseCode.case_id, CaseCode.kind, CaseCode.code)
    ):
        found[case_id][kind].append(code)
    return found


def _assignees(rows) -> dict[int, str]:
    ids = {row.assigned_to_id for row in rows if row.assigned_to_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def _caseload_row(row, codes: dict[str, list[str]], assignees: dict[int, str]) -> list:
    def joined(kind):
        return ";".join(codes.get(kind, ()))

    return [
        row.reference, row.stage, row.status, assignees.get(row.assigned_to_id), row.created_at.date(),
        row.closed_at.date() if row.closed_at else None,
        row.trafficking_status, row.status_decided_by, row.gender, row.age_band, row.citizenship,
        joined("exploitation"), joined("control"), row.recruitment_method, row.relationship_to_trafficker,
        joined("recruitment_country"), joined("exploitation_country"),
        row.unaccompanied_or_separated, row.pregnant, row.elderly, row.ill,
    ]


def caseload_rows(organisation_id: int, filters: ReportFilters, limit: int | None = None) -> Iterator[list]:
    """The caseload export's rows (CASELOAD_HEADER), no encrypted field among them. `limit` caps the rows at the
    count the audit event recorded, so a case registered while the file streams cannot make the record too low."""
    rows = _rows(organisation_id, filters, identified=False)
    return rows if limit is None else islice(rows, limit)


def identified_rows(organisation_id: int, filters: ReportFilters, limit: int | None = None) -> Iterator[list]:
    """The caseload rows plus IDENTITY_FIELDS decrypted. Callers check the policy and record the audit event first."""
    rows = _rows(organisation_id, filters, identified=True)
    return rows if limit is None else islice(rows, limit)


def _rows(organisation_id: int, filters: ReportFilters, identified: bool) -> Iterator[list]:
    for batch in _batches(organisation_id, filters):
        ids = [row.id for row in batch]
        codes, assignees = _codes(ids), _assignees(batch)
        people = _people(ids) if identified else {}
        for row in batch:
            out = _caseload_row(row, codes.get(row.id, {}), assignees)
            if identified:
                out.extend(_identity(people.get(row.id)))
            yield out
        if identified:
            # A long export keeps one batch of unwrapped keys and decrypted rows, not the whole caseload's.
            forget_keys(ids)
            for person in people.values():
                db.session.expunge(person)


def _people(case_ids: list[str]) -> dict[str, Person]:
    preload_keys(case_ids)
    return {p.case_id: p for p in db.session.scalars(select(Person).where(Person.case_id.in_(case_ids)))}


def _identity(person: Person | None) -> list[str | None]:
    if person is None:
        return [None] * len(IDENTITY_FIELDS)
    try:
        return [unseal(person, field) for field in IDENTITY_FIELDS]
    except DecryptionError as exc:
        # The response is already streaming, so the error page cannot run: audit here, then break the download
        # rather than hand over a file with a silently blank name.
        record_event("crypto.decrypt_failed", object_type=exc.table, object_id=exc.row_id, case_id=exc.case_id,
                     outcome="failure", details={"column": exc.column, "during": "export.identified"})
        db.session.commit()
        raise
