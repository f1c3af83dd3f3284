"""A placement can be recorded in the past from a page (issue 12, item 6): the shelter tab offers a form for a stay
that has already ended; it is refused when it overlaps another stay or its dates are not in the past."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casemgmt.accounts.models import User
from casemgmt.extensions import db
from casemgmt.shelter import operations
from tests import factories
from tests.shelter import support
from tests.shelter.support import TODAY

FORM_TITLE = "Record an earlier stay"


def _setup(app, w, open_stay: bool = False) -> tuple[str, int, int]:
    """A case of the caseworker, the organisation's facility, another organisation's facility."""
    with app.app_context():
        place = support.facility(db.session.get(User, w.supervisor.id))
        foreign = support.facility(db.session.get(User, w.supervisor2.id), name="Casa Lejana")
        case = factories.case(db.session.get(User, w.caseworker.id))
        db.session.commit()
        if open_stay:
            support.admit(db.session.get(User, w.caseworker.id), case, place.id, TODAY - timedelta(days=5))
        return case.id, place.id, foreign.id


def _stay(facility_id, admitted, discharged, reason="returned_home", note=""):
    return {"past_facility_id": str(facility_id), "past_admitted_on": admitted.isoformat(),
            "past_discharged_on": discharged.isoformat(), "past_reason": reason, "past_note": note}


def test_the_shelter_tab_records_an_earlier_stay(app, web, w):
    case_id, place_id, _foreign = _setup(app, w)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/shelter").get_data(as_text=True)
    assert FORM_TITLE in page and f"/cases/{case_id}/shelter/past" in page
    response = web.post(f"/cases/{case_id}/shelter/past",
                        _stay(place_id, TODAY - timedelta(days=60), TODAY - timedelta(days=30)), follow_redirects=True)
    assert response.status_code == 200 and "Earlier stay recorded." in response.get_data(as_text=True)
    with app.app_context():
        (stay,) = support.placements(case_id=case_id)
        assert (stay.facility_id, stay.admitted_on, stay.discharged_on) == (
            place_id, TODAY - timedelta(days=60), TODAY - timedelta(days=30))
        assert stay.discharge_reason == "returned_home" and not stay.is_open
        assert operations.open_count(place_id) == 0  # the stay is over: it holds no bed
        assert support.event_count("placement.record_past") == 1


def test_an_earlier_stay_before_the_current_one_is_accepted_and_an_overlapping_one_refused(app, web, w):
    case_id, place_id, _foreign = _setup(app, w, open_stay=True)
    web.login("caseworker")
    assert FORM_TITLE in web.get(f"/cases/{case_id}/shelter").get_data(as_text=True)
    overlapping = web.post(f"/cases/{case_id}/shelter/past",
                           _stay(place_id, TODAY - timedelta(days=20), TODAY - timedelta(days=2)))
    assert overlapping.status_code == 422
    assert "These dates overlap another placement of this person." in overlapping.get_data(as_text=True)
    with app.app_context():
        assert len(support.placements(case_id=case_id)) == 1
        assert support.event_count("placement.record_past") == 0
    before = web.post(f"/cases/{case_id}/shelter/past",
                      _stay(place_id, TODAY - timedelta(days=20), TODAY - timedelta(days=6)))
    assert before.status_code == 302
    with app.app_context():
        assert len(support.placements(case_id=case_id)) == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"past_admitted_on": (TODAY + timedelta(days=1)).isoformat()}, "This date is in the future."),
    ({"past_discharged_on": (TODAY + timedelta(days=1)).isoformat()}, "This date is in the future."),
    ({"past_discharged_on": (TODAY - timedelta(days=61)).isoformat()},
     "The discharge date cannot be before the admission date."),
    ({"past_admitted_on": "1800-01-01"}, "This date is too far in the past."),
    ({"past_reason": "other"}, "Say in the note why the person left."),
    ({"past_reason": ""}, "This field is required."),
    ({"past_facility_id": ""}, "This field is required."),
    ({"past_admitted_on": "2026-02-30"}, "Not a valid date value."),
])
def test_bad_input_is_refused_with_a_clear_error_and_nothing_written(app, web, w, change, message):
    case_id, place_id, _foreign = _setup(app, w)
    web.login("caseworker")
    data = {**_stay(place_id, TODAY - timedelta(days=60), TODAY - timedelta(days=30)), **change}
    response = web.post(f"/cases/{case_id}/shelter/past", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        assert support.placements(case_id=case_id) == []


def test_another_organisations_facility_is_not_offered_nor_accepted(app, web, w):
    case_id, _place_id, foreign_id = _setup(app, w)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/shelter").get_data(as_text=True)
    assert "Casa Lejana" not in page
    response = web.post(f"/cases/{case_id}/shelter/past",
                        _stay(foreign_id, TODAY - timedelta(days=60), TODAY - timedelta(days=30)))
    assert response.status_code == 422
    with app.app_context():
        assert support.placements(case_id=case_id) == []


def test_those_who_may_not_manage_placements_get_neither_form_nor_write(app, web, w):
    case_id, place_id, _foreign = _setup(app, w)
    for username in ("mission", "caseworkerb", "hotline"):
        web.login(username)
        assert FORM_TITLE not in web.get(f"/cases/{case_id}/shelter").get_data(as_text=True)
        response = web.post(f"/cases/{case_id}/shelter/past",
                            _stay(place_id, TODAY - timedelta(days=60), TODAY - timedelta(days=30)))
        assert response.status_code in (403, 404), username
        web.logout()
    with app.app_context():
        assert support.placements(case_id=case_id) == []
