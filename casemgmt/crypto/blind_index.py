"""Blind indexes: truncated HMAC-SHA256 of a normalised value, for exact-match search over encrypted fields.

The index is deliberately lossy. CipherSweet's sizing rule keeps the expected number of coincidental matches per
value, C = R / 2**L for R rows, in 2 <= C < sqrt(R): enough collisions that an index value does not pin down one
person, few enough that search only has to decrypt a handful of candidates and compare them in the application.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import unicodedata
from datetime import date

from casemgmt.crypto.keyring import keyring

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


def compute(index_name: str, normalised: str, bits: int) -> int | None:
    """HMAC-SHA256 under the index's own key, truncated to `bits` bits. Empty input has no index."""
    if not normalised:
        return None
    digest = hmac.new(keyring().blind_index_key(index_name), normalised.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - bits)
