"""Every hashed field of an audit event is inside its link, and so is the previous hash (issue 10, mutation tests).

tests/audit/test_chain.py edits five of the fields; a slip that left any other field out of events._canonical()
(the actor, their role and organisation, the object type, the case...) went unnoticed. Here each field is edited on
its own, on both backends, and the chain must name the event. The last test splices in an event from another copy of
the chain and fixes up the next link's prev_hash: only a prev_hash inside the HMAC of each link reports it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, update

from casemgmt.audit import record_event
from casemgmt.audit.models import AuditEvent
from casemgmt.audit.verify import verify_chain
from casemgmt.extensions import db
from tests import factories

CASE_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
OTHER_CASE_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


@pytest.fixture
def target(world):
    """An event with every field set, followed by one more event; returns the target's seq."""
    event = record_event(
        "case.view", object_type="case", object_id=CASE_ID, case_id=CASE_ID, details={"tab": "identity"},
        actor=world.caseworker, subject_organisation_id=world.ngo2.id,
    )
    db.session.commit()
    seq = event.seq
    record_event("case.search", actor=world.caseworker, details={"kind": "name"})
    db.session.commit()
    assert verify_chain() == (seq + 1, [])
    return seq


def _shift(value):
    return value + timedelta(seconds=1)


# (column, new value or a function of the old one). One edit per hashed field of _canonical().
EDITS = [
    ("seq", lambda old: old + 1000),
    ("occurred_at", _shift),
    ("actor_id", lambda old: old + 1),
    ("actor_id", lambda old: None),
    ("actor_name", "supervisor"),
    ("actor_role", "supervisor"),
    ("actor_role", lambda old: None),
    ("organisation_id", lambda old: old + 1),
    ("action", "case.export"),
    ("object_type", "document"),
    ("object_id", OTHER_CASE_ID),
    ("case_id", OTHER_CASE_ID),
    ("case_id", lambda old: None),
    ("outcome", "denied"),
    ("details", '{"tab":"counseling"}'),
    ("subject_organisation_id", lambda old: old + 1),
    ("subject_organisation_id", lambda old: None),
]


@pytest.mark.parametrize(("column", "new"), EDITS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(EDITS)])
def test_an_edit_of_any_hashed_field_is_reported(target, column, new):
    old = db.session.scalar(select(getattr(AuditEvent, column)).where(AuditEvent.seq == target))
    value = new(old) if callable(new) else new
    assert value != old
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == target).values({column: value}))
    db.session.commit()
    db.session.expire_all()
    checked, problems = verify_chain()
    assert checked == target + 1
    assert problems, f"an edit of {column} went unnoticed"
    if column != "seq":
        assert [(p.kind, p.seq) for p in problems] == [("edited", target)]
    else:  # its place is empty, and it stands beyond the head (seq is also held by the links around it)
        found = {(p.kind, p.seq) for p in problems}
        assert {("deleted", target), ("inserted", target + 1000)} <= found


def test_a_subject_organisation_set_on_an_event_that_had_none_is_reported(world):
    """The column is hashed only when set (older events predate it), so setting it later must still break the link."""
    event = record_event("case.view", object_type="case", object_id=CASE_ID, case_id=CASE_ID, actor=world.caseworker)
    db.session.commit()
    seq = event.seq
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(subject_organisation_id=world.ngo2.id))
    db.session.commit()
    db.session.expire_all()
    assert [(p.kind, p.seq) for p in verify_chain()[1]] == [("edited", seq)]


def test_every_column_of_an_event_is_either_hashed_or_the_link_itself():
    """A column added to AuditEvent must be added to EDITS above (and to events._canonical())."""
    columns = {c.key for c in inspect(AuditEvent).columns}
    assert columns == {column for column, _ in EDITS} | {"prev_hash", "hash"}


def test_a_spliced_event_with_the_next_link_fixed_up_is_reported(world):
    """An event from another copy of the chain (a backup that went a different way, a staging copy with the same
    keys) carries a valid HMAC for its own place. Put in place of the real event, with the next event's prev_hash
    rewritten to point at it, every row still links to the one before: only the prev_hash inside the next event's
    HMAC tells. Mutation caught: events.chain_hash() leaving prev_hash out of the HMAC."""
    factories.case(world.caseworker)
    # The other copy: an event recorded, its row kept aside, and the transaction rolled back.
    fork = record_event("case.export", object_type="case", object_id=CASE_ID, case_id=CASE_ID, actor=world.supervisor)
    db.session.flush()
    columns = [c.key for c in inspect(AuditEvent).columns]
    forged = {name: getattr(fork, name) for name in columns}
    db.session.rollback()
    real = record_event("case.view", object_type="case", object_id=CASE_ID, case_id=CASE_ID, actor=world.caseworker)
    after = record_event("case.search", actor=world.caseworker, details={"kind": "name"})
    db.session.commit()
    real_seq, next_seq = real.seq, after.seq
    assert forged["seq"] == real_seq and forged["hash"] != real.hash
    assert verify_chain()[1] == []
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == real_seq).values(forged))
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == next_seq).values(prev_hash=forged["hash"]))
    db.session.commit()
    db.session.expire_all()
    checked, problems = verify_chain()
    assert checked == next_seq
    assert [(p.kind, p.seq) for p in problems] == [("edited", next_seq)]


def test_a_spliced_last_event_is_reported_through_the_head(world):
    """The same splice at the end of the chain, where no next link can tell: the head remembers the newest hash.
    Mutation caught: verify_chain() without its `event.seq == head_seq and event.hash != head_hash` check."""
    factories.case(world.caseworker)
    fork = record_event("case.export", object_type="case", object_id=CASE_ID, case_id=CASE_ID, actor=world.supervisor)
    db.session.flush()
    forged = {c.key: getattr(fork, c.key) for c in inspect(AuditEvent).columns}
    db.session.rollback()
    real = record_event("case.view", object_type="case", object_id=CASE_ID, case_id=CASE_ID, actor=world.caseworker)
    db.session.commit()
    last = real.seq
    assert forged["seq"] == last and verify_chain()[1] == []
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == last).values(forged))
    db.session.commit()
    db.session.expire_all()
    assert [(p.kind, p.seq) for p in verify_chain()[1]] == [("edited", last)]


def _events_and_head(world) -> int:
    factories.case(world.caseworker)
    record_event("case.view", object_type="case", object_id=CASE_ID, case_id=CASE_ID, actor=world.caseworker)
    db.session.commit()
    return db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))


def test_a_foreign_row_in_the_middle_is_named_as_inserted(world):
    """A row that neither carries a valid HMAC nor links to the event before it is not an edit of the chain but a
    stranger in it. Mutation caught: verify_chain() not reporting that case (its `elif not own_hash_ok` branch)."""
    last = _events_and_head(world)
    middle = last - 2
    db.session.execute(
        update(AuditEvent).where(AuditEvent.seq == middle).values(prev_hash="cd" * 32, hash="ef" * 32, action="x")
    )
    db.session.commit()
    db.session.expire_all()
    checked, problems = verify_chain()
    assert checked == last
    assert [(p.kind, p.seq) for p in problems] == [("inserted", middle), ("inserted", middle + 1)]
    assert problems[0].message == f"event {middle} is not part of the chain"


def test_wiped_events_under_a_kept_head_are_counted_from_the_first(world):
    """Every event deleted, the head kept: all of them are missing, from event 1 to the head.
    Mutation caught: verify_chain() counting from anything but 1 when no event is left."""
    last = _events_and_head(world)
    db.session.execute(AuditEvent.__table__.delete())
    db.session.commit()
    db.session.expire_all()
    checked, problems = verify_chain()
    assert checked == 0
    assert [(p.kind, p.seq, p.message) for p in problems] == [
        ("deleted", 1, f"event(s) 1-{last} missing from the end")
    ]
