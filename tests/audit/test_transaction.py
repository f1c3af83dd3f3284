"""An event is written by the same commit as the change it records: both or neither."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.audit.verify import verify_chain
from casemgmt.cases import operations
from casemgmt.cases.models import Case, Person
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db
from tests import factories


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _seen_from_another_session(app) -> tuple[int, int]:
    """(cases, case.create events) as another worker sees them right now."""
    with app.app_context():
        try:
            return _count(Case), _count(AuditEvent, AuditEvent.action == "case.create")
        finally:
            db.session.remove()


def test_rolled_back_case_leaves_neither_case_nor_event(world):
    head_before = db.session.get(AuditHead, 1).last_seq
    events_before = _count(AuditEvent)
    case = operations.create_case(world.caseworker, factories.case_values())
    case_id = case.id
    assert _count(AuditEvent, AuditEvent.action == "case.create") == 1  # flushed, in this transaction
    db.session.rollback()

    assert db.session.get(Case, case_id) is None
    assert _count(Person) == 0 and _count(DataKey) == 0
    assert _count(AuditEvent) == events_before
    assert _count(AuditEvent, AuditEvent.case_id == case_id) == 0
    assert db.session.get(AuditHead, 1).last_seq == head_before
    assert verify_chain() == (events_before, [])

    # The next change is numbered as if the rolled-back one never happened.
    factories.case(world.caseworker)
    assert db.session.get(AuditHead, 1).last_seq == head_before + 1
    assert verify_chain() == (events_before + 1, [])


def test_change_and_event_become_visible_together(app, world):
    assert _seen_from_another_session(app) == (0, 0)
    case = operations.create_case(world.caseworker, factories.case_values())
    db.session.flush()
    assert _seen_from_another_session(app) == (0, 0)  # neither before the commit...
    db.session.commit()
    assert _seen_from_another_session(app) == (1, 1)  # ...both after it
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.create"))
    assert (event.object_id, event.case_id, event.actor_id) == (case.id, case.id, world.caseworker.id)


def test_rolled_back_user_creation_leaves_no_event(world):
    before = _count(AuditEvent, AuditEvent.action == "user.create")
    accounts.create_user(SYSTEM, "temporary", "Temporary", world.ngo.id, "caseworker", factories.PASSWORD)
    db.session.rollback()
    assert _count(User, User.username == "temporary") == 0
    assert _count(AuditEvent, AuditEvent.action == "user.create") == before


def test_a_refused_change_writes_no_change_event(world):
    before = _count(AuditEvent, AuditEvent.action == "user.create")
    with pytest.raises(accounts.AccountError):
        accounts.create_user(SYSTEM, "weakling", "Weakling", world.ngo.id, "caseworker", "password123")
    db.session.commit()
    assert _count(AuditEvent, AuditEvent.action == "user.create") == before


def test_a_denial_is_audited_in_its_own_transaction(world):
    case = factories.case(world.caseworker)
    case_id = case.id
    with pytest.raises(Forbidden):
        operations.open_case(world.caseworker_b, case_id)  # same NGO, not their case
    db.session.rollback()  # the request is aborted; the denial must survive it
    (denial,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert (denial.outcome, denial.case_id, denial.object_id) == ("denied", case_id, case_id)
    # Outside a request the denial has no logged-in user to name: access.policies.authorize() does not pass the
    # user on to record_denial() (reported; tests/audit/test_events_web.py checks the actor through the pages).
    assert _count(AuditEvent, AuditEvent.action == "case.view") == 0
    assert verify_chain()[1] == []
