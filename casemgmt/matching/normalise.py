"""Normalisation that fits the names, phones and documents of the people casemgmt serves.

Names in Latin American and Haitian intake are typed with and without accents, with particles ("de la Cruz"),
compound surnames ("Quispe Mamani", "Pérez-Ruiz") and given and family names swapped. A name is therefore reduced to
its *parts*: folded to lower-case ASCII, punctuation and hyphens split, particles dropped, order kept (scoring and
indexing treat the parts as a set, so "Quispe Mamani María" and "María Quispe Mamani" are the same parts).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

import phonenumbers

# Particles of Spanish, Portuguese, French and Creole names: they carry no identity and are often left out.
PARTICLES = frozenset({
    "de", "del", "la", "las", "los", "le", "les", "y", "e", "da", "das", "do", "dos", "du", "des", "van", "von",
    "di", "st", "ste", "san", "santa", "vda", "viuda",
})

_NOT_LETTER = re.compile(r"[^a-z0-9]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_NOT_DIGIT = re.compile(r"[^0-9]")


def fold(text: str | None) -> str:
    """Lower-case ASCII letters and digits separated by single spaces: "  MARÍA-José  O'Neil" -> "maria jose o neil"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # ß, æ, œ, ø and đ do not decompose to a base letter and an accent.
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("ß", "ss").replace("æ", "ae").replace("œ", "oe").replace("ø", "o").replace("đ", "d")
    return _NOT_LETTER.sub(" ", stripped).strip()


def name_parts(*names: str | None) -> list[str]:
    """The parts of a name, particles left out, in order, without repeats: ("María José", "de la Cruz Quispe") ->
    ["maria", "jose", "cruz", "quispe"]. A name made only of particles keeps them (someone is called "De")."""
    words = [w for name in names for w in fold(name).split()]
    parts = [w for w in words if w not in PARTICLES and len(w) > 1] or words
    return list(dict.fromkeys(parts))


def full_name(given: str | None, family: str | None) -> str:
    return " ".join(name_parts(given, family))


# Parsing a phone is the slowest step of reading a candidate, and the same numbers come back: keep the answers.
@lru_cache(maxsize=50_000)
def phone_e164(value: str | None, region: str | None) -> str:
    """E.164 ("+51987654321") when the number parses for the region (the organisation's country, used when the
    number has no country code); otherwise its digits alone, so that an unparseable number still equals itself."""
    if not value or not value.strip():
        return ""
    text = unicodedata.normalize("NFKC", value).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    # Without a plus, a number is read both as the organisation's country's (phonenumbers drops a country code typed
    # without its plus: "51 987 654 321" in Peru) and as international ("(57) 312-345-6789" typed in Peru). A reading
    # that is a valid number wins, the country's first; failing that, a possible one (a number no plan lists yet must
    # still equal itself however it is written), the country's first.
    readings = []
    for reading in [text] if text.startswith("+") else [text, "+" + _NOT_DIGIT.sub("", text)]:
        try:
            readings.append(phonenumbers.parse(
                reading, None if reading.startswith("+") else (region or "").upper() or None))
        except phonenumbers.NumberParseException:
            continue
    for test in (phonenumbers.is_valid_number, phonenumbers.is_possible_number):
        for number in readings:
            if test(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _NOT_DIGIT.sub("", text)


def document(value: str | None) -> str:
    """Separators and letter case folded: "pe 123-4567" -> "PE1234567"."""
    if not value:
        return ""
    return _NOT_ALNUM.sub("", fold(value).upper())


def iso_date(value: date | str | None) -> str:
    if not value:
        return ""
    return value.isoformat() if isinstance(value, date) else date.fromisoformat(str(value).strip()).isoformat()


def swapped_day_month(iso: str) -> str:
    """The date with day and month exchanged when that is a date too (2010-03-04 -> 2010-04-03), else ""."""
    if not iso:
        return ""
    y, m, d = (int(x) for x in iso.split("-"))
    if m == d or d > 12:
        return ""
    return date(y, d, m).isoformat()
