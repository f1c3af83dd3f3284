"""A real browser (Debian's Chromium, driven by Playwright) against a real HTTP server running the app.

This checks what the test client cannot: that the pages work in a browser under the Content-Security-Policy
(no inline script or style gets blocked), that the CSS loads, and that the forms, links and redirects hang together.
Playwright's own browser download does not work here, so the test uses /usr/bin/chromium (apt package chromium).
"""

from __future__ import annotations

import contextlib
import re

import pytest

from casemgmt.extensions import db
from tests import factories
from tests.browser.menus import menu_link
from tests.browser.support import Session, pick, serve, set_select
from tests.browser.support import assert_styled as _assert_styled
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path):
    """The app on a SQLite file, served by a real threaded WSGI server on a free loopback port."""
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'browser.db'}")
    with app.app_context():
        db.create_all()
        world = factories.world()
        names = {"caseworker": world.caseworker.username, "supervisor": world.supervisor.username}
        display = {"caseworker": world.caseworker.display_name, "supervisor": world.supervisor.display_name}
        db.session.remove()
    with serve(app) as base_url:
        yield base_url, names, display


def test_caseworker_creates_finds_and_supervisor_audits_a_case(server, browser, request, expect):
    base_url, names, display = server
    caseworker = Session(browser, base_url, "caseworker")
    supervisor = None
    try:
        caseworker.login("caseworker")
        page = caseworker.page

        # Create a case through the New case form.
        menu_link(page, "New case").click()
        page.wait_for_url("**/cases/new")
        page.get_by_label("Given name(s)", exact=True).fill("Ximena Luz")
        page.get_by_label("Family name(s)", exact=True).fill("Huarcaya Ccori")
        page.get_by_label("Date of birth", exact=True).fill("2003-07-19")
        page.get_by_label("Phone", exact=True).fill("+51 984 111 222")
        pick(page, "Gender", "Feminine")
        set_select(page, "citizenship", "PE")
        pick(page, "Trafficking status", "PossibleVictimOfTrafficking")
        pick(page, "Case status", "Active")
        page.get_by_label("Narrative", exact=True).fill("Met at the bus terminal; offered work in a restaurant.")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
        case_url = page.url
        assert page.locator(".alert-success").is_visible()
        assert page.locator(".case-header .person-name").inner_text().strip() == "Ximena Luz Huarcaya Ccori"
        assert "+51 984 111 222" in page.locator("main").inner_text()
        _assert_styled(page)
        shot = caseworker.screenshot("case-page.png")
        assert shot.stat().st_size > 10_000

        # Find it again through Search, by full name (written differently), and open it.
        menu_link(page, "Search").click()
        page.wait_for_url("**/cases/search")
        page.get_by_label("Name, phone or document number", exact=True).fill("  huarcaya ccori XIMENA luz ")
        page.get_by_role("button", name="Search", exact=True).click()
        results = page.locator(".search-results tbody tr")
        results.first.wait_for()
        assert results.count() == 1
        assert "Ximena Luz Huarcaya Ccori" in results.first.inner_text()
        assert "ximena" not in page.url.lower()  # the search term travels in the POST body, never in a URL
        results.first.get_by_role("link").click()
        page.wait_for_url(case_url)
        assert "Ximena Luz Huarcaya Ccori" in page.locator(".case-header").inner_text()

        # The supervisor, in a separate browser context, sees who opened the record.
        supervisor = Session(browser, base_url, "supervisor")
        supervisor.login("supervisor")
        spage = supervisor.page
        spage.goto(case_url)
        spage.get_by_role("link", name="Who has seen this record").click()
        spage.wait_for_url("**/access-log")
        # Each view reads as a sentence; the raw details, one click away, keep the account's username (actor_name),
        # which stays true after a display-name change.
        sentences = spage.locator(".audit-sentence").all_inner_texts()
        assert any(s.strip().startswith(display["caseworker"]) for s in sentences), sentences
        spage.locator(".audit-raw summary").first.click()  # the details open with a click, no script needed
        expect(spage.locator(".audit-raw").first.locator("dl")).to_be_visible()
        spage.evaluate("document.querySelectorAll('details.audit-raw').forEach(d => { d.open = true; })")
        accounts = [a.strip() for a in spage.locator(".audit-raw dd").all_inner_texts()]
        assert names["caseworker"] in accounts, accounts
        assert names["supervisor"] in accounts, accounts  # the supervisor's own view of the case is there too
        _assert_styled(spage)
        supervisor.screenshot("access-log.png")

        for session in (caseworker, supervisor):
            violations = session.csp_violations()
            assert not violations, f"Content-Security-Policy violations for {session.label}: {violations}"
            errors = session.unexplained_errors()
            assert not errors, f"browser console errors for {session.label}: {errors}"
    except BaseException:
        for session in (caseworker, supervisor):
            if session is not None:
                with contextlib.suppress(Exception):  # the original failure matters more
                    session.screenshot(f"FAILED-{request.node.name}-{session.label}.png")
        raise
    finally:
        for session in (caseworker, supervisor):
            if session is not None:
                session.close()


def test_the_menu_opens_on_a_phone(server, browser):
    """Below the md breakpoint the menu is collapsed behind the toggler, which needs Bootstrap's JavaScript."""
    base_url, _names, _display = server
    phone = Session(browser, base_url, "phone", viewport={"width": 390, "height": 844})
    try:
        phone.login("caseworker")
        page = phone.page
        search_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Search", exact=True)
        assert not search_link.is_visible()
        page.get_by_role("button", name="Menu").click()
        page.get_by_role("button", name="Cases", exact=True).click()  # the group of the menu that holds Search
        search_link.wait_for(state="visible", timeout=5_000)
        assert not phone.failed_assets, f"assets that did not load: {phone.failed_assets}"
        assert not phone.csp_violations()
    finally:
        phone.close()
