"""Issue 15, "Done means": an adult who stays in the destination country and is joined by her family.

The caseworker moves María José's case to "Staying in destination country", records her T visa applied for and then
granted with work authorisation, adds her two children on the family page (and their father, possibly involved in
the trafficking, whom the reunification never offers), opens a family reunification, adds both children as T-3
derivatives, records their documents issued, the journey and the arrival: the family is "Reunified". The pages fit
at 1366 and 390 pixels, in English and in Spanish.

Only the organisations, users and the case come from factories. Screenshots go to test-artifacts/ (stay-*.png).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, assert_styled, serve, set_select
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TODAY = date.today()
CHILDREN = (("Valentina", TODAY.replace(year=TODAY.year - 12)), ("Thiago", TODAY.replace(year=TODAY.year - 9)))


@pytest.fixture
def served(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'stay.db'}")
    with app.app_context():
        db.create_all()
        world = factories.world()
        case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
        case_id = case.id
        db.session.remove()
    with serve(app) as base_url:
        yield base_url, case_id


def fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"sideways scroll at {width}"


def choose(select, text: str) -> None:
    """Select the option whose label contains `text`."""
    options = select.locator("option")
    value = next(options.nth(i).get_attribute("value") for i in range(options.count())
                 if text in options.nth(i).inner_text())
    select.select_option(value)


def add_family_member(page, expect, case_id: str, relationship: str, given: str, born: date | None,
                      involved: bool = False) -> None:
    page.goto(f"/cases/{case_id}/family/new")
    page.locator("select[name=relationship_code]").select_option(relationship)
    page.locator("input[name=given_name]").fill(given)
    page.locator("input[name=family_name]").fill("Quispe Mamani")
    if born is not None:
        page.locator("input[name=date_of_birth]").fill(born.isoformat())
    if involved:
        page.locator("input[name=possibly_involved]").check()
    else:
        page.locator("input[name=safe_contact]").check()
        page.locator("input[name=may_be_told_location]").check()
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_an_adult_stays_and_her_children_join_her(served, browser, expect):
    base_url, case_id = served
    worker = Session(browser, base_url, "stay-caseworker")
    worker.login("caseworker")
    page = worker.page

    # The case moves to the stay.
    page.goto(f"/cases/{case_id}")
    page.locator("select[name=to_stage]").select_option("stay")
    page.locator("form[action$='/stage'] button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("Staying in destination country")

    # Her T visa: applied for, then granted with work authorisation.
    page.goto(f"/cases/{case_id}/stay")
    page.get_by_role("link", name="Record a status").click()
    set_select(page, "country", "US")
    page.locator("select[name=kind]").select_option("t_visa")
    page.locator("select[name=state]").select_option("applied")
    page.locator("input[name=applied_on]").fill((TODAY - timedelta(days=300)).isoformat())
    page.locator("input[name=certifying_agency]").fill("USCIS Vermont Service Center")
    page.locator("input[name=reference]").fill("EAC-26-114-52731")
    page.locator("form.status-form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(".residence-statuses")).to_contain_text("Applied")
    page.locator(".residence-statuses a", has_text="Edit").first.click()
    page.locator("select[name=state]").select_option("granted")
    page.locator("input[name=decided_on]").fill((TODAY - timedelta(days=60)).isoformat())
    page.locator("input[name=valid_until]").fill((TODAY + timedelta(days=1400)).isoformat())
    page.locator("input[name=work_authorisation]").check()
    page.locator("form.status-form button[type=submit]").click()
    expect(page.locator(".residence-statuses .status-granted")).to_contain_text("Granted")
    expect(page.locator(".residence-statuses .status-granted")).to_contain_text("Yes")

    # Her family, on the family page: two children, and their father who may be involved.
    for given, born in CHILDREN:
        add_family_member(page, expect, case_id, "child", given, born)
    add_family_member(page, expect, case_id, "spouse", "Wilmer", None, involved=True)

    # The reunification: the father is not offered, and the page says why.
    page.goto(f"/cases/{case_id}/stay")
    page.get_by_role("link", name="Open a family reunification").click()
    page.locator("textarea[name=notes]").fill("The children live with their grandmother in Huancayo.")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert re.search(r"/reunifications/[0-9a-f-]{36}$", page.url), page.url
    reunification_url = page.url
    expect(page.locator(".not-offered")).to_contain_text("Wilmer")
    expect(page.locator(".not-offered")).to_contain_text("May be involved in the trafficking")
    assert page.locator(".add-member-form select[name=family_member_id] option", has_text="Wilmer").count() == 0
    for given, _born in CHILDREN:
        choose(page.locator(".add-member-form select[name=family_member_id]"), given)
        page.locator(".add-member-form select[name=derivative_kind]").select_option("t3")
        page.locator(".add-member-form button[type=submit]").click()
        expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(".reunification-member")).to_have_count(2)

    # Documents issued, the journey and the arrival, one child after the other.
    for i, (given, _born) in enumerate(CHILDREN):
        card = page.locator(".reunification-member", has_text=given)
        card.locator("summary").click()
        form = card.locator("form.member-form")
        form.locator("select[name$='-document_status']").select_option("issued")
        form.locator("input[name$='-document_applied_on']").fill((TODAY - timedelta(days=90)).isoformat())
        form.locator("input[name$='-document_issued_on']").fill((TODAY - timedelta(days=20)).isoformat())
        form.locator("input[name$='-travel_on']").fill((TODAY - timedelta(days=3)).isoformat())
        form.locator("input[name$='-arrived_on']").fill((TODAY - timedelta(days=2 - i)).isoformat())
        form.locator("button[type=submit]").click()
        expect(page.locator(".alert-success")).to_be_visible()
        expect(page.locator(".reunification-member", has_text=given).locator(".member-arrival")).to_contain_text(
            "arrived on")
    expect(page.locator(".reunification-status")).to_have_text("Reunified")
    expect(page.locator(".reunification-summary")).to_contain_text("when the last family member arrived")
    assert_styled(page)
    for width in (1366, 390):
        fits(page, width)
    page.set_viewport_size({"width": 1366, "height": 900})
    worker.screenshot("stay-reunified-en.png")
    page.goto(f"/cases/{case_id}/stay")
    for width in (1366, 390):
        fits(page, width)

    # In Spanish.
    es = Session(browser, base_url, "stay-caseworker-es", locale="es-ES")
    es.login("caseworker")
    for url in (reunification_url, f"/cases/{case_id}/stay"):
        es.page.goto(url)
        assert es.page.locator("html").get_attribute("lang").startswith("es")
        for width in (1366, 390):
            fits(es.page, width)
    es.page.set_viewport_size({"width": 1366, "height": 900})
    es.screenshot("stay-es.png")

    for session in (worker, es):
        assert session.csp_violations() == [], session.label
        assert session.unexplained_errors() == [], session.label
        session.close()
