"""Index generations (matching.generations): which one a new installation starts with, which ones are written and
searched, and that a long-lived process sees a generation made after it started."""

from __future__ import annotations

from sqlalchemy import delete, select, text

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.matching import engine, generations, keys, rebuild
from casemgmt.matching.models import ACTIVE, BUILDING, IndexGeneration, PersonMatchKey
from tests import factories


def _generations() -> list[tuple]:
    return [(g.id, g.state, g.key_version, g.bits) for g in db.session.scalars(select(IndexGeneration))]


def _case_generations(case_id: str) -> set[int]:
    return set(db.session.scalars(select(PersonMatchKey.generation).where(PersonMatchKey.case_id == case_id)))


def test_a_new_installation_starts_with_an_active_generation(world):
    """The first case's person is flushed before its keys are written: counted as a person without keys, it made
    every new installation start with a half-built generation that `indexes status` called unfinished."""
    case = factories.case(world.caseworker)
    assert _generations() == [(1, ACTIVE, 1, 8)]  # key version 1, 8 bits for EXPECTED_CASES=1000
    assert _case_generations(case.id) == {1}
    assert not rebuild.needed() and rebuild.reasons_to_rebuild() == []


def test_people_without_keys_make_the_first_generation_building(world):
    """After the migration that replaced the index columns, people exist and no generation holds their keys."""
    earlier = factories.case(world.caseworker)
    db.session.execute(delete(PersonMatchKey))
    db.session.execute(delete(IndexGeneration))
    db.session.commit()
    generations.forget()
    later = factories.case(world.caseworker, given_name="Rosa", family_name="Huamán")
    assert _generations() == [(1, BUILDING, 1, 8)]
    assert _case_generations(later.id) == {1} and _case_generations(earlier.id) == set()
    assert rebuild.needed()
    assert rebuild.reasons_to_rebuild() == ["generation 1 is being built (0 cases done)"]


def test_writes_go_to_every_live_generation_and_queries_look_in_all(world):
    case = factories.case(world.caseworker)
    db.session.add(IndexGeneration(id=2, key_version=1, bits=12, state=BUILDING, done=0))
    db.session.commit()
    generations.forget()
    other = factories.case(world.caseworker, given_name="Rosa", family_name="Huamán")
    assert _case_generations(other.id) == {1, 2}
    # A case whose keys are only in the BUILDING generation (the rebuild got to it, the old one was never written)
    # is found all the same.
    db.session.execute(delete(PersonMatchKey).where(PersonMatchKey.case_id == case.id, PersonMatchKey.generation == 1))
    values = factories.case_values()
    query = keys.identity_of({k: values[k] for k in ("given_name", "family_name", "date_of_birth")}, "PE")
    assert _case_generations(case.id) == set()  # not written to generation 2 yet: it was made after the case
    db.session.execute(PersonMatchKey.__table__.insert(), [
        {"generation": 2, "kind": kind, "value": generations.compute_raw(1, 12, kind, key), "case_id": case.id}
        for kind, key in keys.record_keys(query)])
    found = engine.best_matches(query, Case.organisation_id == world.ngo.id, "PE")
    assert case.id in [f.case.id for f in found]


def test_outside_a_request_each_call_reads_the_generations_afresh(app):
    """A worker's app context lasts as long as it runs: cached there, a generation made by a rebuild after it started
    would never be written, and the one it replaced would go on being searched after its rows are deleted."""
    with app.app_context():
        assert [g.id for g in generations.live()] == [1]
        db.session.commit()
        with db.engine.begin() as other:  # another process starts a rebuild
            other.execute(text("INSERT INTO match_index_generations (id, key_version, bits, state, done, started_at) "
                               "VALUES (2, 1, 12, 'building', 0, CURRENT_TIMESTAMP)"))
        assert [g.id for g in generations.live()] == [1, 2]
        db.session.remove()
    with app.test_request_context():
        assert [g.id for g in generations.live()] == [1, 2]
        db.session.execute(text("UPDATE match_index_generations SET state = 'retiring' WHERE id = 1"))
        assert [g.id for g in generations.live()] == [1, 2]  # within one request the list stays as it was read
        generations.forget()
        assert [g.id for g in generations.live()] == [2]
        db.session.rollback()
