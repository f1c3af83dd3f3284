"""A family member recorded as possibly involved in the trafficking never travels with the person on a return: named
as the plan's travelling guardian (free text), the plan is not submitted, approved or departed, and the return page
says why instead of offering the buttons (families.guards)."""

from __future__ import annotations

import pytest

from casemgmt.extensions import db
from casemgmt.families import operations as families
from casemgmt.returns import guards as return_guards
from casemgmt.returns import operations as returns
from casemgmt.returns.operations import ReturnError
from tests import factories
from tests.bestinterests.support import determined
from tests.families.support import AUNT, CHILD_DOB, FATHER
from tests.returns.support import ITINERARY, TODAY, complete_plan, consent

INVOLVED = "named to travel with the person, is recorded on the family page as possibly involved"


def _child_plan(world, guardian: str, relationship: str = "parent"):
    case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id, date_of_birth=CHILD_DOB,
                          unaccompanied_or_separated=True)
    consent(case, world.caseworker)
    families.add_member(world.caseworker, case, FATHER)
    families.add_member(world.caseworker, case, AUNT)
    determined(world, case, "return_to_family")
    plan = complete_plan(world.caseworker, case, world.mission_org, skip=("itinerary",))
    returns.record_itinerary(world.caseworker, plan, {**ITINERARY, "escort_required": False, "escort_name": None,
                                                      "guardian_name": guardian, "guardian_relationship": relationship})
    db.session.commit()
    return case, plan


@pytest.mark.parametrize("typed", ["Wilfrid Baptiste", "  BAPTISTE, wilfríd ", "Wilfrid Jean Baptiste"])
def test_a_possibly_involved_father_never_travels_with_the_child(ctx, world, typed):
    _case, plan = _child_plan(world, typed)
    assert any(INVOLVED in s for s in return_guards.missing_for_submission(plan))
    with pytest.raises(ReturnError, match="possibly involved"):
        returns.submit_plan(world.caseworker, plan)
    db.session.rollback()
    # Approved before the family record said so (the status is set: the approval itself is refused above), the
    # departure is refused too.
    plan.status, plan.approved_by_id = "approved", world.supervisor.id
    plan.approved_at = plan.created_at
    db.session.commit()
    assert any(INVOLVED in s for s in return_guards.missing_for_departure(plan, TODAY))
    with pytest.raises(ReturnError, match="possibly involved"):
        returns.confirm_departure(world.caseworker, plan, TODAY)


def test_the_aunt_who_may_be_told_travels_and_a_namesake_part_is_not_enough(ctx, world):
    _case, plan = _child_plan(world, "Mireille Joseph", "legal_guardian")
    assert not any(INVOLVED in s for s in return_guards.missing_for_submission(plan))
    returns.submit_plan(world.caseworker, plan)
    returns.approve_plan(world.supervisor, plan)
    assert plan.status == "approved"
    # Sharing one name part with the father ("Baptiste") is not being him.
    _case2, other = _child_plan(world, "Marie Baptiste")
    assert not any(INVOLVED in s for s in return_guards.missing_for_submission(other))
