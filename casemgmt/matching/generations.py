"""Index generations: which HMAC key and size the stored keys were computed with, and which ones a query uses.

There is normally one, ACTIVE. `casemgmt indexes rebuild` adds a BUILDING one (a new key version after a rotation,
or a new size after CASEMGMT_EXPECTED_CASES changed); from then on every write stores keys in both and every query
looks in both, so search keeps working while the rebuild runs. When it finishes, the new generation becomes ACTIVE
and the old one RETIRING until its rows are deleted, then RETIRED (the row stays, so a generation id is never
reused: a stale row of an old generation can never be read as one of a new one).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

from flask import current_app, g
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from casemgmt.cases.models import Person
from casemgmt.crypto import blind_index as bidx
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db
from casemgmt.matching.models import ACTIVE, BUILDING, IndexGeneration

_CACHE = "casemgmt.matching.generations"

# Neither written nor searched, and its rows are gone (matching.rebuild).
RETIRED = "retired"


class Snapshot(NamedTuple):
    """A generation's identity as plain values, for bulk writers that commit as they go (synth, rebuild)."""

    id: int
    key_version: int
    bits: int


def wanted_bits() -> int:
    """The size the settings ask for (crypto.blind_index.index_bits of CASEMGMT_EXPECTED_CASES)."""
    return bidx.index_bits(current_app.config["SETTINGS"].expected_cases)


def wanted() -> tuple[int, int]:
    """(key version, bits) a generation built now would have: the ring's current version, the settings' size."""
    return keyring().current_version, wanted_bits()


def live(writing: str | None = None) -> list[IndexGeneration]:
    """The generations written and searched now (ACTIVE and BUILDING), oldest first; the first one is made on first
    use (ACTIVE on an empty database, BUILDING when people exist whose keys a rebuild must compute). `writing`: the
    case whose keys the caller is about to write, already flushed, which is not one a rebuild must compute."""
    cached = g.get(_CACHE) if _has_g() else None
    if cached is not None:
        return cached
    with db.session.no_autoflush:
        rows = db.session.scalars(
            select(IndexGeneration).where(IndexGeneration.state.in_((ACTIVE, BUILDING))).order_by(IndexGeneration.id)
        ).all()
        none_yet = not rows and db.session.scalar(select(func.count()).select_from(IndexGeneration)) == 0
    if none_yet:
        rows = [_first(writing)]
    rows = list(rows)
    if _has_g():
        setattr(g, _CACHE, rows)
    return rows


def forget() -> None:
    """Drop the per-request cache (after a rebuild step changed the generations)."""
    if _has_g():
        g.pop(_CACHE, None)


def _has_g() -> bool:
    # Per request only. A command's app context lasts as long as the command: a worker started before a rebuild
    # would never write the new generation, and after it would search a retired one; `synth --reset` would keep a
    # generation it has just dropped. Outside a request the list is read each time (one small query).
    from flask import has_request_context

    return has_request_context()


def _first(writing: str | None) -> IndexGeneration:
    # A person being created now is not one whose keys a rebuild must compute (the first case of a new installation
    # is flushed before its keys are written): with it counted, every new installation would start half-built.
    query = select(func.count()).select_from(Person)
    if writing is not None:
        query = query.where(Person.case_id != writing)
    with db.session.no_autoflush:
        people = db.session.scalar(query) or 0
    generation = IndexGeneration(id=1, key_version=keyring().current_version, bits=wanted_bits(),
                                 state=BUILDING if people else ACTIVE)
    try:
        with db.session.begin_nested():
            db.session.add(generation)
    except IntegrityError:
        # Another worker made it first: use theirs.
        generation = db.session.get(IndexGeneration, 1)
    return generation


def compute(generation: IndexGeneration | Snapshot, kind: str, key: str) -> int:
    """The index value of one key (matching.keys) in a generation: HMAC-SHA256 under the generation's key for the
    kind, truncated to its bits, so that a value is shared by a few people by design (crypto.blind_index)."""
    return compute_raw(generation.key_version, generation.bits, kind, key)


def compute_raw(key_version: int, bits: int, kind: str, key: str) -> int:
    digest = hmac.new(keyring().match_index_key(key_version, kind), key.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - bits)
