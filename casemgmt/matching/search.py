"""Search by name, phone or document number on the matching engine: the candidates and their order come from the
blind indexes (matching.candidates), only the page shown is decrypted (matching.engine.decrypt) and checked here.

One search box holds either a name (or part of one) or a number. A text with at least keys.MIN_DOCUMENT digits, and
no more letters than digits, is a number, looked up as a phone (in E.164, the organisation's country as default
region) and as a document number (separators folded) at once; its letters are a document's prefix ("PE-1234567"),
not a name. Any other text is a name: its parts are looked up by phonetic code, so accents, spelling variants and
the order of the parts do not matter. A date or year of birth narrows a name search in the indexes themselves (the
"py" keys, name part with year), so a page is not filled with people of other ages only to be dropped after
decryption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.matching import candidates, keys, normalise, phonetic, score
from casemgmt.matching.engine import SCORED_FIELDS, Found, _load, decrypt

SEARCH_PAGE = 20

# What a result needs: the fields the checking reads and those the age shown is reckoned from (cases.age); the
# address and the document type are not decrypted for a search.
SHOWN_FIELDS = (*SCORED_FIELDS, "estimated_age", "age_estimated_on")

# A name search of three parts or more tolerates one part whose phonetic code differs (a typo that changes a
# consonant: "Mamnai"); the decrypted comparison still needs every part to be close. With one or two parts that
# tolerance would turn "María Quispe" into every María and every Quispe, nearly all dropped after decryption.
TYPO_TOLERANT_FROM = 3


@dataclass(frozen=True)
class SearchQuery:
    """What the search box and the optional date or year of birth hold, normalised."""

    parts: tuple[str, ...]   # name parts (empty for a number)
    identity: keys.Identity  # the phone and document read from a number; the date or year of birth

    @property
    def empty(self) -> bool:
        return not (self.parts or self.identity.phone or self.identity.document)

    @property
    def kind(self) -> str:
        """A coarse code for the audit trail: "name" or "number" (never which number, never the term)."""
        return "number" if (self.identity.phone or self.identity.document) else "name"


def parse_search(text: str | None, region: str | None, date_of_birth=None,
                 birth_year: int | None = None) -> SearchQuery:
    text = text or ""
    narrow = {"date_of_birth": date_of_birth, "birth_year": birth_year}
    digits, letters = sum(ch.isdigit() for ch in text), sum(ch.isalpha() for ch in text)
    if digits >= keys.MIN_DOCUMENT and digits >= letters:
        person = keys.identity_of({**narrow, "phone": text, "document_number": text}, region)
        return SearchQuery((), person)
    # A number among a few digits is a fragment ("Rosa 12"), and a single letter an initial: neither is a name part.
    words = " ".join(w for w in normalise.name_parts(text) if len(w) > 1 and not w.isdigit())
    person = keys.identity_of({**narrow, "given_name": words}, region)
    return SearchQuery(person.parts, keys.Identity(dob=person.dob, year=person.year))


@dataclass(frozen=True)
class Lookup:
    keys: set[tuple[str, str]]
    needed: int  # the rank a candidate needs (candidates.RANK_WEIGHTS summed over the keys it agrees on)
    full: int    # the rank of agreeing on every key: when some candidate has it, those below are not wanted


def search_keys(query: SearchQuery) -> Lookup:
    person = query.identity
    if not query.parts:
        found = {("ph", person.phone)} if person.phone else set()
        if person.document:
            found.add(("doc", person.document))
        return Lookup(found, 1, 1)  # one identifier agreeing is enough
    codes = {c for c in (phonetic.code(p) for p in query.parts) if c}
    if person.year:
        found, unit = {("py", f"{c}|{person.year}") for c in codes}, candidates.RANK_WEIGHTS["py"]
    else:
        found, unit = {("p", c) for c in codes}, candidates.RANK_WEIGHTS["p"]
    needed = len(codes) - 1 if len(codes) >= TYPO_TOLERANT_FROM else len(codes)
    return Lookup(found, unit * needed, unit * len(codes))


def search_score(query: SearchQuery, record: keys.Identity) -> float | None:
    """How well a decrypted record answers a search, or None when it does not (an index coincidence): every name
    part searched must be one of the record's, spelt or sounding alike; a number must be the record's phone or
    document; a date or year given must agree when the record has one (day and month may be exchanged)."""
    q = query.identity
    if q.dob and record.dob and record.dob not in (q.dob, normalise.swapped_day_month(q.dob)):
        return None
    if q.year and record.year and q.year != record.year:
        return None
    if not query.parts:
        hit = (q.phone and q.phone == record.phone) or (q.document and q.document == record.document)
        return 10.0 if hit else None
    names = record.parts + record.aliases
    if not names:
        return None
    best = [max(names, key=lambda n, p=p: score.spelling_similarity(p, n)) for p in query.parts]
    similarity = [score.spelling_similarity(p, n) for p, n in zip(query.parts, best, strict=True)]
    if min(similarity) < score.CLOSE:
        return None
    # Best first: the closest spellings (a name as typed before one that only sounds alike: "María" before "Mora"),
    # then, among equally close ones, the record the search describes most completely ("María Quispe" before
    # "María José Quispe Mamani"). The second only breaks ties: it weighs less than the smallest step of the first.
    coverage = len(set(best) & set(record.parts)) / len(record.parts or names)
    return sum(similarity) + 0.01 * coverage


@dataclass
class SearchPage:
    results: list[Found]
    page: int
    has_next: bool


def ranked_page(query: SearchQuery, scope, page: int, per_page: int) -> tuple[list[str], bool]:
    """The case ids of one page of the ranking (best first) and whether there is a next one; nothing decrypted."""
    lookup = search_keys(query)
    ranked = candidates.ranked_query(lookup.keys, scope) if lookup.keys else None
    if ranked is None:
        return [], False
    sub = ranked.subquery("ranked")
    wanted = sub.c.rank >= lookup.needed
    if lookup.needed < lookup.full:
        # A misspelt part is tolerated only when nobody agrees on every part: otherwise the people who share all
        # but one part of a common name would fill the page, each decrypted only to be dropped.
        best = select(sub.c.case_id, sub.c.rank, func.max(sub.c.rank).over().label("best")).subquery("best")
        everything = (best.c.rank >= lookup.full) | (best.c.best < lookup.full)
        sub, wanted = best, (best.c.rank >= lookup.needed) & everything
    ids = db.session.scalars(
        select(sub.c.case_id).where(wanted)
        .order_by(sub.c.rank.desc(), sub.c.case_id).limit(per_page + 1).offset((page - 1) * per_page)
    ).all()
    return list(ids[:per_page]), len(ids) > per_page


def search(query: SearchQuery, scope, region: str | None, page: int = 1, *,
           may_decrypt: Callable[[Case], bool] | None = None,
           before_decrypt: Callable[[list[str]], None] | None = None,
           per_page: int | None = None) -> SearchPage:
    """One page of results within `scope` (an SQL condition on Case), best first. Only the page's candidates are
    decrypted, and only those `may_decrypt` allows (`before_decrypt` gets their ids first, to answer the access
    question for the page in one query); candidates that do not answer the search are left out."""
    page, per_page = max(1, page), per_page or SEARCH_PAGE
    if query.empty:
        return SearchPage([], page, False)
    ids, has_next = ranked_page(query, scope, page, per_page)
    if before_decrypt is not None and ids:
        before_decrypt(ids)
    loaded = [c for c in _load(ids) if may_decrypt is None or may_decrypt(c)]
    results = []
    for case, revealed, person in decrypt(loaded, region, SHOWN_FIELDS):
        value = search_score(query, person)
        if value is not None:
            results.append(Found(case, person, revealed, score.Score(value, {})))
    results.sort(key=lambda f: -f.score.weight)
    return SearchPage(results, page, has_next)
