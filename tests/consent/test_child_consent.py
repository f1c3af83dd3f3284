"""A child's consent: the child's assent and a guardian's consent, by the age on the day consent was obtained, at
the 18th birthday (issue 12)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casemgmt.consent import operations, queries
from casemgmt.consent.models import ConsentRecord
from casemgmt.extensions import db
from tests import factories
from tests.age.support import BIRTHDAY, BORN, DAY, TODAY

GUARDIAN = {"is_child_assent": True, "guardian_name": "María Quispe", "guardian_relationship": "parent"}


def _values(day, **more) -> dict:
    return {"obtained_on": day, "language": "es", "point_interview": True, **more}


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ConsentRecord))


def test_the_day_before_the_18th_birthday_consent_is_a_childs(ctx, world):
    case = factories.case(world.caseworker, date_of_birth=BORN)
    with pytest.raises(operations.ConsentError, match="is a child"):
        operations.record_consent(world.caseworker, case, _values(BIRTHDAY - DAY))
    with pytest.raises(operations.ConsentError, match="is a child"):
        operations.record_consent(world.caseworker, case, _values(BIRTHDAY - DAY, is_child_assent=True))
    assert _count() == 0
    record = operations.record_consent(world.caseworker, case, _values(BIRTHDAY - DAY, **GUARDIAN))
    assert record.is_child_assent and record.guardian_name is not None
    revealed = queries.revealed([record])[record.id]
    assert (revealed["guardian_name"], revealed["guardian_relationship"]) == ("María Quispe", "parent")


def test_on_the_18th_birthday_the_person_consents_alone(ctx, world):
    case = factories.case(world.caseworker, date_of_birth=BORN)
    with pytest.raises(operations.ConsentError, match="is 18 or older on"):
        operations.record_consent(world.caseworker, case, _values(BIRTHDAY, **GUARDIAN))
    record = operations.record_consent(world.caseworker, case, _values(BIRTHDAY))
    assert not record.is_child_assent and record.guardian_name is None


@pytest.mark.parametrize(("bad", "message"), [
    ({"guardian_name": "María Quispe"}, "Give both who consented for the child"),
    ({"guardian_relationship": "parent"}, "Give both who consented for the child"),
    ({"guardian_name": "María Quispe", "guardian_relationship": "aunt"}, "relationship to the child from the list"),
])
def test_the_guardian_is_named_with_a_relationship(ctx, world, bad, message):
    case = factories.case(world.caseworker, date_of_birth=BORN)
    with pytest.raises(operations.ConsentError, match=message):
        operations.record_consent(world.caseworker, case, _values(BIRTHDAY - DAY, is_child_assent=True, **bad))
    assert _count() == 0


def test_without_a_recorded_age_an_assent_needs_a_guardian_and_consent_alone_is_accepted(ctx, world):
    case = factories.case(world.caseworker, date_of_birth=None)
    with pytest.raises(operations.ConsentError, match="assent goes with the consent of a parent"):
        operations.record_consent(world.caseworker, case, _values(TODAY, is_child_assent=True))
    operations.record_consent(world.caseworker, case, _values(TODAY, **GUARDIAN))
    operations.record_consent(world.caseworker, case, _values(TODAY))
    assert _count() == 2


def test_the_form_asks_for_the_guardian_when_the_person_may_be_a_child_on_the_day(ctx, world):
    child = factories.case(world.caseworker, date_of_birth=BORN + 400 * DAY)
    grown = factories.case(world.caseworker, given_name="Otra", date_of_birth=BORN)
    unknown = factories.case(world.caseworker, given_name="Tercera", date_of_birth=None)
    assert queries.asks_for_guardian(child)
    assert queries.asks_for_guardian(unknown)
    # Registered today, 18 since ten days: a consent is dated today or, on the form, earlier.
    assert not queries.asks_for_guardian(grown)
    assert queries.asks_for_guardian(grown, BIRTHDAY - DAY)
