"""The case records an age by one of its bases, encrypted, and answers the age and childhood on any day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from casemgmt.cases import age
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.intake.duplicates import find_candidates
from tests import factories
from tests.age.support import BIRTHDAY, BORN, DAY, TODAY


def _raw_person(case_id: str):
    return db.session.execute(text(
        "SELECT age_basis, age_band, estimated_age, age_estimated_on, birth_year, date_of_birth FROM persons "
        "WHERE case_id = :id"), {"id": case_id}).one()


def test_an_estimate_is_encrypted_and_its_basis_and_band_are_the_plain_categories(ctx, world):
    case = factories.case(world.caseworker, date_of_birth=None, estimated_age=16,
                          age_estimated_on=TODAY - 30 * DAY)
    db.session.expire_all()
    basis, band, estimate, estimated_on, year, dob = _raw_person(case.id)
    assert (basis, band, year, dob) == ("estimated", "9-17", None, None)
    # Ciphertexts (version, key id, nonce, tag), not the values.
    assert len(bytes(estimate)) > 20 and (TODAY - 30 * DAY).isoformat().encode() not in bytes(estimated_on)
    case = db.session.get(Case, case.id)
    assert age.age_on(case).label() == "about 16" and age.is_child(case)
    assert cases.snapshot(case)["estimated_age"] == 16


def test_an_estimate_without_a_day_is_dated_today(ctx, world):
    case = factories.case(world.caseworker, date_of_birth=None, estimated_age=30)
    assert age.facts_of(case).estimated_on == TODAY


def test_a_year_of_birth_is_encrypted_and_finds_the_person_by_name_and_year(ctx, world):
    year = TODAY.year - 16
    case = factories.case(world.caseworker, date_of_birth=None, birth_year=year)
    basis, band, _estimate, _on, stored, _dob = _raw_person(case.id)
    assert (basis, band) == ("birth_year", "9-17")
    assert str(year).encode() not in bytes(stored)
    assert age.age_on(case).label() == f"born {year}"
    # Intake's duplicate check finds the person by name and year, the year being all that is known.
    report = find_candidates(world.caseworker, "María José", "Quispe Mamani", None, year)
    assert [(c.case_id, c.matched) for c in report.candidates] == [(case.id, ("name", "birth_year"))]
    assert find_candidates(world.caseworker, "María José", "Quispe Mamani", None, year - 1).empty


@pytest.mark.parametrize(("day", "child"), [(BIRTHDAY - DAY, True), (BIRTHDAY, False)])
def test_a_date_of_birth_decides_on_the_18th_birthday(ctx, world, day, child):
    case = factories.case(world.caseworker, date_of_birth=BORN)
    assert age.is_child(case, day) is child
    assert age.age_on(case, day).years == (17 if child else 18)
    assert case.person.age_basis == "exact"


def test_a_person_recorded_as_a_child_stays_one_until_an_age_is_recorded(ctx, world):
    case = factories.case(world.caseworker, date_of_birth=None)
    case.person.age_basis = "child_unknown"  # as migration a7c1d2e3f4b5 leaves a ticked box without an age
    db.session.commit()
    assert age.is_child(case, TODAY + timedelta(days=3650)) and not age.age_on(case).known
    cases.update_case(world.caseworker, case, {"phone": "+51 900 000 001"}, case.version)
    db.session.commit()
    assert case.person.age_basis == "child_unknown"  # saving without an age keeps the child a child
    cases.update_case(world.caseworker, case, {"estimated_age": 19, "age_estimated_on": TODAY}, case.version)
    db.session.commit()
    assert case.person.age_basis == "estimated" and not age.is_child(case)


@pytest.mark.parametrize(("values", "message"), [
    ({"date_of_birth": TODAY + DAY}, "The date of birth cannot be in the future."),
    ({"date_of_birth": BORN, "birth_year": BORN.year + 1}, "The year of birth does not match the date of birth."),
    ({"date_of_birth": None, "estimated_age": 121}, "An estimated age is between 0 and 120 years."),
])
def test_the_operations_refuse_a_wrong_age_and_write_nothing(ctx, world, values, message):
    with pytest.raises(cases.CaseError, match=message):
        cases.create_case(world.caseworker, factories.case_values(**values))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    case = factories.case(world.caseworker)
    version = case.version
    with pytest.raises(cases.CaseError, match=message):
        cases.update_case(world.caseworker, case, values, version)
    db.session.rollback()
    assert db.session.get(Case, case.id).version == version


def test_the_age_is_decrypted_once_per_request_and_read_again_after_a_change(ctx, world, monkeypatch):
    case = factories.case(world.caseworker, date_of_birth=BORN)
    opened = []
    real = age.unseal
    monkeypatch.setattr(age, "unseal", lambda obj, column: opened.append(column) or real(obj, column))
    for day in (BIRTHDAY - DAY, BIRTHDAY, TODAY):
        age.is_child(case, day)
        age.age_on(case, day)
    assert opened == ["date_of_birth"]
    cases.update_case(world.caseworker, case, {"date_of_birth": BORN + DAY}, case.version)
    assert age.is_child(case, BIRTHDAY) is True  # one day younger: still 17 on the old birthday
    assert opened == ["date_of_birth", "date_of_birth"]


def test_an_erased_case_has_no_age_but_a_child_recorded_without_one_stays_a_child(ctx, world):
    case = factories.case(world.caseworker, date_of_birth=BORN)
    case.erased_at = utcnow()
    # Nothing is decrypted for an erased case: only the plaintext band remains (an adult's, here).
    assert age.age_on(case).basis == "age_band" and not age.is_child(case)
    case.person.age_basis = "child_unknown"
    assert age.is_child(case)


def test_the_case_page_shows_the_age_and_its_basis(app, web, w):
    with app.app_context():
        case_id = factories.case(w.caseworker, date_of_birth=None, estimated_age=16,
                                 age_estimated_on=date(TODAY.year, 1, 1) if TODAY.month > 1 else TODAY).id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Estimated age" in page and "Age known from" in page


def test_the_case_form_takes_an_estimate_and_explains_a_wrong_one(app, web, w):
    web.login("caseworker")
    refused = web.post("/cases/new", {"given_name": "Rosa", "status": "Active", "date_of_birth": BORN.isoformat(),
                                      "estimated_age": "12"})
    assert refused.status_code == 422
    assert "The estimated age does not match the date of birth" in refused.get_data(as_text=True)
    created = web.post("/cases/new", {"given_name": "Rosa", "status": "Active", "estimated_age": "15",
                                      "create_anyway": "yes"})
    assert created.status_code == 302, created.get_data(as_text=True)
    page = web.get(created.headers["Location"]).get_data(as_text=True)
    assert '<dd class="case-age">about 15</dd>' in page and "Child (under 18)" in page
