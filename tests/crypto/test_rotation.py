"""KEK rotation: data keys are re-wrapped in committed batches; an interrupted run loses nothing and resumes.

Each test builds its own database (SQLite file or PostgreSQL database, per backend) and several apps on it with
different key rings, as an operator would by restarting the service with a new CASEMGMT_ROOT_KEYS.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import select, text

from casemgmt.accounts.models import User
from casemgmt.audit.verify import verify_chain
from casemgmt.cases import queries
from casemgmt.cases.models import Case
from casemgmt.crypto import fields, rotation, seal, unseal
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db
from tests import factories
from tests.cli.support import cli_env, console_script, new_root_key, private_database, ring, run_cli, run_console

CASES = 6
KEYS_PER_CASE = 3  # every case gets extra data keys, each used by one field, as after re-encryption


@pytest.fixture
def database(backend, tmp_path):
    with private_database(backend, tmp_path, "rotation") as database:
        yield database


@pytest.fixture
def keys():
    return {"v1": new_root_key(), "v2": new_root_key()}


def populate(app, cases: int = CASES, keys_per_case: int = KEYS_PER_CASE) -> dict[str, tuple]:
    """Cases created under a ring with version 1 only. Returns case id -> the plaintexts to expect back."""
    expected = {}
    with app.test_request_context():
        org = factories.organisation("Rotation NGO")
        worker = factories.user(org, "caseworker", "rotworker")
        for i in range(cases):
            case = factories.case(worker, given_name=f"Persona{i}", family_name="Rotación", narrative=f"relato {i}")
            alias = None
            for k in range(2, keys_per_case + 1):
                assert fields.create_data_key(case.id) == k
                alias = f"alias {i} under data key {k}"
                seal(case.person, "aliases", alias)
            db.session.commit()
            expected[case.id] = (f"Persona{i}", alias or "Majo", f"relato {i}")
    return expected


def read_all(app) -> dict[str, tuple]:
    """Decrypt every case in a fresh request (no cached data keys), as a page would."""
    with app.test_request_context():
        return {
            case.id: (unseal(case.person, "given_name"), unseal(case.person, "aliases"), unseal(case, "narrative"))
            for case in db.session.scalars(select(Case))
        }


def kek_versions(app) -> dict[int, int]:
    with app.app_context():
        return dict(db.session.execute(
            text("SELECT kek_version, count(*) FROM data_keys GROUP BY kek_version")
        ).all())


def test_rotation_rewraps_every_key_and_everything_still_decrypts(database, keys):
    old = database.app(ring(v1=keys["v1"]), "v1")
    database.create_schema(old)
    expected = populate(old)
    total = CASES * KEYS_PER_CASE
    assert kek_versions(old) == {1: total}

    new = database.app(ring(v1=keys["v1"], v2=keys["v2"]), "v12")
    with new.app_context():
        wrapped_before = dict(db.session.execute(select(DataKey.case_id, DataKey.wrapped)
                                                 .where(DataKey.key_id == 1)).all())
    assert read_all(new) == expected  # version 1 still unwraps while version 2 is current
    with new.test_request_context():
        assert rotation.pending_count() == total
        assert rotation.versions_in_use() == {1: total}
        batches = []
        assert rotation.rotate(batch_size=4, on_batch=batches.append) == total
        assert sum(batches) == total and max(batches) <= 4
        assert rotation.pending_count() == 0
        assert rotation.rotate() == 0  # nothing left to do
        wrapped_after = dict(db.session.execute(select(DataKey.case_id, DataKey.wrapped)
                                                .where(DataKey.key_id == 1)).all())
    assert kek_versions(new) == {2: total}
    assert all(wrapped_after[c] != wrapped_before[c] for c in wrapped_before)
    assert read_all(new) == expected

    # New cases are wrapped under the current version straight away.
    with new.test_request_context():
        worker = db.session.scalar(select(User).where(User.username == "rotworker"))
        fresh = factories.case(worker, given_name="Nueva")
        expected[fresh.id] = ("Nueva", "Majo", factories.case_values()["narrative"])
    assert kek_versions(new) == {2: total + 1}

    # Version 1 can leave the ring once no data key uses it: every case still decrypts.
    retired = database.app(ring(v2=keys["v2"]), "v2")
    assert read_all(retired) == expected
    # A data key still under a retired version cannot be unwrapped (the failure is loud, not silent).
    with retired.test_request_context(), pytest.raises(KeyError, match="version 1"):
        db.session.execute(text("UPDATE data_keys SET kek_version = 1 WHERE case_id = :c"), {"c": fresh.id})
        fields.unwrap(db.session.scalars(select(DataKey).where(DataKey.case_id == fresh.id)).first())


def test_rotation_interrupted_after_a_batch_resumes_without_loss(database, keys):
    old = database.app(ring(v1=keys["v1"]), "v1")
    database.create_schema(old)
    expected = populate(old)
    total = CASES * KEYS_PER_CASE
    new = database.app(ring(v1=keys["v1"], v2=keys["v2"]), "v12")

    class Interrupted(Exception):
        pass

    def crash(count):
        raise Interrupted(count)

    with new.test_request_context():
        with pytest.raises(Interrupted):
            rotation.rotate(batch_size=5, on_batch=crash)
        db.session.rollback()
    assert kek_versions(new) == {1: total - 5, 2: 5}  # the first batch was committed, the rest not touched
    assert read_all(new) == expected  # a mix of versions, all readable

    with new.test_request_context():
        assert rotation.pending_count() == total - 5
        assert rotation.rotate(batch_size=5) == total - 5
        assert rotation.pending_count() == 0
    assert kek_versions(new) == {2: total}
    assert read_all(new) == expected
    assert read_all(database.app(ring(v2=keys["v2"]), "v2")) == expected


def _wait_for_progress(app, process: subprocess.Popen, total: int, timeout: float = 30) -> None:
    """Return as soon as the first batch of the rotating process is committed."""
    deadline = time.monotonic() + timeout
    with app.app_context(), db.engine.connect() as conn:
        while time.monotonic() < deadline:
            done = conn.execute(text("SELECT count(*) FROM data_keys WHERE kek_version = 2")).scalar_one()
            conn.rollback()
            if done:
                return
            if process.poll() is not None:
                pytest.fail(f"rotation exited before any progress: {process.stderr.read()}")
            time.sleep(0.001)
    pytest.fail("rotation made no progress")


def test_killed_rotate_command_leaves_a_readable_mix_and_a_rerun_finishes(database, keys, tmp_path):
    old = database.app(ring(v1=keys["v1"]), "v1")
    database.create_schema(old)
    expected = populate(old, cases=5, keys_per_case=4)
    total = 20
    both = ring(v1=keys["v1"], v2=keys["v2"])
    new = database.app(both, "v12")
    env = cli_env(database.url, tmp_path / "instance-cli", both)

    process = subprocess.Popen(  # noqa: S603 - our own console script
        [*console_script(), "keys", "rotate", "--batch-size", "1"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_progress(new, process, total)
        os.kill(process.pid, signal.SIGKILL)  # no clean-up handlers, like a power cut or the OOM killer
    finally:
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL

    versions = kek_versions(new)
    assert sum(versions.values()) == total  # nothing lost
    assert 0 < versions.get(2, 0) < total, f"the kill should land mid-rotation: {versions}"
    assert read_all(new) == expected

    rerun = run_console(["keys", "rotate", "--batch-size", "7"], env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"re-wrapped {versions[1]} data keys" in rerun.stdout
    assert kek_versions(new) == {2: total}
    assert read_all(new) == expected

    again = run_cli(new, ["keys", "rotate"])
    assert again.exit_code == 0 and "every data key is already under key version 2" in again.output
    with new.test_request_context():
        assert rotation.pending_count() == 0
        actions = db.session.scalars(
            text("SELECT action FROM audit_events WHERE action LIKE 'keys.rotate%' ORDER BY seq")
        ).all()
        # The killed run recorded its start; the rerun its start and finish.
        assert actions == ["keys.rotate.start", "keys.rotate.start", "keys.rotate.finish"]
        assert verify_chain()[1] == []
        # Search through the blind indexes is unaffected by KEK rotation (their keys are the index generation's:
        # tests/matching/test_rebuild.py rebuilds them under the new version).
        worker = db.session.scalar(select(User).where(User.username == "rotworker"))
        found = queries.search_cases(worker, "persona3 rotación")
        assert "Persona3 Rotación" in [hit.name for hit in found.hits]  # with the others, one letter apart
    assert read_all(database.app(ring(v2=keys["v2"]), "v2")) == expected
