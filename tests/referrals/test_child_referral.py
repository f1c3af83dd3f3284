"""The "minor" basis for sharing without consent follows the age on the referral's date, not a box (issue 12)."""

from __future__ import annotations

import pytest

from casemgmt.referrals import operations
from tests import factories
from tests.age.support import BIRTHDAY, BORN, DAY, TODAY, eighteen_on


@pytest.mark.parametrize(("day", "minor"), [(BIRTHDAY - DAY, True), (BIRTHDAY, False)])
def test_a_minor_on_the_day_by_the_date_of_birth(ctx, world, day, minor):
    case = factories.case(world.caseworker, date_of_birth=BORN, unaccompanied_or_separated=False)
    assert operations.is_minor(case, day) is minor
    assert ("minor" in operations.refused_bases(case, day)) is not minor


def test_today_decides_when_no_day_is_given(ctx, world):
    turning_tomorrow = factories.case(world.caseworker, date_of_birth=eighteen_on(TODAY + DAY))
    turned_today = factories.case(world.caseworker, given_name="Otra", date_of_birth=eighteen_on(TODAY))
    assert "minor" not in operations.refused_bases(turning_tomorrow)
    assert "does not show this person as a child" in operations.refused_bases(turned_today)["minor"]


@pytest.mark.parametrize(("values", "minor"), [
    ({"date_of_birth": None, "estimated_age": 15}, True),
    ({"date_of_birth": None, "estimated_age": 25}, False),
    ({"date_of_birth": None, "birth_year": TODAY.year - 16}, True),
    ({"date_of_birth": None}, False),
    ({"unaccompanied_or_separated": True}, False),  # the box alone (born 1999) makes no child
])
def test_an_estimate_or_a_year_counts_and_a_box_alone_does_not(ctx, world, values, minor):
    case = factories.case(world.caseworker, **values)
    assert operations.is_minor(case) is minor
