"""Correcting and deleting placements (issue 12, item 6): a deleted placement frees its bed at once (a full facility
takes someone again), a corrected stay still obeys the rules of a stay (no overlap, the facility's age group), and a
discharged stay's end can be corrected, never removed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casemgmt.extensions import db
from casemgmt.shelter import corrections, operations
from tests import factories
from tests.shelter.support import TODAY, admit, facility


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def test_deleting_a_placement_recorded_by_mistake_lets_the_full_facility_take_someone(ctx, w):
    caseworker = db.session.merge(w.caseworker)
    place = facility(db.session.merge(w.supervisor), beds=1, takes="both")
    wrong = admit(caseworker, factories.case(caseworker), place.id)
    waiting = factories.case(caseworker)
    with pytest.raises(operations.PlacementError, match="is full"):
        operations.admit(caseworker, waiting, place.id, TODAY)
    db.session.rollback()
    corrections.delete_placement(caseworker, wrong, "Admitted the wrong person.", wrong.version)
    db.session.commit()
    admitted = operations.admit(caseworker, waiting, place.id, TODAY)
    db.session.commit()
    assert admitted.is_open and operations.open_count(place.id) == 1


def test_a_corrected_stay_may_not_overlap_another(ctx, w):
    caseworker = db.session.merge(w.caseworker)
    place = facility(db.session.merge(w.supervisor), beds=3, takes="both")
    case = factories.case(caseworker)
    earlier = operations.record_past_placement(caseworker, case, place.id, TODAY - _days(60), TODAY - _days(30),
                                               "other_facility")
    current = admit(caseworker, case, place.id, TODAY - _days(10))
    values = {**corrections.snapshot(current), "admitted_on": TODAY - _days(40)}
    with pytest.raises(operations.PlacementError, match="overlap another placement"):
        corrections.correct_placement(caseworker, current, values, current.version)
    db.session.rollback()
    # The earlier stay's end can move, but an end there must be: the discharge is not undone by a correction.
    values = {**corrections.snapshot(earlier), "discharged_on": None}
    with pytest.raises(operations.PlacementError, match="Give the discharge date"):
        corrections.correct_placement(caseworker, earlier, values, earlier.version)
    db.session.rollback()
    values = {**corrections.snapshot(earlier), "discharged_on": TODAY - _days(20)}
    assert corrections.correct_placement(caseworker, earlier, values, earlier.version, "Left later.") == [
        "discharged_on"]
    db.session.commit()


def test_a_corrected_stay_follows_the_facility_s_age_group(ctx, w):
    caseworker = db.session.merge(w.caseworker)
    supervisor = db.session.merge(w.supervisor)
    both = facility(supervisor, "Casa Abierta", beds=2, takes="both")
    children = facility(supervisor, "Casa Niñez", beds=2, takes="children")
    stay = admit(caseworker, factories.case(caseworker), both.id)  # an adult (born 1999)
    values = {**corrections.snapshot(stay), "facility_id": children.id}
    with pytest.raises(operations.PlacementError, match="takes children only"):
        corrections.correct_placement(caseworker, stay, values, stay.version)
