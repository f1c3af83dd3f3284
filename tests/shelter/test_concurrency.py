"""Two admissions into the last bed at the same moment: exactly one wins (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.shelter import operations
from tests import factories
from tests.shelter.support import TODAY, admit, facility, placements

THREADS = 3


def test_concurrent_admissions_into_the_last_bed_admit_exactly_one(app, backend):
    if backend != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) are what is under test; SQLite has one writer at a time")
    with app.app_context():
        w = factories.world()
        place = facility(w.supervisor, beds=2)
        admit(w.caseworker, factories.case(w.caseworker), place.id)  # one bed left
        case_ids = [factories.case(w.caseworker).id for _ in range(THREADS)]
        facility_id, user_id = place.id, w.caseworker.id
    start = threading.Barrier(THREADS, timeout=20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(case_id: str) -> None:
        with app.test_request_context():
            try:
                actor = db.session.get(User, user_id)
                case = db.session.get(Case, case_id)
                start.wait()
                operations.admit(actor, case, facility_id, TODAY)
                db.session.commit()
                result = "admitted"
            except operations.PlacementError as exc:
                db.session.rollback()
                result = "refused: " + str(exc)
            except Exception as exc:  # a deadlock or an error would show here
                db.session.rollback()
                result = f"error: {exc!r}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(cid,)) for cid in case_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert sorted(o.split(":")[0] for o in outcomes) == ["admitted"] + ["refused"] * (THREADS - 1), outcomes
    assert all("is full: 2 of 2 beds are taken" in o for o in outcomes if o.startswith("refused")), outcomes
    with app.app_context():
        assert len(placements(facility_id=facility_id)) == 2
        assert db.session.scalar(select(db.func.count()).select_from(Case)) == THREADS + 1
