"""Facilities say whom they take; an admission (or an earlier stay) follows the person's age on its date: a child in
an adults-only facility and an adult in a children-only one are refused, and the form offers neither (issue 12)."""

from __future__ import annotations

import re

import pytest

from casemgmt.shelter import operations
from tests import factories
from tests.age.support import BIRTHDAY, BORN, DAY, TODAY, eighteen_on
from tests.shelter.support import facility, placements

ADULTS_ONLY = re.escape("takes adults only, and this person is a child (under 18) on")
CHILDREN_ONLY = "takes children only, and this person is 18 or older on"


@pytest.mark.parametrize(("admitted_on", "refusal"), [(BIRTHDAY - DAY, ADULTS_ONLY), (BIRTHDAY, None)])
def test_an_adults_only_facility_at_the_18th_birthday(app, ctx, admitted_on, refusal):
    w = factories.world()
    adults = facility(w.supervisor, "Casa Refugio", takes="adults")
    case = factories.case(w.caseworker, date_of_birth=BORN)
    if refusal:
        with pytest.raises(operations.PlacementError, match=refusal):
            operations.admit(w.caseworker, case, adults.id, admitted_on)
        assert placements() == []
    else:
        operations.admit(w.caseworker, case, adults.id, admitted_on)
        assert len(placements()) == 1


@pytest.mark.parametrize(("admitted_on", "refusal"), [(BIRTHDAY - DAY, None), (BIRTHDAY, CHILDREN_ONLY)])
def test_a_children_only_facility_at_the_18th_birthday(app, ctx, admitted_on, refusal):
    w = factories.world()
    children = facility(w.supervisor, "Hogar Santa Rosa", takes="children")
    case = factories.case(w.caseworker, date_of_birth=BORN)
    if refusal:
        with pytest.raises(operations.PlacementError, match=refusal):
            operations.admit(w.caseworker, case, children.id, admitted_on)
    else:
        operations.admit(w.caseworker, case, children.id, admitted_on)
        assert len(placements()) == 1


def test_a_children_only_facility_refuses_a_person_whose_age_is_not_recorded(app, ctx):
    w = factories.world()
    children = facility(w.supervisor, "Hogar Santa Rosa", takes="children")
    case = factories.case(w.caseworker, date_of_birth=None)
    unknown = re.escape("this person's age is not recorded. Record the date of birth")
    with pytest.raises(operations.PlacementError, match=unknown):
        operations.admit(w.caseworker, case, children.id, TODAY)


@pytest.mark.parametrize("values", [
    {"date_of_birth": None, "estimated_age": 17},
    {"date_of_birth": None, "birth_year": TODAY.year - 17},
    {"date_of_birth": None, "age_band": "9-17"},
])
def test_an_estimate_a_year_or_a_band_of_a_child_is_a_child(app, ctx, values):
    w = factories.world()
    adults = facility(w.supervisor, "Casa Refugio", takes="adults")
    both = facility(w.supervisor, "Hogar Santa Rosa", takes="both")
    case = factories.case(w.caseworker, **values)
    with pytest.raises(operations.PlacementError, match=ADULTS_ONLY):
        operations.admit(w.caseworker, case, adults.id, TODAY)
    operations.admit(w.caseworker, case, both.id, TODAY)


@pytest.mark.parametrize(("admitted_on", "refused"), [(BIRTHDAY - 20 * DAY, True), (BIRTHDAY, False)])
def test_an_earlier_stay_follows_the_age_on_its_admission_date(app, ctx, admitted_on, refused):
    w = factories.world()
    adults = facility(w.supervisor, "Casa Refugio", takes="adults")
    case = factories.case(w.caseworker, date_of_birth=BORN)
    left = min(admitted_on + 5 * DAY, TODAY)
    if refused:
        with pytest.raises(operations.PlacementError, match=ADULTS_ONLY):
            operations.record_past_placement(w.caseworker, case, adults.id, admitted_on, left, "independent_living")
    else:
        operations.record_past_placement(w.caseworker, case, adults.id, admitted_on, left, "independent_living")
        assert len(placements()) == 1


def test_the_admission_form_offers_only_what_takes_the_person_today(app, web, w):
    with app.app_context():
        facility(w.supervisor, "Casa Refugio", takes="adults")
        facility(w.supervisor, "Hogar Santa Rosa", takes="children")
        facility(w.supervisor, "Casa Abierta", takes="both")
        child = factories.case(w.caseworker, date_of_birth=eighteen_on(TODAY + DAY)).id
        adult = factories.case(w.caseworker, given_name="Otra", date_of_birth=eighteen_on(TODAY)).id
    web.login("caseworker")
    page = web.get(f"/cases/{child}/shelter").get_data(as_text=True)
    offered = page[page.index('id="facility_id"'):page.index("</select>", page.index('id="facility_id"'))]
    assert "Hogar Santa Rosa: 2 of 2 beds free · children only" in offered and "Casa Abierta" in offered
    assert "Casa Refugio" not in offered
    assert "Casa Refugio takes adults only, and this person is a child (under 18)" in page
    # The earlier-stay form offers every facility, each marked with whom it takes (the dates decide).
    assert "Casa Refugio · adults only" in page and "Hogar Santa Rosa · children only" in page
    page = web.get(f"/cases/{adult}/shelter").get_data(as_text=True)
    offered = page[page.index('id="facility_id"'):page.index("</select>", page.index('id="facility_id"'))]
    assert "Casa Refugio: 2 of 2 beds free · adults only" in offered and "Hogar Santa Rosa" not in offered
    assert "Hogar Santa Rosa takes children only, and this person is 18 or older" in page


def test_when_no_facility_takes_the_person_the_page_says_so(app, web, w):
    with app.app_context():
        facility(w.supervisor, "Casa Refugio", takes="adults")
        child = factories.case(w.caseworker, date_of_birth=eighteen_on(TODAY + 100 * DAY)).id
    web.login("caseworker")
    page = web.get(f"/cases/{child}/shelter").get_data(as_text=True)
    assert 'id="facility_id"' not in page and "No facility of the organisation takes this person now" in page


def test_the_facility_pages_say_whom_it_takes(app, web, w):
    with app.app_context():
        place = facility(w.supervisor, "Hogar Santa Rosa", takes="children").id
    web.login("supervisor")
    assert "Children only" in web.get("/shelter/facilities").get_data(as_text=True)
    assert "Children only" in web.get(f"/shelter/facilities/{place}").get_data(as_text=True)
