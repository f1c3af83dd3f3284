"""`casemgmt indexes rebuild`: compute a new index generation (matching.generations) while the application runs.

Why a new generation: the HMAC keys come from one root-key version and the values are truncated to a size set by
CASEMGMT_EXPECTED_CASES; after `casemgmt keys rotate` or a change of the setting, the stored keys no longer are what
the settings ask for. Nothing stored can be converted: every person must be decrypted and keyed again, and so must
every family member (family_member_keys, issue 15: families.tracing_match), batch by batch with their cases.

How it stays safe to interrupt and to run beside the application:
- The new generation is BUILDING from the moment it exists, so every write (matching.store.write_keys) stores keys in
  it as well as in the ACTIVE one, and every query looks in both (matching.candidates): search finds a person
  throughout, by the old keys or the new.
- Cases are taken in order of id, `batch_size` per transaction. A batch's rows, the cursor (the batch's last case id)
  and the done counter are committed together, so a kill loses at most the batch in flight and a re-run starts after
  the cursor. A batch first deletes the generation's rows of its cases, so doing one twice gives the same rows.
- Each batch begins by updating the generation row, which takes the row lock on PostgreSQL and the write lock on
  SQLite, then locks its cases and persons on PostgreSQL (SQLite's write lock covers them): two rebuilds take turns
  batch by batch, each reading the cursor the other left, and a person re-identified or a case erased meanwhile
  waits for the batch or is seen by it, never overwritten with keys of values read before.
- When every case is done, one transaction indexes the few cases a request that began before the generation existed
  may have written without it, drops any keys of erased cases, makes the new generation ACTIVE and the others
  RETIRING: from then on only the new one is written and searched. The retiring rows are then deleted in batches
  and the generation marked RETIRED.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from casemgmt.accounts.models import Organisation
from casemgmt.audit import record_event
from casemgmt.audit.events import SYSTEM
from casemgmt.cases.identity import read_identity
from casemgmt.cases.models import Case, Person
from casemgmt.core.time import utcnow
from casemgmt.crypto import DecryptionError
from casemgmt.crypto.fields import forget_keys, preload_keys
from casemgmt.extensions import db
from casemgmt.families import tracing_match
from casemgmt.matching import generations, keys, store
from casemgmt.matching.generations import RETIRED, Snapshot
from casemgmt.matching.models import ACTIVE, BUILDING, RETIRING, IndexGeneration, PersonMatchKey

# Cases per transaction: small enough that a kill loses little and the locks a batch holds (the cases it reads, the
# whole database on SQLite) last well under SQLite's 5 s busy timeout that a request waits: 2,000 synthetic cases
# took 4.6 s on SQLite on a shared 2-core machine (`casemgmt synth --cases 2000`, then `time casemgmt indexes
# rebuild` with another CASEMGMT_EXPECTED_CASES), about 1 s per batch of 500.
BATCH_SIZE = 500
# Cases whose retired rows one transaction deletes.
RETIRE_BATCH = 2_000


class RebuildError(Exception):
    """The rebuild cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Plan:
    generation: Snapshot
    total: int       # cases to index (not erased, with a person)
    done: int        # of which a previous, interrupted run already did this many
    resumed: bool


@dataclass(frozen=True)
class Outcome:
    generation: Snapshot | None
    indexed: int           # cases indexed by this run
    undecryptable: int     # cases left without keys because their data could not be decrypted
    retired_rows: int


# --- what there is -------------------------------------------------------------------------------------------------


def all_generations() -> list[IndexGeneration]:
    return list(db.session.scalars(select(IndexGeneration).order_by(IndexGeneration.id)))


def indexable_cases() -> int:
    return db.session.scalar(
        select(func.count()).select_from(Case).join(Person, Person.case_id == Case.id).where(Case.erased_at.is_(None))
    ) or 0


def needed() -> bool:
    """Whether `casemgmt db upgrade` must run a rebuild: one is under way (BUILDING) or was left half-retired, or
    people exist and no generation holds their keys (the first upgrade past the blind-index columns)."""
    states = {g.state for g in all_generations()}
    if states & {BUILDING, RETIRING}:
        return True
    return ACTIVE not in states and db.session.scalar(select(func.count()).select_from(Person)) > 0


def reasons_to_rebuild() -> list[str]:
    """Why the indexes are not what the settings ask for (empty: up to date)."""
    version, bits = generations.wanted()
    rows = all_generations()
    active = next((g for g in rows if g.state == ACTIVE), None)
    building = next((g for g in rows if g.state == BUILDING), None)
    out = []
    if building is not None:
        out.append(f"generation {building.id} is being built ({building.done} cases done)")
    elif active is None:
        if indexable_cases():
            out.append("no index generation holds the people's keys yet")
        return out
    if active is not None and active.key_version != version:
        out.append(f"the active generation is keyed from key version {active.key_version}; the current one is "
                   f"{version}")
    if active is not None and active.bits != bits:
        out.append(f"the active generation has {active.bits}-bit values; CASEMGMT_EXPECTED_CASES asks for {bits}")
    if any(g.state == RETIRING for g in rows):
        out.append("a retired generation's rows are still being deleted")
    return out


# --- starting or resuming ------------------------------------------------------------------------------------------


def start() -> Plan | None:
    """The generation to build, made when needed and committed; None when the active one is already what the
    settings ask for. Two rebuilds starting at once make one generation: the second's insert fails and it resumes
    the first's."""
    for _attempt in range(3):
        try:
            return _start()
        except IntegrityError:
            db.session.rollback()
            generations.forget()
    raise RebuildError("another rebuild keeps creating index generations; run `casemgmt indexes status`")


def _start() -> Plan | None:
    generations.forget()
    generations.live()  # makes the first generation (ACTIVE on an empty database, BUILDING with people)
    db.session.commit()
    wanted = generations.wanted()
    rows = all_generations()
    active = next((g for g in rows if g.state == ACTIVE), None)
    building = next((g for g in rows if g.state == BUILDING), None)
    if building is not None and (building.key_version, building.bits) != wanted:
        # Built for settings that have changed again since: its rows go like a retired generation's.
        building.state = RETIRING
        building = None
    resumed = building is not None
    if building is None:
        if active is not None and (active.key_version, active.bits) == wanted:
            db.session.commit()
            generations.forget()
            return None
        building = IndexGeneration(id=max((g.id for g in rows), default=0) + 1, key_version=wanted[0], bits=wanted[1],
                                   state=BUILDING, cursor=None, done=0)
        db.session.add(building)
        db.session.flush()
    record_event("indexes.rebuild.start", actor=SYSTEM, details={
        "generation": building.id, "key_version": building.key_version, "bits": building.bits, "resumed": resumed,
        "done": building.done,
    })
    plan = Plan(Snapshot(building.id, building.key_version, building.bits), indexable_cases(), building.done, resumed)
    db.session.commit()
    generations.forget()
    return plan


# --- the batches ---------------------------------------------------------------------------------------------------


def _lock(generation_id: int) -> IndexGeneration | None:
    """Lock the BUILDING generation's row for this transaction and read it afresh; None if it is no longer BUILDING
    (another rebuild finished it). Must be the transaction's first statement: on SQLite the write lock is then
    taken before anything is read, so what is read cannot change before the commit."""
    locked = db.session.execute(
        update(IndexGeneration).where(IndexGeneration.id == generation_id, IndexGeneration.state == BUILDING)
        .values(done=IndexGeneration.done).execution_options(synchronize_session=False)
    )
    if locked.rowcount == 0:
        return None
    return db.session.get(IndexGeneration, generation_id, populate_existing=True)


def _regions(case_ids: list[str]) -> dict[str, str | None]:
    """Each case's phone region: its organisation's country, as cases.identity.write_identity gives it."""
    return dict(db.session.execute(
        select(Case.id, Organisation.country).join(Organisation, Organisation.id == Case.organisation_id)
        .where(Case.id.in_(case_ids))
    ).all())


def _index(generation: Snapshot, case_ids: list[str]) -> int:
    """Replace the generation's rows of these cases with keys computed from their decrypted identities; the cases
    must be locked by the caller. Returns how many could not be decrypted (they are left without keys)."""
    if not case_ids:
        return 0
    regions = _regions(case_ids)
    people = db.session.scalars(select(Person).where(Person.case_id.in_(case_ids))).all()
    preload_keys(case_ids)
    rows, failed = [], 0
    for person in people:
        try:
            revealed = read_identity(person)
        except DecryptionError:
            failed += 1  # a damaged or missing data key: nothing to index, and erasure-like in effect
            continue
        # The region as cases.identity.write_identity gives it, so the keys are exactly those a write stores.
        identity = keys.identity_of(revealed, regions.get(person.case_id))
        rows.extend(store.rows_for(person.case_id, identity, [generation]))
    db.session.execute(delete(PersonMatchKey).where(PersonMatchKey.generation == generation.id,
                                                    PersonMatchKey.case_id.in_(case_ids)))
    if rows:
        db.session.execute(PersonMatchKey.__table__.insert(), rows)
    # The family members these cases record are keyed with the same generation (issue 15: tracing requests are
    # matched against them); a member that cannot be decrypted is left without keys, like a person.
    tracing_match.index_members(generation, case_ids, regions)
    forget_keys(case_ids)  # a long run must not keep every unwrapped data key in memory
    return failed


def step(generation_id: int, batch_size: int = BATCH_SIZE) -> tuple[int, int] | None:
    """Index the next batch of cases after the cursor and commit. Returns (cases indexed, of which undecryptable),
    (0, 0) when none are left, None when the generation is no longer being built."""
    locked = _lock(generation_id)
    if locked is None:
        db.session.rollback()
        return None
    query = (
        select(Case.id).join(Person, Person.case_id == Case.id).where(Case.erased_at.is_(None))
        .order_by(Case.id).limit(batch_size)
        # PostgreSQL: a re-identification or an erasure of these cases waits for this batch's commit (and one
        # committed first is what the batch reads). SQLite ignores this; the write lock taken above does the same.
        .with_for_update(of=[Case.__table__, Person.__table__])
    )
    if locked.cursor is not None:
        query = query.where(Case.id > locked.cursor)
    case_ids = list(db.session.scalars(query))
    if not case_ids:
        db.session.rollback()
        return 0, 0
    failed = _index(Snapshot(locked.id, locked.key_version, locked.bits), case_ids)
    locked.cursor = case_ids[-1]
    locked.done = locked.done + len(case_ids)
    db.session.commit()
    return len(case_ids), failed


def build(generation_id: int, batch_size: int = BATCH_SIZE, on_batch: Callable[[int], None] | None = None,
          pause: float = 0.0) -> tuple[int, int]:
    """Run the batches to the end. Returns (cases indexed, undecryptable)."""
    indexed = failed = 0
    while True:
        result = step(generation_id, batch_size)
        if not result or result[0] == 0:
            return indexed, failed
        indexed += result[0]
        failed += result[1]
        if on_batch is not None:
            on_batch(result[0])
        if pause:
            time.sleep(pause)


# --- switching over and retiring -----------------------------------------------------------------------------------


def finish(generation_id: int) -> list[int]:
    """Make the built generation the only live one; returns the ids of the generations it replaced (now RETIRING).
    Empty when another rebuild has already finished it."""
    locked = _lock(generation_id)
    if locked is None:
        db.session.rollback()
        return []
    snapshot = Snapshot(locked.id, locked.key_version, locked.bits)
    # A request that read the live generations just before this one existed wrote its person's keys without it.
    missing = list(db.session.scalars(
        select(Case.id).join(Person, Person.case_id == Case.id)
        .where(Case.erased_at.is_(None),
               ~exists().where(PersonMatchKey.case_id == Case.id, PersonMatchKey.generation == snapshot.id))
        .order_by(Case.id).with_for_update(of=[Case.__table__, Person.__table__])
    ))
    for start_at in range(0, len(missing), BATCH_SIZE):
        _index(snapshot, missing[start_at:start_at + BATCH_SIZE])
    # The same for family members written without it (their cases' persons were keyed in it already).
    done_already = set(missing)
    members_missing = [c for c in tracing_match.cases_missing_in(snapshot) if c not in done_already]
    for start_at in range(0, len(members_missing), BATCH_SIZE):
        batch = members_missing[start_at:start_at + BATCH_SIZE]
        tracing_match.index_members(snapshot, batch, _regions(batch))
    tracing_match.drop_erased(snapshot)
    # Erasure deletes a case's keys in every generation; this catches one that raced a batch, whatever the backend.
    db.session.execute(delete(PersonMatchKey).where(
        PersonMatchKey.generation == snapshot.id,
        PersonMatchKey.case_id.in_(select(Case.id).where(Case.erased_at.is_not(None))),
    ))
    replaced = list(db.session.scalars(
        select(IndexGeneration).where(IndexGeneration.state.in_((ACTIVE, BUILDING)), IndexGeneration.id != snapshot.id)
    ))
    for old in replaced:
        old.state = RETIRING
    locked.state = ACTIVE
    locked.finished_at = utcnow()
    record_event("indexes.rebuild.finish", actor=SYSTEM, details={
        "generation": snapshot.id, "cases": locked.done, "replaced": [g.id for g in replaced],
    })
    db.session.commit()
    generations.forget()
    return [g.id for g in replaced]


def retire(batch_size: int = RETIRE_BATCH) -> int:
    """Delete the rows of RETIRING generations, `batch_size` cases' rows per transaction, then mark them RETIRED.
    Returns the rows deleted. Safe to interrupt and to run twice at once (a delete of deleted rows does nothing)."""
    deleted = 0
    retiring = list(db.session.scalars(select(IndexGeneration.id).where(IndexGeneration.state == RETIRING)))
    for generation_id in retiring:
        while True:
            case_ids = list(db.session.scalars(
                select(PersonMatchKey.case_id).where(PersonMatchKey.generation == generation_id).distinct()
                .order_by(PersonMatchKey.case_id).limit(batch_size)
            ))
            if not case_ids:
                break
            result = db.session.execute(delete(PersonMatchKey).where(
                PersonMatchKey.generation == generation_id, PersonMatchKey.case_id.in_(case_ids)
            ))
            deleted += result.rowcount
            db.session.commit()
        deleted += tracing_match.retire_rows(generation_id, batch_size)
        db.session.execute(update(IndexGeneration).where(IndexGeneration.id == generation_id,
                                                         IndexGeneration.state == RETIRING)
                           .values(state=RETIRED, finished_at=utcnow()))
        db.session.commit()
    return deleted


def run(batch_size: int = BATCH_SIZE, on_start: Callable[[Plan], None] | None = None,
        on_batch: Callable[[int], None] | None = None, pause: float = 0.0) -> Outcome:
    """The whole rebuild: start or resume, the batches, the switch-over, the retiring rows."""
    plan = start()
    indexed = failed = 0
    if plan is not None:
        if on_start is not None:
            on_start(plan)
        indexed, failed = build(plan.generation.id, batch_size, on_batch, pause)
        finish(plan.generation.id)
    return Outcome(plan.generation if plan else None, indexed, failed, retire())
