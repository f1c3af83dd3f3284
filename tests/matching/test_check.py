"""The duplicate check through the real pages (issue 13): the new case form and a contact's "open a case" warn for
the issue's second registrations (accents, swapped surnames, day and month exchanged, a year only, a phone written
another way, a Creole spelling) with what agreed, in English and Spanish; a look-alike person of another age and a
twin are not warned about; "create anyway" creates."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from tests import factories
from tests.intake.conftest import contact


@pytest.fixture
def w(app):
    with app.app_context():
        return factories.detached_world()


@pytest.fixture
def known(app, w):
    with app.app_context():
        maria = factories.case(w.caseworker, given_name="María", family_name="Quispe Mamani", aliases=None,
                               date_of_birth=date(2010, 3, 14), phone="+51 987 654 321", document_number=None)
        rosa = factories.case(w.caseworker, given_name="Rosa", family_name="Huamán Ccori", aliases=None,
                              date_of_birth=date(2005, 4, 7), phone=None, document_number=None)
        jean = factories.case(w.caseworker, given_name="Jean-Baptiste", family_name="Pierre", aliases=None,
                              date_of_birth=date(1995, 6, 2), phone=None, document_number=None)
        return {"maria": maria.reference, "rosa": rosa.reference, "jean": jean.reference}


def _cases(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case))


def _new(web, **person):
    return web.post("/cases/new", {"status": "Active", **person})


@pytest.mark.parametrize("person, who, agreed", [
    ({"given_name": "Maria", "family_name": "Quispe Mamani", "date_of_birth": "2010-03-14"}, "maria",
     ["Name", "Date of birth"]),
    ({"given_name": "Maria", "family_name": "Mamani Quispe", "date_of_birth": "2010-03-14"}, "maria",
     ["Name", "Date of birth"]),                                      # surnames swapped
    ({"given_name": "Quispe Mamani", "family_name": "María", "date_of_birth": "2010-03-14"}, "maria",
     ["Name", "Date of birth"]),                                      # given and family names swapped
    ({"given_name": "Rosa", "family_name": "Huaman Ccori", "date_of_birth": "2005-07-04"}, "rosa",
     ["Name", "Date of birth (day and month exchanged)"]),
    ({"given_name": "María", "family_name": "Quispe Mamani", "birth_year": "2010"}, "maria",
     ["Name", "Year of birth"]),                                      # only the year is known
    ({"given_name": "Maria", "family_name": "Quispe", "phone": "987 654 321"}, "maria",
     ["Name (spelt differently or in another order)", "Phone"]),    # a surname dropped, the phone written locally
    ({"given_name": "Jan Batis", "family_name": "Pyè", "date_of_birth": "1995-06-02"}, "jean",
     ["Name (spelt differently or in another order)", "Date of birth"]),  # the Creole spelling
])
def test_the_new_case_form_warns_about_the_same_person(app, web, w, known, person, who, agreed):
    web.login("caseworker")
    response = _new(web, **person)
    page = response.get_data(as_text=True)
    assert response.status_code == 409, person
    assert "This person may already be known" in page and known[who] in page
    assert [ref for ref in known.values() if ref in page] == [known[who]]
    shown = page[page.index("matched-fields"):]
    shown = shown[:shown.index("</small>")]
    assert shown.split(": ", 1)[1].split(", ") == agreed
    assert "Create a new case anyway" in page
    assert _cases(app) == 3  # nothing created yet
    anyway = _new(web, **person, create_anyway="yes")
    assert anyway.status_code == 302 and _cases(app) == 4


@pytest.mark.parametrize("person", [
    # The same common name, born five years later or earlier: another person.
    {"given_name": "María", "family_name": "Quispe Mamani", "birth_year": "2015"},
    {"given_name": "María", "family_name": "Quispe Mamani", "date_of_birth": "2005-03-14"},
    # A twin: the same surnames and date of birth, another given name.
    {"given_name": "Juana", "family_name": "Quispe Mamani", "date_of_birth": "2010-03-14"},
    {"given_name": "Lucía", "family_name": "Huamán Ccori", "date_of_birth": "2005-04-07"},
])
def test_a_look_alike_or_a_twin_is_not_warned_about(app, web, w, known, person):
    web.login("caseworker")
    response = _new(web, **person)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _cases(app) == 4


def test_another_organisation_is_not_warned_and_learns_nothing(app, web, w, known):
    web.login("caseworker2")
    response = _new(web, given_name="Maria", family_name="Quispe Mamani", date_of_birth="2010-03-14",
                    phone="+51 987 654 321")
    assert response.status_code == 302
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert known["maria"] not in page and "may already be known" not in page


def test_the_warning_in_spanish(app, web, w, known):
    web.login("caseworker")
    assert web.post("/language", {"language": "es", "next": "/cases/new"}).status_code == 302
    response = _new(web, given_name="Maria", family_name="Mamani Quispe", date_of_birth="2010-03-14")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and 'lang="es"' in page and known["maria"] in page
    assert "Es posible que esta persona ya esté registrada" in page
    assert "Nombre" in page and "Fecha de nacimiento" in page
    assert "Crear un nuevo caso de todos modos" in page


def test_opening_a_case_from_a_contact_shows_the_same_report(app, web, w, known):
    with app.app_context():
        contact_id = contact(w.caseworker, caller_type="FamilyOrFriend", caller_name="Tía Elena").id
    web.login("caseworker")
    response = web.post(f"/intake/contacts/{contact_id}/open-case", {
        "given_name": "Jan Batis", "family_name": "Pyè", "date_of_birth": "1995-06-02"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "This person may already be known" in page and known["jean"] in page
    assert "Name (spelt differently or in another order), Date of birth" in page
    assert f"Attach the contact to {known['jean']}" in page and "Create a new case anyway" in page
    assert _cases(app) == 3
