"""The person's identifying fields: which are encrypted, how they are indexed, and reading them back."""

from __future__ import annotations

from datetime import date

from flask import current_app

from casemgmt.cases.models import Person
from casemgmt.crypto import blind_index as bidx
from casemgmt.crypto import seal, unseal

ENCRYPTED_FIELDS = (
    "given_name", "family_name", "aliases", "date_of_birth", "phone", "address", "document_type", "document_number",
    # When the date of birth is not known (cases.age): they narrow down who the person is as much as it does.
    "estimated_age", "age_estimated_on", "birth_year",
)

SEARCH_KINDS = ("name", "date_of_birth", "document_number", "phone")


def _bits() -> int:
    return bidx.index_bits(current_app.config["SETTINGS"].expected_cases)


def index_value(kind: str, value: str) -> tuple[str, int | None]:
    """(column, index value) for a search term of the given kind; raises ValueError for a malformed term."""
    bits = _bits()
    if kind == "name":
        return "name_bidx", bidx.compute("name", bidx.normalise_text(value), bits)
    if kind == "date_of_birth":
        return "dob_bidx", bidx.compute("dob", bidx.normalise_date(value), bits)
    if kind == "document_number":
        return "document_bidx", bidx.compute("document", bidx.normalise_document(value), bits)
    if kind == "phone":
        return "phone_bidx", bidx.compute("phone", bidx.normalise_phone(value), bits)
    raise ValueError(kind)


def matches(kind: str, term: str, revealed: dict[str, str | None]) -> bool:
    """Compare a term with a decrypted record, after the same normalisation the index used."""
    if kind == "name":
        return bidx.normalise_text(term) == bidx.full_name(revealed["given_name"], revealed["family_name"])
    if kind == "date_of_birth":
        return revealed["date_of_birth"] == bidx.normalise_date(term)
    if kind == "document_number":
        return bidx.normalise_document(term) == bidx.normalise_document(revealed["document_number"] or "")
    return bidx.normalise_phone(term) == bidx.normalise_phone(revealed["phone"] or "")


def write_identity(person: Person, values: dict) -> None:
    """Encrypt the identifying fields into `person` and refresh its blind indexes."""
    for field in ENCRYPTED_FIELDS:
        value = values.get(field)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        seal(person, field, (value or "").strip() or None)
    bits = _bits()
    name = bidx.full_name(values.get("given_name"), values.get("family_name"))
    dob = values.get("date_of_birth")
    # Name and year of birth find a person at intake (intake.duplicates), whether the year comes from the date.
    year = dob.year if dob else (int(values["birth_year"]) if values.get("birth_year") not in (None, "") else None)
    person.name_bidx = bidx.compute("name", name, bits)
    person.name_year_bidx = bidx.compute("name_year", f"{name}|{year}", bits) if year and name else None
    person.dob_bidx = bidx.compute("dob", bidx.normalise_date(dob), bits) if dob else None
    person.document_bidx = bidx.compute("document", bidx.normalise_document(values.get("document_number") or ""), bits)
    person.phone_bidx = bidx.compute("phone", bidx.normalise_phone(values.get("phone") or ""), bits)


def read_identity(person: Person) -> dict[str, str | None]:
    return {field: unseal(person, field) for field in ENCRYPTED_FIELDS}


def display_name(revealed: dict[str, str | None]) -> str:
    return " ".join(p for p in (revealed.get("given_name"), revealed.get("family_name")) if p)
