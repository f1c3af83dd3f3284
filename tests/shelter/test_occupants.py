"""The facility page: occupancy, and who is there, named only for the cases the viewer may open."""

from __future__ import annotations

from casemgmt.extensions import db
from tests import factories
from tests.auth.support import events
from tests.shelter.support import admit, facility


def test_occupants_are_named_only_for_cases_the_viewer_may_open(app, web, w):
    with app.app_context():
        place = facility(w.supervisor, "Casa Refugio", beds=5)
        theirs = factories.case(w.caseworker, given_name="Lucía", family_name="Ramos")
        mine = factories.case(w.caseworker_b, given_name="Ana", family_name="Flores",
                              assigned_to_id=w.caseworker_b.id)
        admit(w.caseworker, theirs, place.id)
        admit(w.caseworker_b, mine, place.id)
        ids = {"place": place.id, "theirs": theirs.reference, "mine": mine.reference}
    web.login("caseworkerb")
    page = web.get(f"/shelter/facilities/{ids['place']}").get_data(as_text=True)
    assert "2 of 5 beds taken" in page
    assert "Ana Flores" in page and ids["mine"] in page
    assert "Lucía" not in page and "Ramos" not in page and ids["theirs"] not in page
    assert "1 person (another caseworker's case)" in page.replace("&#39;", "'")
    web.logout()
    web.login("supervisor")
    page = web.get(f"/shelter/facilities/{ids['place']}").get_data(as_text=True)
    assert "Ana Flores" in page and "Lucía Ramos" in page and "another caseworker" not in page
    with app.app_context():
        viewed = events("facility.view_occupants")
        assert [(e.actor_name, e.details) for e in viewed] == [
            ("caseworkerb", '{"identified":1,"occupants":2}'),
            ("supervisor", '{"identified":2,"occupants":2}'),
        ]
        assert all(e.object_id == str(ids["place"]) for e in viewed)


def test_discharged_people_are_not_counted_and_an_empty_facility_says_so(app, web, w):
    with app.app_context():
        from casemgmt.shelter import operations

        place = facility(w.supervisor, beds=1)
        placement = admit(w.caseworker, factories.case(w.caseworker), place.id)
        operations.discharge(w.caseworker, placement, placement.admitted_on, "returned_home")
        db.session.commit()
        place_id = place.id
    web.login("caseworker")
    page = web.get(f"/shelter/facilities/{place_id}").get_data(as_text=True)
    assert "0 of 1 beds taken" in page and "Nobody is placed here now." in page
    assert "María José" not in page
