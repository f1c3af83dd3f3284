"""Blind indexes: their size, and the plain normalisation of text, documents, phones and dates.

The index values themselves are computed by casemgmt.matching (generations.compute: HMAC-SHA256 under a key of the
generation's root-key version, truncated to the generation's bits), over the keys matching.keys derives.

The index is deliberately lossy. CipherSweet's sizing rule keeps the expected number of coincidental matches per
value, C = R / 2**L for R rows, in 2 <= C < sqrt(R): enough collisions that an index value does not pin down one
person, few enough that search only has to decrypt a handful of candidates and compare them in the application.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date

_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_NOT_DIGIT = re.compile(r"[^0-9]")

MIN_BITS, MAX_BITS = 8, 31


def index_bits(expected_rows: int) -> int:
    """The largest L with R / 2**L >= 2, i.e. at least two coincidences per value at the expected size."""
    bits = math.floor(math.log2(max(expected_rows, 2) / 2))
    return max(MIN_BITS, min(MAX_BITS, bits))


def normalise_text(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def normalise_document(value: str) -> str:
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", value).upper())


def normalise_phone(value: str) -> str:
    return _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", value))


def normalise_date(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else date.fromisoformat(value.strip()).isoformat()


def full_name(given: str | None, family: str | None) -> str:
    return normalise_text(f"{given or ''} {family or ''}")

