"""The stay branch of the stage machine: intake -> stay, stay -> return and return -> stay with a reason, and the
stay's guard (no stay while a return plan is approved or under way)."""

from __future__ import annotations

import pytest

from casemgmt.cases import operations as cases
from casemgmt.cases.operations import CaseError
from casemgmt.extensions import db
from casemgmt.returns import operations as returns
from tests import factories
from tests.conftest import Web, new_client
from tests.returns.support import approved_plan

REASON = "She was granted Continued Presence and wants to stay near her children's school."


def test_intake_to_stay_and_back_to_a_return_with_reasons(world):
    case = factories.case(world.caseworker)
    cases.change_stage(world.caseworker, case, "stay", None)
    assert case.stage == "stay"
    plan = approved_plan(world, case)  # the person changes her mind: a return is planned and approved
    with pytest.raises(CaseError, match="Say why"):
        cases.change_stage(world.caseworker, case, "return", None)
    cases.change_stage(world.caseworker, case, "return", "She wants to go home to her mother after all.")
    assert case.stage == "return"
    # Back to staying: the approved plan stands in the way until it is cancelled, and the move needs a reason.
    with pytest.raises(CaseError, match="The return plan is approved: cancel it before the person stays"):
        cases.change_stage(world.caseworker, case, "stay", REASON)
    returns.cancel_plan(world.caseworker, plan, "She decided to stay.")
    with pytest.raises(CaseError, match="Say why"):
        cases.change_stage(world.caseworker, case, "stay", "")
    cases.change_stage(world.caseworker, case, "stay", REASON)
    assert case.stage == "stay"


def test_no_stay_while_a_return_is_approved_or_under_way(world):
    case = factories.case(world.caseworker)
    cases.change_stage(world.caseworker, case, "shelter", None)
    plan = approved_plan(world, case)
    with pytest.raises(CaseError, match="The return plan is approved"):
        cases.change_stage(world.caseworker, case, "stay", None)
    plan.status = "departed"
    db.session.flush()
    with pytest.raises(CaseError, match="has departed on the return plan"):
        cases.change_stage(world.caseworker, case, "stay", None)
    # A draft plan is no decision yet: the person may stay.
    other = factories.case(world.caseworker)
    returns.create_plan(world.caseworker, other, {"receiving_organisation_id": world.mission_org.id,
                                                  "destination_country": "HT"})
    cases.change_stage(world.caseworker, other, "stay", None)
    assert other.stage == "stay"


def test_the_case_page_offers_the_stay_and_says_what_blocks_it(app, w):
    with app.app_context():
        free = factories.case(w.caseworker)
        blocked = factories.case(w.caseworker)
        approved_plan(w, blocked)
        db.session.commit()
        free_id, blocked_id = free.id, blocked.id
    web = Web(new_client(app))
    web.login("caseworker")
    page = web.get(f"/cases/{free_id}").get_data(as_text=True)
    assert 'value="stay"' in page and "Staying in destination country" in page
    page = web.get(f"/cases/{blocked_id}").get_data(as_text=True)
    assert "The return plan is approved: cancel it before the person stays." in page
    moved = web.post(f"/cases/{free_id}/stage", {"to_stage": "stay", "reason": ""})
    assert moved.status_code == 302
    assert "Stay and status" in web.get(f"/cases/{free_id}/stay").get_data(as_text=True)
