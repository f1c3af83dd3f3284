"""ASVS 7.3.3: the HMAC chain names every edited, deleted or inserted event, in code and through the CLI."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select, text

from casemgmt.audit import record_event
from casemgmt.audit.events import GENESIS_HASH, SYSTEM, chain_hash
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.audit.verify import verify_chain
from casemgmt.extensions import db
from tests import factories
from tests.cli.support import run_cli


@pytest.fixture
def chain(world):
    """The events of two NGOs, a mission and a case: 3 organisations + 8 users + 1 case = 12 events."""
    factories.case(world.caseworker)
    count = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    assert count == 12
    return count


def _sql(statement: str, **params) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()
    db.session.expire_all()


def _found(problems) -> list[tuple[str, int]]:
    return [(p.kind, p.seq) for p in problems]


def test_record_event_links_each_event_to_the_one_before(chain, world):
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, chain + 1))
    assert events[0].prev_hash == GENESIS_HASH
    for before, event in itertools.pairwise(events):
        assert event.prev_hash == before.hash
    for event in events:
        assert chain_hash(event.prev_hash, event) == event.hash
        assert len(event.hash) == 64
    head = db.session.get(AuditHead, 1)
    assert (head.last_seq, head.last_hash) == (chain, events[-1].hash)
    # What an event holds: who, in which role and organisation, did what to which object.
    last = events[-1]
    assert (last.action, last.actor_id, last.actor_role, last.organisation_id, last.outcome) == (
        "case.create", world.caseworker.id, "caseworker", world.ngo.id, "success"
    )
    assert last.object_type == "case" and last.case_id == last.object_id
    fields = json.loads(last.details)["fields"]
    assert "given_name" in fields and "María" not in last.details  # field names, never values


def test_untouched_chain_verifies(chain):
    assert verify_chain() == (chain, [])
    assert verify_chain(batch_size=5) == (chain, [])  # batches join up


EDITS = [
    ("details", '{"role":"administrator"}'),
    ("actor_name", "someone-else"),
    ("outcome", "failure"),
    ("action", "user.delete"),
    ("object_id", "999"),
]


def test_an_edited_event_is_named(chain):
    for column, value in EDITS:
        original = db.session.execute(text(f"SELECT {column} FROM audit_events WHERE seq = 5")).scalar_one()  # noqa: S608
        _sql(f"UPDATE audit_events SET {column} = :value WHERE seq = 5", value=value)  # noqa: S608 - fixed names
        checked, problems = verify_chain(batch_size=3)
        assert checked == chain
        assert _found(problems) == [("edited", 5)], column
        assert problems[0].message == "event 5 was changed after it was written"
        _sql(f"UPDATE audit_events SET {column} = :value WHERE seq = 5", value=original)  # noqa: S608
        assert verify_chain() == (chain, []), column


def test_an_edited_timestamp_is_named(chain):
    event = db.session.get(AuditEvent, 7)
    moved = event.occurred_at.replace(year=event.occurred_at.year - 1)
    _sql("UPDATE audit_events SET occurred_at = :t WHERE seq = 7", t=moved)
    assert _found(verify_chain()[1]) == [("edited", 7)]


def test_an_edit_with_a_recomputed_plain_hash_is_still_caught(chain):
    # Without the HMAC key an attacker cannot recompute a valid link; a plain SHA-256 does not pass.
    import hashlib

    _sql("UPDATE audit_events SET details = '{}', hash = :h WHERE seq = 4",
         h=hashlib.sha256(b"forged").hexdigest())
    kinds = _found(verify_chain()[1])
    assert ("edited", 4) in kinds
    assert ("inserted", 5) in kinds  # the next event no longer follows it


def test_a_deleted_middle_event_is_named(chain):
    _sql("DELETE FROM audit_events WHERE seq = 6")
    checked, problems = verify_chain()
    assert checked == chain - 1
    assert _found(problems) == [("deleted", 6)]
    assert problems[0].message == "event(s) 6 missing before 7"


def test_deleted_events_are_named_as_a_range(chain):
    _sql("DELETE FROM audit_events WHERE seq IN (3, 4, 5)")
    (problem,) = verify_chain()[1]
    assert (problem.kind, problem.seq, problem.message) == ("deleted", 3, "event(s) 3-5 missing before 6")


def test_a_deleted_last_event_is_named_through_the_head(chain):
    _sql("DELETE FROM audit_events WHERE seq = :s", s=chain)
    checked, problems = verify_chain()
    assert checked == chain - 1
    assert _found(problems) == [("deleted", chain)]
    assert problems[0].message == f"event(s) {chain} missing from the end"


def test_a_deleted_first_event_is_named(chain):
    _sql("DELETE FROM audit_events WHERE seq = 1")
    assert _found(verify_chain()[1]) == [("deleted", 1)]


def _forge(seq: int, prev_hash: str) -> None:
    _sql(
        "INSERT INTO audit_events (seq, occurred_at, actor_id, actor_name, actor_role, organisation_id, action, "
        "object_type, object_id, case_id, outcome, details, prev_hash, hash) VALUES (:seq, :t, NULL, 'admin', "
        "'administrator', NULL, 'user.set_role', 'user', '1', NULL, 'success', '{}', :prev, :hash)",
        seq=seq, t=db.session.get(AuditEvent, 1).occurred_at, prev=prev_hash, hash="ab" * 32,
    )


def test_an_inserted_forged_event_at_the_end_is_named(chain):
    last = db.session.get(AuditEvent, chain)
    _forge(chain + 1, last.hash)
    checked, problems = verify_chain()
    assert checked == chain + 1
    assert _found(problems) == [("inserted", chain + 1)]
    assert problems[0].message == f"event {chain + 1} is not part of the chain, which ends at {chain}"


def test_an_event_forged_in_place_of_a_deleted_one_is_caught(chain):
    prev = db.session.get(AuditEvent, 8).prev_hash
    _sql("DELETE FROM audit_events WHERE seq = 8")
    _forge(8, prev)
    # The forged row cannot carry a valid HMAC, and the real event 9 no longer follows it.
    assert _found(verify_chain()[1]) == [("edited", 8), ("inserted", 9)]


def test_an_inserted_event_with_a_moved_head_is_still_caught(chain):
    _forge(chain + 1, db.session.get(AuditEvent, chain).hash)
    _sql("UPDATE audit_head SET last_seq = :s, last_hash = :h", s=chain + 1, h="ab" * 32)
    # The head no longer tells the event apart from a genuine one, but its HMAC still does.
    assert _found(verify_chain()[1]) == [("edited", chain + 1)]


def test_verification_leaves_the_callers_session_alone(chain, world):
    # verify_chain() used to expunge_all(): objects the caller had loaded were detached and pending changes lost.
    user = world.caseworker
    user.display_name = "Changed Before Verify"
    verify_chain(batch_size=4)
    assert user in db.session
    db.session.commit()
    db.session.expire_all()
    assert user.display_name == "Changed Before Verify"


def test_an_event_recorded_after_a_verification_continues_from_the_current_head(app, chain):
    verify_chain()  # leaves the head, read without a lock, in this session
    with app.app_context():  # meanwhile another worker appends an event
        record_event("test.other_worker", actor=SYSTEM)
        db.session.commit()
        db.session.remove()
    record_event("test.after_verify", actor=SYSTEM)  # must lock and re-read the head, not reuse the stale one
    db.session.commit()
    assert verify_chain() == (chain + 2, [])
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.seq == chain + 2)) == "test.after_verify"


# -- the CLI --------------------------------------------------------------------------------------------------------

def test_cli_verify_reports_an_intact_chain(app, chain):
    result = run_cli(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"audit chain intact: {chain} events verified"


def test_cli_verify_names_an_edited_event_and_exits_1(app, chain):
    _sql("UPDATE audit_events SET details = '{}' WHERE seq = 9")
    result = run_cli(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "EDITED: event 9 was changed after it was written" in result.stderr
    assert f"audit chain BROKEN: 1 problem(s) in {chain} events" in result.stderr
    assert "intact" not in result.output


def test_cli_verify_names_deleted_and_inserted_events(app, chain):
    _sql("DELETE FROM audit_events WHERE seq = 3")
    _forge(chain + 1, db.session.get(AuditEvent, chain).hash)
    result = run_cli(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "DELETED: event(s) 3 missing before 4" in result.stderr
    assert f"INSERTED: event {chain + 1} is not part of the chain" in result.stderr
    assert f"2 problem(s) in {chain} events" in result.stderr
