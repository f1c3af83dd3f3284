"""The panel rule (bestinterests/panel.py): at least two different people of the organisation who may open the case,
and at least one of them neither the case's caseworker nor the proposer. A determination rests on an assessment and
is for children only."""

from __future__ import annotations

import pytest

from casemgmt.bestinterests import operations
from casemgmt.bestinterests.operations import BestInterestsError
from tests import factories
from tests.bestinterests.support import CHILD_DOB, assessment, child_case, convene, events


def _convene(world, case, panel, proposer=None):
    return convene(world, case, proposer=proposer or world.caseworker, panel=[u.id for u in panel])


def test_one_person_is_no_panel(ctx, world):
    case = child_case(world)
    with pytest.raises(BestInterestsError, match="at least 2 different people"):
        _convene(world, case, [world.supervisor])
    with pytest.raises(BestInterestsError, match="at least 2 different people"):
        _convene(world, case, [world.caseworker])


def test_the_caseworker_with_themselves_is_refused(ctx, world):
    case = child_case(world)
    with pytest.raises(BestInterestsError, match="Name each member of the panel once"):
        _convene(world, case, [world.caseworker, world.caseworker])


def test_the_caseworker_and_the_proposer_alone_are_refused(ctx, world):
    """A supervisor proposing with the case's caseworker: nobody on the panel stands apart from the case."""
    case = child_case(world)
    with pytest.raises(BestInterestsError, match="not the case's caseworker alone"):
        _convene(world, case, [world.supervisor, world.caseworker], proposer=world.supervisor)


def test_the_caseworker_and_a_supervisor_are_accepted(ctx, world):
    case = child_case(world)
    made = _convene(world, case, [world.caseworker, world.supervisor])
    assert made.status == "convened"
    assert made.member_ids == {world.caseworker.id, world.supervisor.id} == made.pending_member_ids
    (event,) = events("bid.convene")
    assert event.object_id == made.id and '"panel":2' in event.details


def test_members_are_people_of_the_organisation_who_may_open_the_case(ctx, world):
    case = child_case(world)
    # Another caseworker, not on this case, may not open it; another organisation's supervisor even less.
    for outsider in (world.caseworker_b, world.supervisor2, world.admin, world.hotline):
        with pytest.raises(BestInterestsError, match="Every member of the panel"):
            _convene(world, case, [world.caseworker, world.supervisor, outsider])


def test_a_determination_rests_on_an_assessment(ctx, world):
    case = child_case(world)
    with pytest.raises(BestInterestsError, match="record one first"):
        operations.convene(world.caseworker, case, {
            "assessment_id": None, "decision": "return", "recommendation": "return_to_family", "reasons": "x",
            "panel": [world.caseworker.id, world.supervisor.id]})


def test_the_procedure_is_for_children(ctx, world):
    adult = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
    with pytest.raises(BestInterestsError, match="procedure is for children"):
        assessment(world.caseworker, adult)
    unknown = factories.case(world.caseworker, assigned_to_id=world.caseworker.id, date_of_birth=None)
    unknown.person.age_basis = "child_unknown"  # recorded as a child, age not known: counts as a child
    assert assessment(world.caseworker, unknown).case_id == unknown.id
    assert child_case(world, date_of_birth=CHILD_DOB)
