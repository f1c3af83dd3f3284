"""`casemgmt indexes rebuild` (matching.rebuild): a new index generation after a key rotation or a change of
CASEMGMT_EXPECTED_CASES, built in committed batches while the application writes and searches both, resumed after a
SIGKILL, run twice at once, and switched over so that the old version no longer keys any index.

Each test has a database of its own (SQLite file or PostgreSQL database) and apps with different key rings or
settings on it, as an operator restarting the service with a new CASEMGMT_ROOT_KEYS would have.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select, text

from casemgmt.accounts.models import Organisation
from casemgmt.audit.verify import verify_chain
from casemgmt.cases import identity
from casemgmt.cases import operations as case_operations
from casemgmt.cases.models import Case, Person
from casemgmt.crypto.fields import preload_keys
from casemgmt.crypto.usage import key_versions_usage
from casemgmt.extensions import db
from casemgmt.matching import engine, generations, keys, rebuild, store
from casemgmt.matching.generations import RETIRED, Snapshot
from casemgmt.matching.models import ACTIVE, BUILDING, RETIRING, IndexGeneration, PersonMatchKey
from tests import factories
from tests.cli.support import cli_env, console_script, new_root_key, private_database, request, ring, run_cli, user

GIVEN = ("María José", "Rosa Elena", "Jean Baptiste", "Wilner", "Guerline", "Juan Carlos", "Nadège", "Lucía")
FAMILY = ("Quispe Mamani", "Huamán Soto", "Pierre Louis", "Jean-Charles", "Dorsainvil", "Flores", "Condori")


def _values(i: int) -> dict:
    return {"given_name": GIVEN[i % len(GIVEN)], "family_name": f"{FAMILY[i % len(FAMILY)]} Nº{i}",
            "date_of_birth": f"{1980 + i % 25}-{1 + i % 12:02d}-{1 + i % 28:02d}", "phone": f"+51 9{i:08d}",
            "document_number": f"PE-{7000000 + i}"}


def _populate(application, n: int) -> None:
    with request(application):
        org = factories.organisation("Rebuild NGO")
        worker = factories.user(org, "caseworker", "rbworker")
        for i in range(n):
            factories.case(worker, **_values(i))


def _generations() -> dict[int, tuple]:
    return {g.id: (g.state, g.key_version, g.bits) for g in db.session.scalars(select(IndexGeneration))}


def _stored(generation_id: int) -> set[tuple]:
    return {tuple(r) for r in db.session.execute(
        select(PersonMatchKey.kind, PersonMatchKey.value, PersonMatchKey.case_id)
        .where(PersonMatchKey.generation == generation_id))}


def _people() -> list[tuple[Case, keys.Identity]]:
    """Every indexable case with its person's identity, decrypted as a page would (region: the organisation's)."""
    found = db.session.scalars(select(Case).join(Person).where(Case.erased_at.is_(None)).order_by(Case.id)).all()
    preload_keys([c.id for c in found])
    out = []
    for case in found:
        region = db.session.get(Organisation, case.organisation_id).country
        out.append((case, keys.identity_of(identity.read_identity(case.person), region)))
    return out


def _fresh(generation: Snapshot) -> set[tuple]:
    """The rows a fresh build of the generation would hold."""
    rows = set()
    for case, person in _people():
        rows |= {(r["kind"], r["value"], r["case_id"]) for r in store.rows_for(case.id, person, [generation])}
    return rows


def _unfound() -> list[str]:
    """The cases the duplicate-check engine does not find from their own person's values (empty: all found)."""
    generations.forget()
    missing = []
    for case, person in _people():
        scope = Case.organisation_id == case.organisation_id
        region = db.session.get(Organisation, case.organisation_id).country
        if case.id not in [f.case.id for f in engine.best_matches(person, scope, region)]:
            missing.append(case.id)
    return missing


def test_a_rebuild_after_rotation_searches_both_while_it_runs_and_retires_the_old_version(backend, tmp_path):
    v1, v2 = new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "rebuild") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        _populate(old, 12)
        new = database.app(ring(v1=v1, v2=v2), "v12")  # the service restarted with version 2, after `keys rotate`
        with request(new):
            assert _generations() == {1: (ACTIVE, 1, 8)}
            assert _unfound() == []  # before
            plan = rebuild.start()
            assert plan.generation == Snapshot(2, 2, 8) and (plan.total, plan.done, plan.resumed) == (12, 0, False)
            assert rebuild.step(2, batch_size=5) == (5, 0)
            assert rebuild.step(2, batch_size=5) == (5, 0)
            # Interrupted here: two batches done, both generations live and searched.
            gen = db.session.get(IndexGeneration, 2)
            ordered = sorted(c.id for c in db.session.scalars(select(Case)))
            assert (gen.state, gen.cursor, gen.done) == (BUILDING, ordered[9], 10)
            assert {case_id for *_, case_id in _stored(2)} == set(ordered[:10])
            assert [g.id for g in generations.live()] == [1, 2]
            assert _unfound() == []  # during: the last two cases are found by the old generation alone

            # The application writes both generations meanwhile: a new case, a re-identified one past the cursor.
            worker = user("rbworker")
            added = factories.case(worker, **_values(40))
            changed = db.session.get(Case, ordered[11])
            identity.write_identity(changed.person, _values(41))  # what an edit of the case form calls
            db.session.commit()
            assert {g for g, in db.session.execute(
                select(PersonMatchKey.generation).where(PersonMatchKey.case_id == added.id).distinct())} == {1, 2}
            assert _unfound() == []

            # A re-run resumes after the cursor.
            resumed = rebuild.start()
            assert (resumed.generation.id, resumed.done, resumed.resumed, resumed.total) == (2, 10, True, 13)
            after_cursor = [i for i in [*ordered, added.id] if i > ordered[9]]  # the new case's id is random
            assert rebuild.build(2, batch_size=5) == (len(after_cursor), 0)
            assert rebuild.finish(2) == [1]
            assert _generations() == {1: (RETIRING, 1, 8), 2: (ACTIVE, 2, 8)}
            assert [g.id for g in generations.live()] == [2]
            assert rebuild.retire(batch_size=4) > 0
            assert _generations() == {1: (RETIRED, 1, 8), 2: (ACTIVE, 2, 8)}
            assert _stored(1) == set()
            assert _stored(2) == _fresh(Snapshot(2, 2, 8))  # exactly what a fresh build gives
            assert _unfound() == []  # after
            assert rebuild.start() is None and rebuild.reasons_to_rebuild() == []
            actions = db.session.scalars(text(
                "SELECT action FROM audit_events WHERE action LIKE 'indexes.%' ORDER BY seq")).all()
            assert actions == ["indexes.rebuild.start", "indexes.rebuild.start", "indexes.rebuild.finish"]
            assert verify_chain()[1] == []
            # Version 1 keys no index any more; only its oldest-version derivations remain.
            usage = {v.version: v for v in key_versions_usage().versions}
            assert usage[1].match_indexes == [] and [i.generation for i in usage[2].match_indexes] == [2]
        # After `keys rotate` too, search no longer needs the old version: a ring without it finds everyone (the audit
        # chain and the recovery codes still need it, which tests/crypto/test_key_usage.py covers).
        assert run_cli(new, ["keys", "rotate"]).exit_code == 0
        with request(database.app(ring(v2=v2), "v2")):
            assert _unfound() == []


def test_a_changed_expected_cases_builds_a_generation_of_the_new_size(backend, tmp_path):
    key = new_root_key()
    with private_database(backend, tmp_path, "rebits") as database:
        small = database.app(ring(v1=key), "small", EXPECTED_CASES=1000)
        database.create_schema(small)
        _populate(small, 6)
        large = database.app(ring(v1=key), "large", EXPECTED_CASES=100_000)
        status = run_cli(large, ["indexes", "status"])
        assert status.output.splitlines() == [
            "generation 1: active, key version 1, 8 bits", "wanted now: key version 1, 15 bits",
            "  - the active generation has 8-bit values; CASEMGMT_EXPECTED_CASES asks for 15",
            "run `casemgmt indexes rebuild`"]
        result = run_cli(large, ["indexes", "rebuild"])
        assert result.exit_code == 0, result.output
        assert "index generation 2 is active: 6 cases indexed by this run, generation(s) 1 retired" in result.output
        with request(large):
            assert _generations() == {1: (RETIRED, 1, 8), 2: (ACTIVE, 1, 15)}
            stored = _stored(2)
            assert stored == _fresh(Snapshot(2, 1, 15))
            assert max(value for _, value, _ in stored) >= 2**8  # values of the new size, not the old ones
            assert _unfound() == []
        assert run_cli(large, ["indexes", "status"]).output.splitlines()[-1] == "up to date"
        again = run_cli(large, ["indexes", "rebuild"])
        assert again.output.strip() == "the indexes are up to date: nothing to rebuild"


def test_an_erased_case_gets_no_keys_in_the_new_generation(backend, tmp_path):
    v1, v2 = new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "reerase") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        _populate(old, 4)
        with request(old):
            supervisor = factories.user(db.session.scalar(select(Organisation)), "supervisor", "rbboss")
            gone = db.session.scalars(select(Case).order_by(Case.id)).all()[-1]
            case_operations.erase_case(supervisor, gone)
            db.session.commit()
            gone_id = gone.id
        new = database.app(ring(v1=v1, v2=v2), "v12")
        assert run_cli(new, ["indexes", "rebuild"]).exit_code == 0
        with request(new):
            assert gone_id not in {case_id for *_, case_id in _stored(2)}
            assert len({case_id for *_, case_id in _stored(2)}) == 3


# --- SIGKILL and two rebuilds at once, as subprocesses -------------------------------------------------------------

N_SYNTH = 240
BATCH = 20


def _progress(application) -> tuple[str, int, str | None]:
    with application.app_context(), db.engine.connect() as conn:
        row = conn.execute(text("SELECT state, done, cursor FROM match_index_generations WHERE id = 2")).first()
    return tuple(row) if row else ("", 0, None)


def _wait_for(application, process: subprocess.Popen, done_at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _progress(application)[1] >= done_at_least:
            return
        if process.poll() is not None:
            pytest.fail(f"the rebuild exited before it got that far: {process.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("the rebuild made no progress")


def _popen(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [*console_script(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_rebuild_loses_no_batch_and_two_reruns_at_once_finish_it(backend, tmp_path):
    from casemgmt.synth import build

    v1, v2 = new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "rekill") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        with old.app_context():
            build(N_SYNTH, seed=13, password=factories.PASSWORD)
            db.session.remove()
        both = ring(v1=v1, v2=v2)
        new = database.app(both, "v12")
        env = cli_env(database.url, tmp_path / "instance-cli", both)

        process = _popen(["indexes", "rebuild", "--batch-size", str(BATCH), "--pause-after-batch", "0.5"], env)
        try:
            _wait_for(new, process, 2 * BATCH)
            os.kill(process.pid, signal.SIGKILL)  # no clean-up handlers, like a power cut or the OOM killer
        finally:
            process.wait(timeout=30)
            process.stdout.close()
            process.stderr.close()
        assert process.returncode == -signal.SIGKILL

        state, done, cursor = _progress(new)
        assert state == BUILDING and done % BATCH == 0 and 2 * BATCH <= done < N_SYNTH, (state, done)
        with request(new):
            ordered = list(db.session.scalars(select(Case.id).where(Case.erased_at.is_(None)).order_by(Case.id)))
            assert cursor == ordered[done - 1]
            # Every committed batch is whole, nothing after the cursor: no partial batch.
            assert {case_id for *_, case_id in _stored(2)} == set(ordered[:done])
            assert _unfound() == []  # search works mid-way, through both generations

        # Two rebuilds at once (paused between batches, so that they overlap) resume the same generation, taking
        # turns batch by batch: together they index each remaining case once.
        reruns = [_popen(["indexes", "rebuild", "--batch-size", str(BATCH), "--pause-after-batch", "0.2"], env)
                  for _ in range(2)]
        indexed = []
        for rerun in reruns:
            out, err = rerun.communicate(timeout=300)
            assert rerun.returncode == 0, err
            indexed.append(int(re.search(r"is active: (\d+) cases indexed by this run", out).group(1)))
        assert sum(indexed) == len(ordered) - done and min(indexed) > 0, indexed

        with request(new):
            assert _generations() == {1: (RETIRED, 1, 8), 2: (ACTIVE, 2, 8)}
            gen = db.session.get(IndexGeneration, 2)
            assert gen.done == len(ordered)  # each case counted once: no batch done twice
            assert _stored(1) == set()
            assert _stored(2) == _fresh(Snapshot(2, 2, 8))
            assert _unfound() == []
            assert db.session.scalar(select(func.count()).select_from(IndexGeneration)) == 2
