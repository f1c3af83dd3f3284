"""Deciding whether a decrypted candidate is the same person: probabilistic record linkage.

Each field is compared at a few levels of agreement (exact, close, partial, different, missing). As in the
Fellegi-Sunter model that splink implements, each level has an m probability (how often a true duplicate shows it)
and a u probability (how often two different people do); the match weight is the sum over fields of
log2(m / u), a missing value counting 0. Only a weight at or above the threshold is a match; an index collision,
which shares a blind-index value but not the values, scores far below it.

How the numbers were obtained (issue 13, item 5): matching.evaluation.generate(10_000, seed=2026) draws people as
`synth` does, second registrations with intake's corruptions and look-alikes (namesakes born another year, twins).
estimate_m_u() counts each level among the true pairs (m: a second registration against its first) and among
100,000 random pairs of different people (u: splink's estimate_u_using_random_sampling), with add-one smoothing, two
passes (the crossed-over name comparison uses the weights). MATCH_THRESHOLD was then chosen on the weights of every
true pair and of every wrong pair sharing a blind-index key with a check (evaluation.weights_in_memory): at 13.0
recall is 0.985 at precision 0.990 in memory, leaving room for the larger and denser data of 100,000 cases; the
figures through the database are in docs/benchmarks.md ("Finding the same person"). Two things the additive model
cannot see were decided by rule, each with its test: twins and siblings (relatives(): family names and birth agree,
given names do not), and a name in its two genders (phonetic.gender_pair: Mario / María). The u values come from
synthetic pools and carry no term frequencies: a very common full name weighs as much as a rare one (splink's
term-frequency adjustment would be the next step), which the evaluation data cannot measure. String similarity
comes from rapidfuzz (Jaro-Winkler, Levenshtein).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler, Levenshtein

from casemgmt.matching import phonetic
from casemgmt.matching.keys import Identity

# (m, u) per field and level, estimated by matching.evaluation.estimate_m_u on the labelled data of seed 2026 at
# 10,000 people (see the module docstring). Levels are listed from the strongest agreement to disagreement.
LEVELS: dict[str, dict[str, tuple[float, float]]] = {
    "given": {"exact": (0.739, 0.0044), "close": (0.228, 0.0063), "differ": (0.0324, 0.989)},
    "family": {"exact": (0.654, 0.00046), "subset": (0.0737, 0.00135), "close": (0.243, 0.00274),
               "partial": (0.0082, 0.00334), "differ": (0.0217, 0.992)},
    "dob": {"exact": (0.794, 0.0000653), "swapped": (0.0329, 0.0000392), "year": (0.172, 0.0244),
            "near": (0.00041, 0.048), "differ": (0.00041, 0.928)},
    "phone": {"exact": (0.918, 0.0000217), "differ": (0.0825, 0.99998)},
    "document": {"exact": (0.9988, 0.00002), "close": (0.0006, 0.00002), "differ": (0.0006, 0.99996)},
}

# The weight at or above which the duplicate check calls two records the same person, and the lower one at which
# search shows a record for a partial query (a name alone).
MATCH_THRESHOLD = 13.0
SEARCH_THRESHOLD = 0.0

# The most a twin or sibling can weigh (relatives()), below any threshold: one document number is one person, so an
# agreeing document still decides.
RELATIVES_CAP = -1.0

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


def spelling_similarity(a: str, b: str) -> float:
    """How alike two name parts are written or sound: 1 when equal, 0.95 when they share a phonetic code, else
    Jaro-Winkler. Search (matching.search) uses it as it is."""
    if a == b:
        return 1.0
    if phonetic.code(a) == phonetic.code(b) and min(len(a), len(b)) > 2:
        return 0.95
    return JaroWinkler.normalized_similarity(a, b)


def _part_similarity(a: str, b: str) -> float:
    if a != b and phonetic.gender_pair(a, b):
        return 0.0  # Mario and María are one edit apart and two people (twins, siblings)
    return spelling_similarity(a, b)


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
    if any(_best(p, longer) >= CLOSE for p in shorter):
        return "partial"  # one of two surnames agrees, the other is mistyped or another
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


def relatives(levels: dict[str, str | None]) -> bool:
    """Twins and siblings: the same family names and date (or year) of birth, given names that are not spellings of
    one another. Fellegi-Sunter adds the fields' weights as if they were independent, and within a family they are
    not (one surname, one birthday, often one phone), so the sum would call a twin the same person; this pattern
    decides against a match whatever the other fields say. A true duplicate shows it rarely (a given name typed two
    ways at once): in the labelled data about 1 in 100 pairs, against every twin."""
    return (levels.get("given") == "differ" and levels.get("family") in ("exact", "subset")
            and levels.get("dob") in ("exact", "swapped", "year"))


def score(query: Identity, record: Identity) -> Score:
    given, family = _names(query, record)
    levels = {"given": given, "family": family, "dob": _dob_level(query, record),
              "phone": _phone_level(query, record), "document": _document_level(query, record)}
    present = {f: lv for f, lv in levels.items() if lv is not None}
    weight = sum(_weight(f, lv) for f, lv in present.items())
    if relatives(present) and present.get("document") != "exact":
        weight = min(weight, RELATIVES_CAP)
    return Score(weight, present)
