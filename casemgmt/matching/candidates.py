"""Candidates from the blind indexes alone: the cases whose stored keys agree with a query's, ranked in SQL.

Each query key is looked up in every live generation (matching.generations). A case's rank is the summed weight of
the kinds it agrees on (a document or a phone says more than a name part), taken in the generation where it agrees
most, so that a case indexed in both during a rebuild is not counted twice. Nothing is decrypted here; the caller
decrypts the top of the ranking only (matching.engine), which is what keeps the work per check bounded however
many people share a common name: the ranking is done on integers by the database, the decryption on at most
`limit` rows.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select, tuple_

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.matching import generations
from casemgmt.matching.models import PersonMatchKey

# How much one agreeing key of each kind counts in the ranking (not the decision: matching.score decides).
RANK_WEIGHTS = {"doc": 8, "ph": 6, "dob": 4, "py": 3, "p": 1}


def _lookups(query_keys: set[tuple[str, str]]) -> list:
    lookups = []
    for generation in generations.live():
        for kind, key in query_keys:
            lookups.append((generation.id, kind, generations.compute(generation, kind, key)))
    return lookups


def ranked_query(query_keys: set[tuple[str, str]], scope):
    """SELECT case_id, rank over the cases within `scope` (an SQL condition on Case) that agree on any key, or
    None when there is nothing to look up."""
    lookups = _lookups(query_keys)
    if not lookups:
        return None
    weight = case(*((PersonMatchKey.kind == kind, w) for kind, w in RANK_WEIGHTS.items()), else_=0)
    per_generation = (
        select(PersonMatchKey.case_id, PersonMatchKey.generation, func.sum(weight).label("rank"))
        .join(Case, Case.id == PersonMatchKey.case_id)
        .where(_in(lookups), Case.erased_at.is_(None), scope)
        .group_by(PersonMatchKey.case_id, PersonMatchKey.generation)
        .subquery("per_generation")
    )
    return (
        select(per_generation.c.case_id, func.max(per_generation.c.rank).label("rank"))
        .group_by(per_generation.c.case_id)
    )


def _in(lookups: list):
    # Row-value IN works on both backends, but SQLite plans it as a scan; an OR of equalities on the primary key's
    # columns is answered by the index on both.
    if len(lookups) <= 1:
        return tuple_(PersonMatchKey.generation, PersonMatchKey.kind, PersonMatchKey.value).in_(lookups)
    return or_(*(and_(PersonMatchKey.generation == gen, PersonMatchKey.kind == kind, PersonMatchKey.value == value)
                 for gen, kind, value in lookups))


def top(query_keys: set[tuple[str, str]], scope, limit: int, offset: int = 0) -> list[tuple[str, int]]:
    """(case id, rank) of the best-ranked candidates, best first; ties newest-id-last for a stable order."""
    query = ranked_query(query_keys, scope)
    if query is None:
        return []
    sub = query.subquery("ranked")
    rows = db.session.execute(
        select(sub.c.case_id, sub.c.rank).order_by(sub.c.rank.desc(), sub.c.case_id).limit(limit).offset(offset)
    ).all()
    return [(r.case_id, int(r.rank)) for r in rows]
