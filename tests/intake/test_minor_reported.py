"""A contact's "a minor is involved" carries into the case it opens as a prompt to record the age, not as a fact
about a person nobody has met; the open-case form takes a year of birth or an estimated age (issue 12)."""

from __future__ import annotations

from sqlalchemy import func, select

from casemgmt.cases import age
from casemgmt.cases import operations as case_ops
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from tests.age.support import TODAY
from tests.intake.conftest import contact

PROMPT = "A minor was reported on the contact: record the date of birth or an estimated age."


def _open(app, web, w, minor: bool, **person):
    with app.app_context():
        contact_id = contact(w.hotline, minor_involved=minor).id
    web.login("hotline")
    response = web.post(f"/intake/contacts/{contact_id}/open-case", {"given_name": "Yessenia", **person})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_a_minor_reported_on_the_contact_is_a_prompt_on_the_case_not_a_fact(app, web, w):
    case_id = _open(app, web, w, minor=True)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.person.age_basis is None and not case.unaccompanied_or_separated
        assert not age.is_child(case)  # nobody knows yet who the minor was, or whether it is this person
    for tab in ("", "/timeline", "/contacts"):
        page = web.get(f"/cases/{case_id}{tab}")
        assert page.status_code == 200, tab
        assert PROMPT in page.get_data(as_text=True), tab
    assert "Estimated age in years" in web.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, case_id)
        case_ops.update_case(w.hotline, case, {"estimated_age": 15, "age_estimated_on": TODAY}, case.version)
        db.session.commit()
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert PROMPT not in page and '<dd class="case-age">about 15</dd>' in page and "Child (under 18)" in page


def test_no_prompt_without_a_reported_minor(app, web, w):
    case_id = _open(app, web, w, minor=False)
    assert PROMPT not in web.get(f"/cases/{case_id}").get_data(as_text=True)


def test_the_open_case_form_records_a_year_of_birth_or_an_estimate(app, web, w):
    case_id = _open(app, web, w, minor=True, birth_year=str(TODAY.year - 16))
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.person.age_basis == "birth_year" and age.is_child(case)
    assert PROMPT not in web.get(f"/cases/{case_id}").get_data(as_text=True)
    web.logout()
    other = _open(app, web, w, minor=False, given_name="Otra", estimated_age="30")
    with app.app_context():
        case = db.session.get(Case, other)
        assert case.person.age_basis == "estimated" and age.facts_of(case).estimated_on == TODAY


def test_an_impossible_estimate_opens_nothing(app, web, w):
    with app.app_context():
        contact_id = contact(w.hotline, minor_involved=True).id
    web.login("hotline")
    response = web.post(f"/intake/contacts/{contact_id}/open-case", {"given_name": "Ana", "estimated_age": "130"})
    assert response.status_code == 422
    assert "An estimated age is between 0 and 120 years." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
