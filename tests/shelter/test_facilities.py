"""Facilities: supervisors manage them, their organisation's caseworkers see them, other organisations get 404."""

from __future__ import annotations

from sqlalchemy import select

from casemgmt.extensions import db
from casemgmt.shelter.models import Facility
from tests import factories
from tests.auth.support import events
from tests.shelter.support import admit, event_count, facility, facility_count

GOOD = {"name": "Casa Refugio Lima", "facility_type": "shelter", "bed_capacity": "12", "age_group": "both",
        "active": "y", "address": "Av. Arequipa 1450, Lima"}


def test_a_supervisor_creates_and_edits_a_facility_and_both_are_audited(app, web, w):
    web.login("supervisor")
    created = web.post("/shelter/facilities/new", GOOD)
    assert created.status_code == 302, created.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalars(select(Facility)).one()
        assert (row.organisation_id, row.bed_capacity, row.age_group, row.active) == (w.ngo.id, 12, "both", True)
        facility_id = row.id
        assert event_count("facility.create") == 1
    page = web.get(f"/shelter/facilities/{facility_id}").get_data(as_text=True)
    assert "Casa Refugio Lima" in page and "0 of 12 beds taken" in page
    edited = web.post(f"/shelter/facilities/{facility_id}/edit",
                      {**GOOD, "bed_capacity": "14", "active": "", "version": "1"})
    assert edited.status_code == 302
    with app.app_context():
        row = db.session.get(Facility, facility_id)
        assert (row.bed_capacity, row.active) == (14, False)
        details = [e.details for e in events("facility.update")]
        assert details == ['{"fields":["bed_capacity","active"]}']
    listing = web.get("/shelter/facilities").get_data(as_text=True)
    assert "Casa Refugio Lima" in listing and "0 of 14" in listing


BAD_INPUT = [
    ("name", "", "This field is required."),
    ("bed_capacity", "0", "At least one bed."),
    ("bed_capacity", "-3", "At least one bed."),
    ("bed_capacity", "many", "Not a valid integer value."),
    ("bed_capacity", "", "This field is required."),
    ("facility_type", "prison", "Not a valid choice."),
    ("facility_type", "", "This field is required."),
    ("name", "x" * 201, "Field cannot be longer than 200 characters."),
    ("age_group", "", "Say whom the facility takes: adults only, children only, or both."),
    ("age_group", "teenagers", "Not a valid choice."),
]


def test_bad_facility_input_is_refused_with_a_message_and_nothing_is_saved(app, web, w):
    web.login("supervisor")
    for field, value, message in BAD_INPUT:
        response = web.post("/shelter/facilities/new", {**GOOD, field: value})
        assert response.status_code == 422, (field, value)
        assert message in response.get_data(as_text=True), (field, value)
    with app.app_context():
        assert facility_count() == 0


def test_a_facility_name_is_unique_within_the_organisation(app, web, w):
    with app.app_context():
        facility(w.supervisor, "Casa Refugio Lima")
        facility(w.supervisor2, "Casa Refugio Lima")  # another organisation may use the same name
    web.login("supervisor")
    response = web.post("/shelter/facilities/new", {**GOOD, "name": "casa refugio lima"})
    assert response.status_code == 422
    assert "already has a facility with this name" in response.get_data(as_text=True)
    with app.app_context():
        assert facility_count() == 2


def test_capacity_cannot_drop_below_the_people_placed_there(app, web, w):
    with app.app_context():
        place = facility(w.supervisor, beds=3)
        for _ in range(2):
            admit(w.caseworker, factories.case(w.caseworker), place.id)
        facility_id = place.id
    web.login("supervisor")
    response = web.post(f"/shelter/facilities/{facility_id}/edit", {**GOOD, "bed_capacity": "1", "version": "1"})
    assert response.status_code == 422
    assert "2 people are placed in this facility now" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Facility, facility_id).bed_capacity == 3
        assert event_count("facility.update") == 0
    assert web.post(f"/shelter/facilities/{facility_id}/edit",
                    {**GOOD, "bed_capacity": "2", "version": "1"}).status_code == 302


def test_only_supervisors_manage_facilities_and_only_staff_of_the_organisation_see_them(app, web, w):
    with app.app_context():
        facility_id = facility(w.supervisor).id
    web.login("caseworker")
    assert web.get("/shelter/facilities").status_code == 200
    assert web.get(f"/shelter/facilities/{facility_id}").status_code == 200
    assert web.get("/shelter/facilities/new").status_code == 403
    assert web.get(f"/shelter/facilities/{facility_id}/edit").status_code == 403
    assert web.post("/shelter/facilities/new", GOOD).status_code == 403
    for username in ("hotline", "mission", "admin"):
        web.logout()
        web.login(username)
        assert web.get("/shelter/facilities").status_code == 403, username
        assert web.get(f"/shelter/facilities/{facility_id}").status_code in (403, 404), username
    with app.app_context():
        assert facility_count() == 1


def test_another_organisations_facility_answers_404(app, web, w):
    with app.app_context():
        facility_id = facility(w.supervisor).id
    web.login("supervisor2")
    assert web.get(f"/shelter/facilities/{facility_id}").status_code == 404
    assert web.get(f"/shelter/facilities/{facility_id}/edit").status_code == 404
    assert web.post(f"/shelter/facilities/{facility_id}/edit", GOOD).status_code == 404
    assert web.get("/shelter/facilities/999999").status_code == 404
    assert "Casa Refugio" not in web.get("/shelter/facilities").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Facility, facility_id).name == "Casa Refugio"
        assert event_count("facility.view_occupants") == 0
