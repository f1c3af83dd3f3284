"""The last two signatures at the same moment (PostgreSQL, real threads, separate sessions): the determination is
decided exactly once, and never missed."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.audit.models import AuditEvent
from casemgmt.bestinterests import operations
from casemgmt.bestinterests.models import BestInterestsDetermination
from casemgmt.extensions import db
from tests import factories
from tests.bestinterests.support import child_case, convene


def _race(app, votes: dict[str, tuple[str, str | None]]) -> tuple[list[str], str, list[str]]:
    with app.app_context():
        w = factories.world()
        case = child_case(w)
        made = convene(w, case)
        bid = made.id
        users = {"caseworker": w.caseworker.id, "supervisor": w.supervisor.id}
        db.session.remove()
    start = threading.Barrier(len(votes), timeout=20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(username: str) -> None:
        vote, reason = votes[username]
        with app.test_request_context():
            try:
                actor = db.session.get(User, users[username])
                determination = db.session.get(BestInterestsDetermination, bid)
                start.wait()
                result = str(operations.sign(actor, determination, vote, reason))
                db.session.commit()
            except operations.BestInterestsError as exc:
                db.session.rollback()
                result = f"refused: {exc}"
            except Exception as exc:  # a deadlock or an error would show here
                db.session.rollback()
                result = f"error: {exc!r}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(name,)) for name in votes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    with app.app_context():
        status = db.session.get(BestInterestsDetermination, bid).status
        decided = list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(("bid.determined", "bid.not_agreed")))))
    return sorted(outcomes), status, decided


def test_the_last_two_concurrences_decide_once(app, backend):
    if backend != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) are what is under test; SQLite has one writer at a time")
    outcomes, status, decided = _race(app, {"caseworker": ("concur", None), "supervisor": ("concur", None)})
    # One signature left the panel waiting, the other (which counted the first) decided: never both, never neither.
    assert outcomes == ["None", "determined"], outcomes
    assert status == "determined" and decided == ["bid.determined"]


def test_a_dissent_and_a_concurrence_at_once_fail_the_determination_once(app, backend):
    if backend != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) are what is under test; SQLite has one writer at a time")
    outcomes, status, decided = _race(app, {"caseworker": ("concur", None),
                                            "supervisor": ("dissent", "The family visit found a risk.")})
    assert status == "not_agreed" and decided == ["bid.not_agreed"], outcomes
    assert "not_agreed" in outcomes and not any(o.startswith("error") for o in outcomes)
