"""A child on the day of departure travels with an escort or a named parent or legal guardian, whatever a box says:
at approval (the planned departure), at departure (its date), at the 18th birthday (issue 12)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from casemgmt.cases import operations as cases
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.returns import guards, operations, queries
from casemgmt.returns.operations import ReturnError
from tests import factories
from tests.age.support import BIRTHDAY, BORN, eighteen_on
from tests.bestinterests.support import determined
from tests.returns.support import DAYS, TODAY, complete_plan, consent

ALONE = {"planned_departure_on": None, "route_details": "Flight CM 431 via Panama", "escort_required": False}
NEEDS = "they travel with an escort or a parent or legal guardian"


def _approved_alone(w, case, planned=None):
    """A plan approved with no escort and no guardian (the approval of an adult's return), before its departure."""
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org, skip=("itinerary",))
    operations.record_itinerary(w.caseworker, plan, {**ALONE, "planned_departure_on": planned})
    plan.status, plan.approved_by_id = "approved", w.supervisor.id
    plan.approved_at = utcnow() - timedelta(days=(TODAY - BIRTHDAY).days + 5)
    return plan


@pytest.mark.parametrize(("departed", "refused"), [(BIRTHDAY - DAYS, True), (BIRTHDAY, False)])
def test_the_departure_date_decides_at_the_18th_birthday(world, departed, refused):
    w = world
    case = factories.case(w.caseworker, date_of_birth=BORN, unaccompanied_or_separated=False)
    plan = _approved_alone(w, case)
    if refused:
        with pytest.raises(ReturnError, match=NEEDS):
            operations.confirm_departure(w.caseworker, plan, departed)
        assert plan.status == "approved"
        # (A child that day also returns only after a best-interests determination: bestinterests.guards.)
        assert guards.missing_for_departure(plan, departed)[0] == queries.escort_missing_message(departed)
    else:
        operations.confirm_departure(w.caseworker, plan, departed)
        assert plan.status == "departed"


def test_a_parent_or_legal_guardian_travelling_along_is_enough_and_is_encrypted(world):
    w = world
    # A child today (16), whose return rests on a determination recommending it (bestinterests.guards).
    case = factories.case(w.caseworker, date_of_birth=TODAY.replace(year=TODAY.year - 16, day=1))
    determined(w, case, "return_to_family")
    plan = _approved_alone(w, case)
    plan.status = "draft"
    with pytest.raises(ReturnError, match="Give both the name of the parent or legal guardian"):
        operations.record_itinerary(w.caseworker, plan, {**ALONE, "guardian_name": "Mirlande Jean-Louis"})
    with pytest.raises(ReturnError, match="parent or a legal guardian"):
        operations.record_itinerary(w.caseworker, plan, {**ALONE, "guardian_name": "Mirlande Jean-Louis",
                                                         "guardian_relationship": "representative"})
    operations.record_itinerary(w.caseworker, plan, {**ALONE, "guardian_name": "Mirlande Jean-Louis",
                                                     "guardian_relationship": "parent"})
    assert plan.accompanied and not plan.has_escort
    plan.status = "approved"
    operations.confirm_departure(w.caseworker, plan, TODAY - DAYS)
    assert plan.status == "departed"
    db.session.flush()
    raw = db.session.execute(text("SELECT guardian_name, guardian_relationship FROM return_plans")).one()
    assert all(b"Mirlande" not in bytes(blob) and b"parent" not in bytes(blob) for blob in raw)
    assert queries.reveal(plan)["guardian_name"] == "Mirlande Jean-Louis"


def test_approval_follows_the_planned_departure(world):
    """A 17-year-old whose 18th birthday is in ten days: a departure planned after it needs no escort, one planned
    before it does; confirming the departure checks again on its own date."""
    w = world
    birthday = TODAY + 10 * DAYS
    case = factories.case(w.caseworker, date_of_birth=eighteen_on(birthday))
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org, skip=("itinerary",))
    operations.record_itinerary(w.caseworker, plan, {**ALONE, "planned_departure_on": birthday - DAYS})
    assert any(NEEDS in sentence for sentence in guards.missing_for_submission(plan))
    with pytest.raises(ReturnError, match=NEEDS):
        operations.submit_plan(w.caseworker, plan)
    assert any("is named (the person is a child on" in label and not met
               for label, met in queries.approval_checklist(plan, case))
    operations.record_itinerary(w.caseworker, plan, {**ALONE, "planned_departure_on": birthday})
    assert guards.missing_for_submission(plan) == []
    operations.submit_plan(w.caseworker, plan)
    operations.approve_plan(w.supervisor, plan)
    # She leaves earlier than planned, still a child: the departure is refused without an escort.
    with pytest.raises(ReturnError, match=NEEDS):
        operations.confirm_departure(w.caseworker, plan, TODAY)


def test_without_a_planned_date_approval_asks_about_today(world):
    w = world
    case = factories.case(w.caseworker, date_of_birth=eighteen_on(TODAY + DAYS))
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org, skip=("itinerary",))
    assert queries.needs_escort(case) and queries.escort_day(plan) == TODAY
    adult = factories.case(w.caseworker, given_name="Otra", date_of_birth=eighteen_on(TODAY))
    assert not queries.needs_escort(adult)


@pytest.mark.parametrize("values", [
    {"date_of_birth": None, "estimated_age": 16},
    {"date_of_birth": None, "birth_year": TODAY.year - 18},  # 17 or 18 this year: may still be a child
])
def test_an_estimate_or_a_year_of_birth_makes_the_return_a_childs(world, values):
    w = world
    case = factories.case(w.caseworker, **values)
    plan = _approved_alone(w, case)
    day = TODAY if TODAY.month < 12 or TODAY.day < 31 else TODAY - DAYS
    with pytest.raises(ReturnError, match=NEEDS):
        operations.confirm_departure(w.caseworker, plan, day)


def test_an_unaccompanied_or_separated_child_is_returned_only_after_family_tracing(world):
    w = world
    case = factories.case(w.caseworker, date_of_birth=BORN + 400 * DAYS, unaccompanied_or_separated=True)
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org)
    operations.record_family_assessment(w.caseworker, plan, {"family_outcome": "not_applicable",
                                                             "family_assessed_on": TODAY - DAYS})
    with pytest.raises(ReturnError, match="unaccompanied or separated child: the family must be traced"):
        operations.submit_plan(w.caseworker, plan)
    operations.record_family_assessment(w.caseworker, plan, {"family_outcome": "not_found",
                                                             "family_summary": "No relatives could be located.",
                                                             "family_assessed_on": TODAY - DAYS})
    determined(w, case, "return_to_family")  # a child's return also needs its best-interests determination
    operations.submit_plan(w.caseworker, plan)
    # The same fact adds nothing for an adult: the rule is a child's.
    grown = factories.case(w.caseworker, given_name="Otra", unaccompanied_or_separated=True)
    assert not queries.family_tracing_missing(plan, grown, TODAY)


def test_a_box_alone_no_longer_makes_a_child(world):
    w = world
    case = factories.case(w.caseworker, unaccompanied_or_separated=True)  # born 1999
    assert not queries.needs_escort(case)
    cases.update_case(w.caseworker, case, {"date_of_birth": BORN}, case.version)
    assert queries.needs_escort(case, BIRTHDAY - DAYS) and not queries.needs_escort(case, BIRTHDAY)


def test_the_page_says_a_child_needs_an_escort_or_a_guardian(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker, date_of_birth=eighteen_on(TODAY + 30 * DAYS))
        complete_plan(w.caseworker, case, w.mission_org, skip=("itinerary",))
        db.session.commit()
        case_id = case.id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert "This person is a child on the day of departure" in page
    assert "Parent or legal guardian travelling along (name)" in page
    assert NEEDS in page  # what the plan still lacks, instead of the "Submit" button
