"""The duplicate check's engine (search, in matching.search, is built on the same parts): candidates from the blind
indexes (matching.candidates), decisions after decrypting those candidates only (matching.score).

Who may be looked at is always the caller's SQL condition (`scope`), applied in the candidates query itself, so a
case outside it is never fetched, decrypted or counted. The cross-organisation check (matching.crossorg) is the only
caller whose scope is other organisations, and it tells the holder, never the person who searched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from casemgmt.cases import identity as case_identity
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db
from casemgmt.matching import candidates, keys, score

# At most this many candidates are decrypted per check: the ranking puts the records agreeing on most keys first,
# and a true duplicate agrees on several (name parts with the year, the date, a phone), so it is among the first
# few even when thousands share a common name. This bound, not the size of the caseload, sets a check's cost.
CHECK_CANDIDATES = 40


@dataclass(frozen=True)
class Found:
    case: Case
    person: keys.Identity
    revealed: dict
    score: score.Score


# What scoring reads of a candidate (keys.identity_of): a check decrypts these and nothing else of the person.
SCORED_FIELDS = ("given_name", "family_name", "aliases", "date_of_birth", "birth_year", "phone", "document_number")


def decrypt(cases: list[Case], region: str | None,
            fields: tuple[str, ...] = case_identity.ENCRYPTED_FIELDS) -> list[tuple[Case, dict, keys.Identity]]:
    preload_keys([c.id for c in cases])
    out = []
    for case in cases:
        revealed = {field: unseal(case.person, field) for field in fields}
        out.append((case, revealed, keys.identity_of(revealed, region)))
    return out


def _load(case_ids: list[str]) -> list[Case]:
    if not case_ids:
        return []
    by_id = {c.id: c for c in db.session.scalars(
        select(Case).where(Case.id.in_(case_ids)).options(joinedload(Case.person))  # one statement, not two
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
    for case, revealed, person in decrypt(loaded, region, SCORED_FIELDS):
        result = score.score(query, person)
        if result.weight >= threshold:
            found.append(Found(case, person, revealed, result))
    return sorted(found, key=lambda f: -f.score.weight)
