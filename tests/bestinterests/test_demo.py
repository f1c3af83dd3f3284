"""The demo's best interests: every approved child return rests on a determination recommending it, one child has a
determination against return, and a panel waits for the demo supervisor's signature (their home page shows it)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from casemgmt.bestinterests import demo, queries
from casemgmt.bestinterests.models import BestInterestsDetermination
from casemgmt.cases import age
from casemgmt.cases import operations as cases
from casemgmt.extensions import db
from casemgmt.returns import demo as returns_demo
from casemgmt.returns import queries as returns
from casemgmt.returns.models import APPROVED_OR_LATER, ReturnPlan
from tests import factories
from tests.bestinterests.support import CHILD_DOB
from tests.conftest import Web, make_test_app, new_client

PASSPHRASE = "quartz-meadow-lantern-orbit-71"


def _people(w) -> dict:
    return {"caseworker": w.caseworker, "supervisor": w.supervisor, "hotline": w.hotline,
            "caseworker2": w.caseworker2, "supervisor2": w.supervisor2, "mission": w.mission}


def test_populate_and_finish(ctx, world):
    people, rng = _people(world), random.Random(3)
    going = factories.case(world.caseworker, date_of_birth=CHILD_DOB, assigned_to_id=world.caseworker.id)
    assert demo.prepare(going, "return", people, rng) and returns_demo.prepare(going, "return", people, rng)
    cases.change_stage(world.caseworker, going, "return", None)
    demo.populate(going, people, rng)  # nothing more: it has its determination
    standing = queries.latest_determined(going.id)
    assert standing.recommendation == "return_to_family"
    assert {(m.user_id, m.vote) for m in standing.panel} == {(world.caseworker.id, "concur"),
                                                             (world.supervisor.id, "concur")}
    assert returns.current_plan(going.id).status == "approved" and returns.current_plan(going.id).accompanied
    staying = [factories.case(world.caseworker, date_of_birth=CHILD_DOB) for _ in range(2)]
    demo.finish(people, rng)
    recommendations = {queries.latest_determined(c.id).recommendation if queries.latest_determined(c.id) else None
                       for c in staying}
    assert recommendations == {"against_return", None}
    (waiting,) = db.session.scalars(select(BestInterestsDetermination)
                                    .where(BestInterestsDetermination.status == "convened"))
    assert waiting.pending_member_ids == {world.supervisor.id}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    app = make_test_app(tmp_path_factory.mktemp("bidemo"), None)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--password", PASSPHRASE], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_demo_keeps_every_child_return_behind_a_determination(built):
    with built.test_request_context():
        plans = list(db.session.scalars(select(ReturnPlan).where(ReturnPlan.status.in_(APPROVED_OR_LATER))))
        children = [p for p in plans if age.is_child(p.case, p.departed_on or returns.escort_day(p))]
        assert children, "the demo has no child's return"
        assert all(queries.recommends(p.case_id, "return") and p.accompanied for p in children)
        standing = {d.recommendation for d in db.session.scalars(
            select(BestInterestsDetermination).where(BestInterestsDetermination.status == "determined"))}
        assert {"return_to_family", "against_return"} <= standing
        waiting = list(db.session.scalars(select(BestInterestsDetermination)
                                          .where(BestInterestsDetermination.status == "convened")))
        assert waiting and waiting[0].id
        waiting_id = waiting[0].id
    web = Web(new_client(built))
    web.login("supervisor", PASSPHRASE)
    home = web.get("/").get_data(as_text=True)
    assert f"/best-interests/determinations/{waiting_id}" in home
