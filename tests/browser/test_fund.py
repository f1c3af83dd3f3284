"""Issue 14, "Done means": the emergency assistance fund, from the request to the project page.

Casa Esperanza's supervisor creates a project through its form (a donor, a period, US dollars, a single-approval
limit of 500 and a medical line of 2,000). The caseworker enrols María José's case in it and asks the fund for 750 for
a clinic: above the limit, so it needs two approvers. The supervisor approves (one of two); the finance officer, who
never sees the person's name or the justification, approves second and records the bank transfer with a receipt. The
project page then shows the spend on the medical line and what remains, in English and in Spanish, at 1366 and 390
pixels.

Only the organisations, users and the case come from factories. Screenshots go to test-artifacts/ (fund-*.png).
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, assert_styled, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JUSTIFICATION = "Surgery for the injuries from the brick kiln; the public hospital has no date before March."
CLINIC = "Clínica San Juan de Dios"
# The smallest PDF the documents feature recognises by its first bytes.
RECEIPT = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def served(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'fund.db'}")
    with app.app_context():
        db.create_all()
        world = factories.world()
        factories.user(world.ngo, "finance_officer", "finance")
        case = factories.case(world.caseworker)
        case_id, reference = case.id, case.reference
        db.session.remove()
    with serve(app) as base_url:
        yield app, base_url, case_id, reference


def fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"sideways scroll at {width}"


def choose(page, selector: str, text: str) -> None:
    """Select the option whose label contains `text` (select_option matches whole labels only)."""
    options = page.locator(f"{selector} option")
    value = next(options.nth(i).get_attribute("value") for i in range(options.count())
                 if text in options.nth(i).inner_text())
    page.locator(selector).select_option(value)


def create_project(page, expect) -> str:
    page.goto("/projects/new")
    today = date.today()
    page.locator("input[name=donor_name]").fill("U.S. Department of State, Office to Monitor and Combat Trafficking")
    page.locator("select[name=donor_kind]").select_option("government")
    page.locator("input[name=code]").fill("PE-TIP-2026-01")
    page.locator("input[name=title]").fill("Emergency assistance for trafficking survivors in Peru")
    page.locator("input[name=starts_on]").fill(date(today.year, 1, 1).isoformat())
    page.locator("input[name=ends_on]").fill(date(today.year + 1, 12, 31).isoformat())
    page.locator("select[name=currency]").select_option("USD")
    page.locator("input[name=single_approval_limit]").fill("500")
    page.locator("input[name='lines-0-name']").fill("Medical care")
    page.locator("select[name='lines-0-category']").select_option("medical")
    page.locator("input[name='lines-0-amount']").fill("2000")
    page.locator("form button[type=submit].btn-primary").last.click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("main")).to_contain_text("PE-TIP-2026-01")
    return page.url


def test_a_request_above_the_limit_is_approved_twice_paid_and_shown_on_the_project(served, browser, expect):
    _app, base_url, case_id, reference = served
    boss = Session(browser, base_url, "fund-supervisor")
    boss.login("supervisor")
    project_url = create_project(boss.page, expect)
    assert re.search(r"/projects/\d+$", project_url), project_url

    # The caseworker enrols the case, then asks the fund: the form offers only the projects the case is enrolled in.
    worker = Session(browser, base_url, "fund-caseworker")
    worker.login("caseworker")
    page = worker.page
    page.goto(f"/cases/{case_id}/fund")
    expect(page.locator("main")).to_contain_text("enrol")  # no project yet: the page says what to do first
    page.goto(f"/cases/{case_id}/programmes")
    choose(page, "form[action$='/programmes/enrol'] select[name=project_id]", "PE-TIP-2026-01")
    page.locator("input[name=enrolled_on]").fill(date.today().isoformat())
    page.locator("form[action$='/programmes/enrol'] button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()

    page.goto(f"/cases/{case_id}/fund")
    choose(page, "select[name=project_id]", "PE-TIP-2026-01")
    page.locator("select[name=category]").select_option("medical")
    page.locator("input[name=amount]").fill("750")
    page.locator("select[name=currency]").select_option("USD")
    page.locator("select[name=payee_kind]").select_option("clinic")
    page.locator("input[name=payee_name]").fill(CLINIC)
    page.locator("textarea[name=justification]").fill(JUSTIFICATION)
    page.locator("main form button[type=submit].btn-primary").last.click()
    expect(page.locator("main")).to_contain_text("Waiting for approval")
    expect(page.locator("main")).to_contain_text("0 of 2")
    # The requester cannot approve their own request: no button is offered.
    if not re.search(r"/fund/[0-9a-f-]{36}$", page.url):
        page.locator("table a[href*='/fund/']").first.click()
    request_url = page.url
    assert re.search(r"/fund/[0-9a-f-]{36}$", request_url), request_url
    assert page.get_by_role("button", name="Approve").count() == 0
    assert_styled(page)
    for width in (1366, 390):
        fits(page, width)
    worker.screenshot("fund-request-en.png")

    # The supervisor approves first: it still waits for a second, different approver.
    boss.page.goto(request_url)
    boss.page.get_by_role("button", name="Approve").click()
    expect(boss.page.locator("main")).to_contain_text("1 of 2")
    assert boss.page.get_by_role("button", name="Approve").count() == 0

    # The finance officer sees amounts and the case reference, never the person or the justification.
    finance = Session(browser, base_url, "fund-finance")
    finance.login("finance")
    fpage = finance.page
    fpage.goto("/")
    expect(fpage.locator("main")).to_contain_text(reference)
    fpage.goto(request_url)
    text = fpage.locator("main").inner_text()
    assert reference in text and "750" in text and CLINIC in text
    assert "María" not in fpage.content() and "Quispe" not in fpage.content()
    assert JUSTIFICATION[:30] not in fpage.content()
    fpage.get_by_role("button", name="Approve").click()
    expect(fpage.locator("main")).to_contain_text("Approved")

    # The payment, with its receipt.
    fpage.locator("select[name=method]").select_option("bank_transfer")
    fpage.locator("input[name=paid_on]").fill(date.today().isoformat())
    fpage.locator("input[name=reference]").fill("TRX-2026-0042")
    fpage.locator("input[name=receipt]").set_input_files(
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": RECEIPT})
    fpage.locator("form[action$='/disburse'] button[type=submit]").click()
    expect(fpage.locator("main")).to_contain_text("Disbursed")
    expect(fpage.locator("main")).to_contain_text("receipt")
    for width in (1366, 390):
        fits(fpage, width)
    finance.screenshot("fund-paid-finance-en.png")

    # The project page shows the spend on the medical line and what remains.
    boss.page.goto(project_url)
    medical = boss.page.locator("tr", has_text="Medical care").first
    expect(medical).to_contain_text("750.00")
    expect(medical).to_contain_text("1,250.00")
    assert_styled(boss.page)
    for width in (1366, 390):
        fits(boss.page, width)
    boss.page.set_viewport_size({"width": 1366, "height": 900})
    boss.screenshot("fund-project-en.png")

    # The same page on Spanish pages, numbers in the Spanish way.
    es = Session(browser, base_url, "fund-supervisor-es", locale="es-ES")
    es.login("supervisor")
    es.page.goto(project_url)
    assert es.page.locator("html").get_attribute("lang").startswith("es")
    # The line's name is what the supervisor typed; the figures follow the reader's language.
    medical_es = es.page.locator("tr", has_text="Medical care").first
    expect(medical_es).to_contain_text("750,00")
    expect(medical_es).to_contain_text("1.250,00")
    es.page.set_viewport_size({"width": 1366, "height": 900})
    es.screenshot("fund-project-es.png")
    for width in (1366, 390):
        fits(es.page, width)

    for session in (boss, worker, finance, es):
        assert session.csp_violations() == [], session.label
        assert session.unexplained_errors() == [], session.label
        session.close()
