"""Two requests for a budget line's last funds at the same moment: exactly one is accepted, the other is refused
with the figures (PostgreSQL, real threads, separate sessions)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.fund import budget, operations
from casemgmt.fund.models import FundRequest
from casemgmt.programmes.models import Project
from tests import factories
from tests.fund import support

THREADS = 2


def test_two_requests_for_the_last_funds_one_wins(app, backend):
    if backend != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) are what is under test; SQLite has one writer at a time")
    with app.app_context():
        w = factories.world()
        prj = support.project(w.ngo, lines={"medical": "300.00"})
        case_ids = []
        for _ in range(THREADS):
            case = factories.case(w.caseworker)
            support.enrol(case, prj, w.ngo, w.caseworker)
            case_ids.append(case.id)
        support.ask(w.caseworker, db.session.get(Case, case_ids[0]), prj, amount="100.00")  # 200.00 left
        project_id, user_id = prj.id, w.caseworker.id
        db.session.remove()
    start = threading.Barrier(THREADS, timeout=20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(case_id: str) -> None:
        with app.test_request_context():
            try:
                actor = db.session.get(User, user_id)
                case = db.session.get(Case, case_id)
                values = support.values(db.session.get(Project, project_id), amount="150.00")
                start.wait()
                made = operations.request_assistance(actor, case, values)
                db.session.commit()
                result = f"{made.status}:{made.remaining_when_refused}"
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
    # The loser counted the winner's 150.00: 50.00 left for a request of 150.00.
    assert sorted(outcomes) == ["refused:50.00", "requested:None"], outcomes
    with app.app_context():
        statuses = sorted(db.session.scalars(select(FundRequest.status)))
        assert statuses == ["refused", "requested", "requested"]
        (line,) = budget.line_figures(db.session.get(Project, project_id))[:1]
        assert (line.waiting, line.remaining) == (Decimal("250.00"), Decimal("50.00"))
