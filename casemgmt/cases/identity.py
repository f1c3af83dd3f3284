"""The person's identifying fields: which are encrypted, how they are indexed, and reading them back."""

from __future__ import annotations

from datetime import date

from casemgmt.cases.models import Case, Person
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db

ENCRYPTED_FIELDS = (
    "given_name", "family_name", "aliases", "date_of_birth", "phone", "address", "document_type", "document_number",
    # When the date of birth is not known (cases.age): they narrow down who the person is as much as it does.
    "estimated_age", "age_estimated_on", "birth_year",
)

def write_identity(person: Person, values: dict) -> None:
    """Encrypt the identifying fields into `person` and refresh its blind indexes."""
    for field in ENCRYPTED_FIELDS:
        value = values.get(field)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        seal(person, field, (value or "").strip() or None)
    # The blind indexes of matching (casemgmt.matching): phonetic name parts, year, date, E.164 phone, document.
    # Phones without a country code are read as the organisation's country's.
    from casemgmt.accounts.models import Organisation
    from casemgmt.matching import keys, store

    case = person.case if person.case is not None else db.session.get(Case, person.case_id)
    organisation = db.session.get(Organisation, case.organisation_id) if case is not None else None
    store.write_keys(person.case_id, keys.identity_of(values, organisation.country if organisation else None))


def read_identity(person: Person) -> dict[str, str | None]:
    return {field: unseal(person, field) for field in ENCRYPTED_FIELDS}


def display_name(revealed: dict[str, str | None]) -> str:
    return " ".join(p for p in (revealed.get("given_name"), revealed.get("family_name")) if p)
