"""The duplicate check and search: candidates from the blind indexes (matching.candidates), decisions after
decrypting those candidates only (matching.score).

Who may be looked at is always the caller's SQL condition (`scope`), applied in the candidates query itself, so a
case outside it is never fetched, decrypted or counted. The cross-organisation check (matching.crossorg) is the only
caller whose scope is other organisations, and it tells the holder, never the person who searched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.cases import identity as case_identity
from casemgmt.cases.models import Case
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db
from casemgmt.matching import candidates, keys, normalise, phonetic, score

# At most this many candidates are decrypted per check: the ranking puts the records agreeing on most keys first,
# and a true duplicate agrees on several (name parts with the year, the date, a phone), so it is among the first
# few even when thousands share a common name. This bound, not the size of the caseload, sets a check's cost.
CHECK_CANDIDATES = 40

SEARCH_PAGE = 20


@dataclass(frozen=True)
class Found:
    case: Case
    person: keys.Identity
    revealed: dict
    score: score.Score


def region_of(case_or_org_country: str | None) -> str | None:
    return (case_or_org_country or "").upper() or None


def decrypt(cases: list[Case], region: str | None) -> list[tuple[Case, dict, keys.Identity]]:
    preload_keys([c.id for c in cases])
    out = []
    for case in cases:
        revealed = case_identity.read_identity(case.person)
        out.append((case, revealed, keys.identity_of(revealed, region)))
    return out


def _load(case_ids: list[str]) -> list[Case]:
    if not case_ids:
        return []
    by_id = {c.id: c for c in db.session.scalars(
        select(Case).where(Case.id.in_(case_ids)).options(selectinload(Case.person))
    ).all()}
    return [by_id[i] for i in case_ids if i in by_id and by_id[i].person is not None]


def best_matches(query: keys.Identity, scope, region: str | None, *, may_decrypt: Callable[[Case], bool] | None = None,
                 limit: int = CHECK_CANDIDATES, threshold: float = score.MATCH_THRESHOLD) -> list[Found]:
    """The cases within `scope` that score at or above the threshold, best first. `may_decrypt` leaves out a
    candidate the caller may not read (it is not decrypted)."""
    if query.empty:
        return []
    ranked = candidates.top(keys.query_keys(query), scope, limit)
    loaded = [c for c in _load([case_id for case_id, _ in ranked]) if may_decrypt is None or may_decrypt(c)]
    found = []
    for case, revealed, person in decrypt(loaded, region):
        result = score.score(query, person)
        if result.weight >= threshold:
            found.append(Found(case, person, revealed, result))
    return sorted(found, key=lambda f: -f.score.weight)


# --- search --------------------------------------------------------------------------------------------------------


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
