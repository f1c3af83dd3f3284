"""demo.populate for tasks and closures: records that fit each case's stage, through the operations."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from casemgmt.cases import operations as cases
from casemgmt.cases import stages
from casemgmt.extensions import db
from casemgmt.journey import demo as journey_demo
from casemgmt.journey import operations as journey
from casemgmt.journey.models import ClosureRequest
from casemgmt.tasks import demo as tasks_demo
from casemgmt.tasks.models import Task
from tests import factories


class AlwaysLow(random.Random):
    def random(self):
        return 0.01


def _people(w) -> dict:
    return {"caseworker": w.caseworker, "supervisor": w.supervisor, "hotline": w.hotline,
            "caseworker2": w.caseworker2, "mission": w.mission}


def test_tasks_for_open_cases_none_for_closed_ones(app, ctx):
    w = factories.world()
    people = _people(w)
    open_cases = [factories.case(w.caseworker) for _ in range(6)] + [factories.case(w.caseworker2)]
    for i, case in enumerate(open_cases):
        tasks_demo.populate(case, people, random.Random(i))
    closed = factories.case(w.caseworker)
    journey.approve_closure(w.supervisor, journey.request_closure(w.caseworker, closed, "completed", "Done."))
    tasks_demo.populate(closed, people, random.Random(1))
    db.session.commit()
    rows = db.session.scalars(select(Task)).all()
    assert rows and all(t.case_id != closed.id for t in rows)
    assert {t.organisation_id for t in rows if t.case_id == open_cases[-1].id} <= {w.ngo2.id}
    per_case = db.session.execute(select(Task.case_id, func.count()).group_by(Task.case_id)).all()
    assert all(1 <= n <= 3 for _, n in per_case)


def test_closed_cases_get_their_approved_request_and_some_open_ones_a_pending_one(app, ctx, monkeypatch):
    w = factories.world()
    people = _people(w)
    legacy = factories.case(w.caseworker)
    # A case closed before approvals existed (the guard is lifted for the set-up only).
    monkeypatch.setitem(stages.GUARDS, "closed", [])
    cases.change_stage(w.caseworker, legacy, "closed", "Assistance completed.")
    monkeypatch.undo()
    journey_demo.populate(legacy, people, AlwaysLow())
    journey_demo.populate(legacy, people, AlwaysLow())  # running twice adds nothing
    waiting = factories.case(w.caseworker)
    cases.change_stage(w.caseworker, waiting, "counseling", None)
    journey_demo.populate(waiting, people, AlwaysLow())
    journey_demo.populate(factories.case(w.caseworker), people, AlwaysLow())  # still in intake: nothing
    db.session.commit()
    rows = {(r.case_id, r.status) for r in db.session.scalars(select(ClosureRequest))}
    assert rows == {(legacy.id, "approved"), (waiting.id, "requested")}


@pytest.mark.parametrize("seed", [1, 2])
def test_populate_runs_for_every_stage(app, ctx, seed):
    w = factories.world()
    people = _people(w)
    for stage in ("shelter", "counseling"):
        case = factories.case(w.caseworker)
        cases.change_stage(w.caseworker, case, stage, None)
        tasks_demo.populate(case, people, random.Random(seed))
        journey_demo.populate(case, people, random.Random(seed))
    db.session.commit()
