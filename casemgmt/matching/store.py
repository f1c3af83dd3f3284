"""Writing a person's keys (matching.keys) into every live generation, and deleting them."""

from __future__ import annotations

from sqlalchemy import delete

from casemgmt.extensions import db
from casemgmt.matching import generations, keys
from casemgmt.matching.models import IndexGeneration, PersonMatchKey


def rows_for(case_id: str, person: keys.Identity, in_generations: list[IndexGeneration]) -> list[dict]:
    """The person_match_keys rows of one person (several keys may share a value: they are stored once)."""
    rows = {}
    for generation in in_generations:
        for kind, key in keys.record_keys(person):
            value = generations.compute(generation, kind, key)
            rows[(generation.id, kind, value)] = {"generation": generation.id, "kind": kind, "value": value,
                                                  "case_id": case_id}
    return list(rows.values())


def write_keys(case_id: str, person: keys.Identity) -> None:
    """Replace the person's keys in every live generation (a rebuild's BUILDING one included)."""
    db.session.flush()  # the case row the keys refer to
    live = generations.live(writing=case_id)
    delete_keys(case_id)
    rows = rows_for(case_id, person, live)
    if rows:
        db.session.execute(PersonMatchKey.__table__.insert(), rows)


def delete_keys(case_id: str) -> None:
    db.session.execute(delete(PersonMatchKey).where(PersonMatchKey.case_id == case_id))
