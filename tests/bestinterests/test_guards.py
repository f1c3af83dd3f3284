"""A child's durable steps need a determination that recommends them: the stage guards ("return", "stay") and the
return plan's submission, approval and departure (through the returns feature's hook). Adults are unaffected; the
age that counts is the one on the day of the return."""

from __future__ import annotations

import pytest

from casemgmt.bestinterests import guards
from casemgmt.cases import operations as cases
from casemgmt.cases import stages
from casemgmt.extensions import db
from casemgmt.returns import guards as return_guards
from casemgmt.returns import operations as returns
from casemgmt.returns.operations import ReturnError
from tests import factories
from tests.age.support import eighteen_on
from tests.bestinterests.support import DAYS, TODAY, child_case, determined
from tests.returns.support import ITINERARY, complete_plan, consent

NONE_YET = "A child returns only after a best-interests determination by a panel recommends return: none has been"
NOT_THIS = "the latest determination for this child does not recommend it"


def test_a_child_moves_to_return_only_with_a_determination_recommending_it(ctx, world):
    case = child_case(world)
    consent(case, world.caseworker)
    assert guards.check_return in stages.GUARDS["return"]
    assert guards.check_return(case).startswith(NONE_YET)
    determined(world, case, "against_return")
    assert NOT_THIS in guards.check_return(case)
    determined(world, case, "return_to_family")  # the newest determination stands
    assert guards.check_return(case) is None
    # And the other way: a later determination against return replaces one that recommended it.
    determined(world, case, "against_return")
    assert NOT_THIS in guards.check_return(case)


def test_an_adult_is_unaffected(ctx, world):
    adult = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
    assert guards.check_return(adult) is None and guards.check_stay(adult) is None
    cases.change_stage(world.caseworker, adult, "stay", None)
    assert adult.stage == "stay"


def test_a_child_stays_only_with_a_determination_recommending_it(ctx, world):
    case = child_case(world)
    with pytest.raises(cases.CaseError, match="stays in the destination country only after"):
        cases.change_stage(world.caseworker, case, "stay", None)
    db.session.rollback()
    determined(world, case, "return_to_family", "return")
    assert NOT_THIS in guards.check_stay(case)
    determined(world, case, "local_integration", "stay")
    cases.change_stage(world.caseworker, case, "stay", None)
    assert case.stage == "stay"


def test_a_childs_plan_is_not_submitted_or_approved_without_a_recommending_determination(ctx, world):
    case = child_case(world)
    consent(case, world.caseworker)
    plan = complete_plan(world.caseworker, case, world.mission_org)
    db.session.commit()
    assert any(s.startswith(NONE_YET) for s in return_guards.missing_for_submission(plan))
    with pytest.raises(ReturnError, match="none has been determined for this child"):
        returns.submit_plan(world.caseworker, plan)
    db.session.rollback()
    determined(world, case, "return_to_family")
    returns.submit_plan(world.caseworker, plan)
    db.session.commit()
    # A determination against return made after the submission: the approval is refused.
    determined(world, case, "against_return")
    with pytest.raises(ReturnError, match=NOT_THIS):
        returns.approve_plan(world.supervisor, plan)
    db.session.rollback()
    determined(world, case, "return_to_family")
    returns.approve_plan(world.supervisor, plan)
    assert plan.status == "approved" and return_guards.missing_for_departure(plan) == []


def test_the_age_on_the_day_of_the_return_decides(ctx, world):
    """A person who turns 18 two days from now and is to depart in three: no determination is needed for that return
    (like the escort rule), but a departure today, while still a child, would need one."""
    case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id,
                          date_of_birth=eighteen_on(TODAY + 2 * DAYS))
    consent(case, world.caseworker)
    plan = complete_plan(world.caseworker, case, world.mission_org, skip=("itinerary",))
    returns.record_itinerary(world.caseworker, plan, {**ITINERARY, "planned_departure_on": TODAY + 3 * DAYS,
                                                      "escort_required": False, "escort_name": None})
    returns.submit_plan(world.caseworker, plan)
    returns.approve_plan(world.supervisor, plan)
    assert guards.check_plan(plan, case, TODAY + 3 * DAYS) is None
    today = return_guards.missing_for_departure(plan, TODAY)
    assert any(s.startswith(NONE_YET) for s in today)
    assert not any(s.startswith(NONE_YET) for s in return_guards.missing_for_departure(plan, TODAY + 3 * DAYS))


def test_an_age_recorded_after_the_approval_stops_the_departure(ctx, world):
    adult = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
    consent(adult, world.caseworker)
    plan = complete_plan(world.caseworker, adult, world.mission_org)
    returns.submit_plan(world.caseworker, plan)
    returns.approve_plan(world.supervisor, plan)
    db.session.commit()
    cases.update_case(world.caseworker, adult, {"date_of_birth": TODAY.replace(year=TODAY.year - 16)},
                      adult.version)
    assert any(s.startswith(NONE_YET) for s in return_guards.missing_for_departure(plan))
    db.session.commit()
    # The operation refuses too, whatever is posted: the page's missing form is not the only guard.
    with pytest.raises(ReturnError, match="none has been determined for this child"):
        returns.confirm_departure(world.caseworker, plan, TODAY)
    db.session.rollback()
    determined(world, adult, "return_to_family")
    returns.confirm_departure(world.caseworker, plan, TODAY)
    assert plan.status == "departed"


def test_the_return_page_shows_the_sentence_instead_of_the_buttons(app, web, w):
    with app.app_context():
        case = child_case(w)
        consent(case, w.caseworker)
        complete_plan(w.caseworker, case, w.mission_org)
        db.session.commit()
        case_id = case.id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert NONE_YET in page and "Submit for approval" not in page
    page = web.get(f"/cases/{case_id}/best-interests").get_data(as_text=True)
    assert "A return needs a determination recommending return." in page and "None has been determined yet." in page
    with app.app_context():
        determined(w, db.session.get(type(case), case_id), "return_to_family")
    page = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert NONE_YET not in page and "Submit for approval" in page
    page = web.get(f"/cases/{case_id}/best-interests").get_data(as_text=True)
    assert "The determination of" in page and "recommends it." in page
