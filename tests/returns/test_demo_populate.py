"""The demo builders of the return and reintegration go through the operations and satisfy the stage guards."""

from __future__ import annotations

import random

from casemgmt.bestinterests import demo as bestinterests_demo
from casemgmt.cases import operations as cases
from casemgmt.reintegration import demo as reintegration_demo
from casemgmt.reintegration import queries as reintegration_queries
from casemgmt.returns import demo as returns_demo
from casemgmt.returns import queries
from tests import factories
from tests.returns.support import CHILD_DOB


def _people(w) -> dict:
    return {"caseworker": w.caseworker, "supervisor": w.supervisor, "hotline": w.hotline,
            "caseworker2": w.caseworker2, "mission": w.mission}


# A child's return needs a best-interests determination recommending it (bestinterests.guards): the demo of best
# interests makes it first, as core.journey.FEATURES orders the demos.


def test_prepare_then_populate_walks_a_case_home_and_into_reintegration(world):
    w, rng = world, random.Random(8)
    people = _people(w)
    case = factories.case(w.caseworker, date_of_birth=CHILD_DOB, citizenship="HT")
    assert bestinterests_demo.prepare(case, "return", people, random.Random(0))
    assert returns_demo.prepare(case, "return", people, rng)
    cases.change_stage(w.caseworker, case, "return", None)
    returns_demo.populate(case, people, rng)
    assert queries.current_plan(case.id).status in ("approved", "departed")
    assert queries.current_plan(case.id).accompanied  # a child travels with an escort, or a parent or guardian
    assert returns_demo.prepare(case, "reintegration", people, rng)
    assert case.stage == "reintegration"  # the confirmed arrival moved it (journey/automatic.py)
    returns_demo.populate(case, people, rng)
    reintegration_demo.populate(case, people, rng)
    plan = queries.current_plan(case.id)
    assert plan.status == "arrived" and plan.receiving_organisation_id == w.mission_org.id
    assert reintegration_queries.plan_of(case.id) is not None
    assert 1 <= len(reintegration_queries.services_of(case.id)) <= 3
    assert 1 <= len(reintegration_queries.visits_of(case.id)) <= 3


def test_populate_alone_fills_cases_already_moved_to_their_stage(world):
    w, rng = world, random.Random(8)
    people = _people(w)
    for seed in range(4):
        rng = random.Random(seed)
        in_return, in_reintegration = factories.case(w.caseworker), factories.case(w.caseworker)
        in_return.stage, in_reintegration.stage = "return", "reintegration"
        for case in (in_return, in_reintegration):
            returns_demo.populate(case, people, rng)
            reintegration_demo.populate(case, people, rng)
        assert queries.current_plan(in_return.id).status in ("approved", "departed")
        assert queries.current_plan(in_reintegration.id).status == "arrived"
        assert reintegration_queries.plan_of(in_return.id) is None
        assert reintegration_queries.visits_of(in_reintegration.id)


def test_without_a_supervisor_to_approve_the_plan_waits_and_the_demo_says_so(world):
    w, rng = world, random.Random(8)
    case = factories.case(w.caseworker2)
    assert not returns_demo.prepare(case, "return", _people(w), rng)
    assert queries.current_plan(case.id).status == "submitted"
    # With the other NGO's supervisor among the demo's people, the waiting plan is approved.
    assert returns_demo.prepare(case, "return", {**_people(w), "supervisor2": w.supervisor2}, rng)
    assert queries.current_plan(case.id).approved_by_id == w.supervisor2.id
