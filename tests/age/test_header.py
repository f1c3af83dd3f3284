"""Every tab of a case shows the age and, for a child, a marker in words (not colour alone), to those who may see
who the person is (issue 12)."""

from __future__ import annotations

import pytest
from flask import g, url_for

from casemgmt.cases.header import case_header
from casemgmt.extensions import db
from casemgmt.navigation import CASE_NAV
from tests import factories
from tests.age.support import BORN, DAY, TODAY, eighteen_on

MARKER = "Child (under 18)"


def _tabs(app, case_id: str) -> list[str]:
    with app.test_request_context():
        return [url_for("cases.view", case_id=case_id)] + [
            url_for(item.endpoint, case_id=case_id) for item in CASE_NAV if item.endpoint in app.view_functions]


def test_every_tab_shows_the_age_and_the_child_marker(app, web, w):
    with app.app_context():
        # Sixteen by the date of birth alone, the box "unaccompanied or separated" not ticked.
        case_id = factories.case(w.caseworker, date_of_birth=eighteen_on(TODAY + 700 * DAY),
                                 assigned_to_id=w.caseworker.id).id
    web.login("supervisor")
    shown = 0
    for url in _tabs(app, case_id):
        response = web.get(url)
        if response.status_code == 403:
            continue  # a tab this role does not open (the page is not shown, nor its header)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert 'class="case-age">16<' in page and MARKER in page, url
        shown += 1
    assert shown >= 8


@pytest.mark.parametrize(("values", "age", "child"), [
    ({"date_of_birth": None, "estimated_age": 16}, "about 16", True),
    ({"date_of_birth": None, "birth_year": 2010}, "born 2010", TODAY.year - 2010 <= 18),
    ({"date_of_birth": BORN}, "18", False),
    ({"date_of_birth": None}, "not known", False),
])
def test_the_header_says_how_the_age_is_known(app, web, w, values, age, child):
    with app.app_context():
        case_id = factories.case(w.caseworker, **values).id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert f'<dd class="case-age">{age}</dd>' in page
    assert (MARKER in page) is child


def test_a_child_recorded_without_an_age_is_marked_and_the_age_asked_for(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker, date_of_birth=None, unaccompanied_or_separated=True)
        case.person.age_basis = "child_unknown"
        db.session.commit()
        case_id = case.id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/consent").get_data(as_text=True)
    assert MARKER in page and "Unaccompanied or separated" in page
    assert "This person was recorded as a child, age unknown: record the date of birth or an estimated age." in page
    assert f'href="/cases/{case_id}/edit">Record the age</a>' in page


def test_nobody_who_may_not_see_the_person_gets_the_header(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker, date_of_birth=BORN)
    # The request's user, as Flask-Login keeps it (tests/demo/form_checks.py does the same).
    # Who may not see the person gets the case reference only (issue 16): no name, no age, no markers.
    g._login_user = w.admin
    assert case_header(case).name is None and not case_header(case).identified
    g._login_user = w.caseworker2  # another organisation
    assert case_header(case).name is None and not case_header(case).identified
    assert case_header(case).reference == case.reference
    g._login_user = w.caseworker
    assert case_header(case).age == "18" and not case_header(case).child


def test_unaccompanied_or_separated_without_an_age_asks_for_the_age(app, web, w):
    with app.app_context():
        case_id = factories.case(w.caseworker, date_of_birth=None, unaccompanied_or_separated=True).id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Unaccompanied or separated is recorded, but no age" in page
    assert MARKER not in page  # the box alone makes no child: the age does
