"""Blind indexes: their size.

What is normalised and how is casemgmt.matching.normalise (names, phones, documents) and matching.keys.

The index values themselves are computed by casemgmt.matching (generations.compute: HMAC-SHA256 under a key of the
generation's root-key version, truncated to the generation's bits), over the keys matching.keys derives.

The index is deliberately lossy. CipherSweet's sizing rule keeps the expected number of coincidental matches per
value, C = R / 2**L for R rows, in 2 <= C < sqrt(R): enough collisions that an index value does not pin down one
person, few enough that search only has to decrypt a handful of candidates and compare them in the application.
"""

from __future__ import annotations

import math

MIN_BITS, MAX_BITS = 8, 31


def index_bits(expected_rows: int) -> int:
    """The largest L with R / 2**L >= 2, i.e. at least two coincidences per value at the expected size."""
    bits = math.floor(math.log2(max(expected_rows, 2) / 2))
    return max(MIN_BITS, min(MAX_BITS, bits))
