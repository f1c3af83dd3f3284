"""Deciding whether a decrypted candidate is the same person: probabilistic record linkage.

Each field is compared at a few levels of agreement (exact, close, partial, different, missing). As in the
Fellegi-Sunter model that splink implements, each level has an m probability (how often a true duplicate shows it)
and a u probability (how often two different people do); the match weight is the sum over fields of
log2(m / u), a missing value counting 0. Only a weight at or above the threshold is a match; an index collision,
which shares a blind-index value but not the values, scores far below it.

The m and u values were estimated on labelled data from matching.evaluation (docs/benchmarks.md says how and gives
the precision and recall they give); the string similarity comes from rapidfuzz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler, Levenshtein

from casemgmt.matching import phonetic
from casemgmt.matching.keys import Identity

# (m, u) per field and level. Levels are listed from the strongest agreement to disagreement.
LEVELS: dict[str, dict[str, tuple[float, float]]] = {
    "given": {"exact": (0.80, 0.02), "close": (0.17, 0.02), "differ": (0.03, 0.96)},
    "family": {"exact": (0.62, 0.002), "subset": (0.20, 0.01), "close": (0.15, 0.01), "differ": (0.03, 0.978)},
    "dob": {"exact": (0.80, 0.0002), "swapped": (0.05, 0.0002), "year": (0.10, 0.025), "near": (0.02, 0.05),
            "differ": (0.03, 0.9246)},
    "phone": {"exact": (0.90, 0.001), "differ": (0.10, 0.999)},
    "document": {"exact": (0.90, 0.00001), "close": (0.05, 0.0001), "differ": (0.05, 0.99989)},
}

# The weight at or above which the duplicate check calls two records the same person, and the lower one at which
# search shows a record for a partial query (a name alone).
MATCH_THRESHOLD = 14.0
SEARCH_THRESHOLD = 0.0

CLOSE = 0.90  # Jaro-Winkler similarity at which two name parts are the same name spelt differently


@dataclass(frozen=True)
class Score:
    weight: float
    levels: dict[str, str]

    @property
    def probability(self) -> float:
        return 1 / (1 + 2 ** -self.weight)

    def agrees_on(self) -> tuple[str, ...]:
        """The fields that agree (exactly or closely), for showing why a candidate was proposed."""
        return tuple(f for f, level in self.levels.items() if level not in ("differ", "near"))


def _part_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if phonetic.code(a) == phonetic.code(b) and min(len(a), len(b)) > 2:
        return 0.95
    return JaroWinkler.normalized_similarity(a, b)


def _best(part: str, others: tuple[str, ...]) -> float:
    return max((_part_similarity(part, o) for o in others), default=0.0)


def _given_level(q: tuple[str, ...], r: tuple[str, ...]) -> str | None:
    if not q or not r:
        return None
    if set(q) & set(r):
        return "exact"
    if any(_best(p, r) >= CLOSE for p in q):
        return "close"
    return "differ"


def _family_level(q: tuple[str, ...], r: tuple[str, ...]) -> str | None:
    if not q or not r:
        return None
    if set(q) == set(r):
        return "exact"
    if set(q) < set(r) or set(r) < set(q):
        return "subset"  # one surname dropped
    shorter, longer = (q, r) if len(q) <= len(r) else (r, q)
    if all(_best(p, longer) >= CLOSE for p in shorter):
        return "close"
    return "differ"


def _dob_level(q: Identity, r: Identity) -> str | None:
    if q.dob and r.dob:
        if q.dob == r.dob:
            return "exact"
        if q.dob[:4] == r.dob[:4] and q.dob[5:7] == r.dob[8:10] and q.dob[8:10] == r.dob[5:7]:
            return "swapped"
    if q.year and r.year:
        if q.year == r.year:
            return "year"
        if abs(q.year - r.year) == 1:
            return "near"
        return "differ"
    return None


def _phone_level(q: Identity, r: Identity) -> str | None:
    if not q.phone or not r.phone:
        return None
    return "exact" if q.phone == r.phone else "differ"


def _document_level(q: Identity, r: Identity) -> str | None:
    if not q.document or not r.document:
        return None
    if q.document == r.document:
        return "exact"
    return "close" if Levenshtein.distance(q.document, r.document) <= 1 else "differ"


def _names(q: Identity, r: Identity) -> tuple[str | None, str | None]:
    """Given and family names compared as typed and crossed over (swapped at intake), whichever agrees more; the
    record's aliases count as given names."""
    r_given = r.given + r.aliases
    straight = (_given_level(q.given, r_given), _family_level(q.family, r.family))
    crossed = (_given_level(q.family, r_given), _family_level(q.given, r.family))
    if q.given and q.family and not (r.given or r.family):
        return None, None
    return max(straight, crossed, key=lambda levels: sum(_weight(f, lv) for f, lv in zip(("given", "family"),
                                                                                           levels, strict=True)))


def _weight(field: str, level: str | None) -> float:
    if level is None:
        return 0.0
    m, u = LEVELS[field][level]
    return math.log2(m / u)


def score(query: Identity, record: Identity) -> Score:
    given, family = _names(query, record)
    levels = {"given": given, "family": family, "dob": _dob_level(query, record),
              "phone": _phone_level(query, record), "document": _document_level(query, record)}
    present = {f: lv for f, lv in levels.items() if lv is not None}
    return Score(sum(_weight(f, lv) for f, lv in present.items()), present)
