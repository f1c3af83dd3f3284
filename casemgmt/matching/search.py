"""Search by name, phone or document number on the matching engine: the ranking comes from the blind indexes
(matching.candidates), only the page shown is decrypted (matching.engine.decrypt) and scored here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler

from casemgmt.cases.models import Case
from casemgmt.matching import candidates, keys, normalise, phonetic, score
from casemgmt.matching.engine import Found, _load, decrypt

SEARCH_PAGE = 20


@dataclass(frozen=True)
class SearchQuery:
    """What a search box holds, read as a name, a phone and a document number at once (the scoring decides)."""

    parts: tuple[str, ...]
    identity: keys.Identity


def parse_search(text: str, region: str | None, date_of_birth=None, birth_year: int | None = None) -> SearchQuery:
    words = [w for w in normalise.name_parts(text) if not any(ch.isdigit() for ch in w)]
    digits = sum(ch.isdigit() for ch in text or "")
    values = {"given_name": " ".join(words), "date_of_birth": date_of_birth, "birth_year": birth_year}
    if digits >= keys.MIN_PHONE_DIGITS:
        values["phone"] = text
    if digits:
        values["document_number"] = text
    person = keys.identity_of(values, region)
    return SearchQuery(tuple(words), person)


def search_keys(query: SearchQuery) -> set[tuple[str, str]]:
    person = query.identity
    found = keys.query_keys(keys.Identity(parts=person.parts, dob=person.dob, year=person.year), with_year=False)
    if person.phone:
        found.add(("ph", person.phone))
    if person.document:
        found.add(("doc", person.document))
    return found


def search_score(query: SearchQuery, record: keys.Identity) -> float | None:
    """How well a decrypted record answers a search, or None when it does not: every name part searched must be one
    of the record's (spelt alike or sounding alike), a phone or document searched must be the record's, a date or
    year given must agree."""
    result = 0.0
    q = query.identity
    if query.parts:
        names = record.parts + record.aliases
        sims = [max((_similar(p, n) for n in names), default=0.0) for p in query.parts]
        if sims and min(sims) >= score.CLOSE:
            result += sum(sims) / len(sims) * len(sims)
        elif not (q.phone or q.document):
            return None
    if q.phone or q.document:
        hit = (q.phone and q.phone == record.phone) or (q.document and q.document == record.document)
        if hit:
            result += 10
        elif not result:
            return None
    if q.dob and record.dob and record.dob not in (q.dob, normalise.swapped_day_month(q.dob)):
        return None
    if q.year and record.year and q.year != record.year:
        return None
    return result


def _similar(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if phonetic.code(a) == phonetic.code(b):
        return 0.95
    return JaroWinkler.normalized_similarity(a, b)


@dataclass
class SearchPage:
    results: list[Found]
    page: int
    has_next: bool


def search(query: SearchQuery, scope, region: str | None, page: int = 1, *,
           may_decrypt: Callable[[Case], bool] | None = None, per_page: int = SEARCH_PAGE) -> SearchPage:
    """One page of ranked results. The ranking comes from the blind indexes (candidates.top); only the page's rows
    are decrypted and scored, and those that do not answer the search (index coincidences) are left out."""
    lookup = search_keys(query)
    if not lookup:
        return SearchPage([], 1, False)
    page = max(1, page)
    ranked = candidates.top(lookup, scope, per_page + 1, offset=(page - 1) * per_page)
    has_next = len(ranked) > per_page
    loaded = [c for c in _load([i for i, _ in ranked[:per_page]]) if may_decrypt is None or may_decrypt(c)]
    results = []
    for case, revealed, person in decrypt(loaded, region):
        value = search_score(query, person)
        if value is not None:
            results.append(Found(case, person, revealed, score.Score(value, {})))
    results.sort(key=lambda f: -f.score.weight)
    return SearchPage(results, page, has_next)
