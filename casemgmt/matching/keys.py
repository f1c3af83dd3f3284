"""What of a person becomes a blind index, and what of a query is looked up.

Kinds (short codes, stored in person_match_keys.kind):
- "p":   the phonetic code of one name part (given, family or alias), for search by a name or part of one;
- "py":  that code with the year of birth, the duplicate check's block: narrow (same-sounding part, same year)
         yet tolerant of accents, spelling, order and a dropped surname;
- "dob": the date of birth; a query also looks up the date with day and month exchanged;
- "ph":  the phone in E.164;
- "doc": the document number, folded.
A key is the kind's input string; generations.compute turns it into the index value under a generation's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from casemgmt.matching import normalise, phonetic

KINDS = ("p", "py", "dob", "ph", "doc")

# A document number shorter than this is a typing fragment, not an identifier.
MIN_DOCUMENT = 4
# Phones with fewer digits than this are extensions or fragments.
MIN_PHONE_DIGITS = 6


@dataclass(frozen=True)
class Identity:
    """A person's identifying values in the normalised forms the keys and the scoring use."""

    parts: tuple[str, ...] = ()           # name parts (normalise.name_parts), given then family
    given: tuple[str, ...] = ()
    family: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    dob: str = ""                         # ISO date
    year: int | None = None
    phone: str = ""                       # E.164 (or digits)
    document: str = ""

    @property
    def empty(self) -> bool:
        return not (self.parts or self.dob or self.year or self.phone or self.document)


def identity_of(values: dict, region: str | None) -> Identity:
    """From the values a form or a decrypted record holds (cases.identity.ENCRYPTED_FIELDS' names)."""
    dob = values.get("date_of_birth")
    iso = ""
    if dob:
        try:
            iso = normalise.iso_date(dob)
        except ValueError:
            iso = ""
    year = int(iso[:4]) if iso else None
    if year is None and values.get("birth_year") not in (None, ""):
        try:
            year = int(values["birth_year"])
        except (TypeError, ValueError):
            year = None
    given = tuple(normalise.name_parts(values.get("given_name")))
    family = tuple(normalise.name_parts(values.get("family_name")))
    aliases = tuple(
        p for p in normalise.name_parts(*(values.get("aliases") or "").split(",")) if p not in given + family
    )
    phone = normalise.phone_e164(values.get("phone"), region)
    document = normalise.document(values.get("document_number"))
    return Identity(
        parts=tuple(dict.fromkeys(given + family)), given=given, family=family, aliases=aliases, dob=iso, year=year,
        phone=phone if sum(c.isdigit() for c in phone) >= MIN_PHONE_DIGITS else "",
        document=document if len(document) >= MIN_DOCUMENT else "",
    )


def record_keys(person: Identity) -> set[tuple[str, str]]:
    """The keys stored for a person."""
    keys: set[tuple[str, str]] = set()
    for part in person.parts + person.aliases:
        c = phonetic.code(part)
        if c:
            keys.add(("p", c))
            if person.year:
                keys.add(("py", f"{c}|{person.year}"))
    if person.dob:
        keys.add(("dob", person.dob))
    if person.phone:
        keys.add(("ph", person.phone))
    if person.document:
        keys.add(("doc", person.document))
    return keys


def query_keys(query: Identity, *, with_year: bool = True) -> set[tuple[str, str]]:
    """The keys a query looks up: those a record of the same person would hold, plus the date with day and month
    exchanged. With a year, a name part is looked up with it ("py"), which the duplicate check needs to stay narrow;
    without one (search by a name alone) by itself ("p")."""
    keys = record_keys(query)
    if query.year and with_year:
        keys = {k for k in keys if k[0] != "p"}
    if query.dob:
        swapped = normalise.swapped_day_month(query.dob)
        if swapped:
            keys.add(("dob", swapped))
    return keys
