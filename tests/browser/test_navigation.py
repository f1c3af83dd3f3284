"""The grouped main menu, the account menu, the case header and phone widths, in a real browser (issue 16).

The menu stays on one line at 1280 px and above for every demo role in English and Spanish (and with labels a third
longer, as French or Portuguese ones may be); its drop-downs open with the mouse and with the keyboard; the account
menu says who is logged in; every tab of a case names the person with age, stage and assignee; and neither a long
unbroken name nor a wide table pushes a phone's page sideways.
"""

from __future__ import annotations

import re

import pytest

from casemgmt.accounts.models import User
from casemgmt.demo import USERS, build_demo
from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, chromium, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff" * 9  # 315 letters, no break opportunity
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo (all eleven demo users), a case with known facts and one whose person has a 315-letter name."""
    tmp_path = tmp_path_factory.mktemp("navigation")
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'browser.db'}")
    with app.app_context():
        db.create_all()
        build_demo(factories.PASSWORD, 12, seed=7)
        caseworker = db.session.scalar(db.select(User).where(User.username == "caseworker"))
        known = factories.case(caseworker, given_name="Rosa Elvira", family_name="Cutipa", date_of_birth=None,
                               estimated_age=15, assigned_to_id=caseworker.id)
        long = factories.case(caseworker, given_name=LONG_NAME, family_name=LONG_NAME[:40],
                              assigned_to_id=caseworker.id)
        cases = {"known": (known.id, known.reference, caseworker.display_name), "long": (long.id, long.reference)}
        db.session.remove()
    with serve(app) as base_url:
        yield base_url, cases


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _session(browser, base_url, username: str, viewport=LAPTOP) -> Session:
    """Logged in as `username`. Session.login waits for the work list, which the administrators do not land on."""
    session = Session(browser, base_url, username, viewport=viewport)
    page = session.page
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return session


def _switch_language(page, code: str) -> None:
    page.locator("#interface-language").select_option(code)
    page.locator(".language-switcher button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == code


def _menu_lines(page) -> dict:
    """The tops of the navbar's brand and top-level items (they share one line when the menu fits) and its height."""
    return page.evaluate("""() => {
        const nav = document.querySelector('nav.main-nav');
        const items = [nav.querySelector('.navbar-brand'),
                       ...nav.querySelectorAll('.navbar-collapse > .navbar-nav > .nav-item')];
        const mids = items.map(e => { const r = e.getBoundingClientRect(); return Math.round(r.top + r.height / 2); });
        return {mids, height: nav.offsetHeight, count: items.length,
                overflow: document.documentElement.scrollWidth > window.innerWidth};
    }""")


def _assert_one_line(page, label: str) -> None:
    lines = _menu_lines(page)
    assert lines["count"] >= 2, label
    assert max(lines["mids"]) - min(lines["mids"]) <= 4, f"{label}: the menu wraps {lines}"
    assert lines["height"] <= 64, f"{label}: the navbar is {lines['height']} px high"
    assert not lines["overflow"], label


# Labels a third longer than Spanish ones, as French or Portuguese may be: the groups and the account's name.
LENGTHEN = """() => {
    for (const el of document.querySelectorAll('.main-menu > .nav-item > .nav-link, .account-name')) {
        const text = el.firstChild && el.firstChild.nodeType === 3 ? el.firstChild : null;
        if (text) { text.textContent += 'x'.repeat(Math.ceil(text.textContent.trim().length / 3)); }
    }
}"""


def test_the_menu_fits_on_one_line_for_every_role_in_english_and_spanish(server, browser):
    base_url, _cases = server
    for username, *_rest in USERS:
        session = _session(browser, base_url, username)
        page = session.page
        try:
            for code in ("en", "es"):
                if code != "en":
                    _switch_language(page, code)
                for width in (1280, 1366, 1920):
                    page.set_viewport_size({"width": width, "height": 768})
                    _assert_one_line(page, f"{username} {code} {width}")
            page.set_viewport_size({"width": 1280, "height": 768})
            page.evaluate(LENGTHEN)
            _assert_one_line(page, f"{username} es 1280, labels a third longer")
            assert session.unexplained_errors() == [], username
        finally:
            _switch_language(page, "en")  # the choice is saved on the account: the other tests read English
            session.close()


def test_the_groups_open_with_the_mouse_and_mark_the_current_page(server, browser):
    base_url, _cases = server
    session = _session(browser, base_url, "supervisor")
    page = session.page
    try:
        menu = page.locator("#menu-cases")
        new_case = page.get_by_role("navigation", name="Main").get_by_role("link", name="New case", exact=True)
        assert not new_case.is_visible()
        menu.click()
        assert menu.get_attribute("aria-expanded") == "true"
        new_case.click()
        page.wait_for_url("**/cases/new")
        # The page's item says aria-current="page"; its group is marked as the current one.
        assert page.locator("#menu-cases").get_attribute("aria-current") == "true"
        assert "active" in page.locator("#menu-cases").get_attribute("class")
        page.locator("#menu-cases").click()
        current = page.locator(".main-menu [aria-current=page]")
        assert current.count() == 1 and current.inner_text() == "New case"
        # A group of which the user may open one page is a plain link (the supervisor's administration).
        approvals = page.get_by_role("navigation", name="Main").get_by_role("link", name="Account approvals")
        assert approvals.is_visible()
        assert page.locator("#menu-admin").count() == 0
        # A case's pages belong to Cases.
        page.goto("/cases/")
        page.locator("table a[href^='/cases/']").first.click()
        page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
        assert page.locator("#menu-cases").get_attribute("aria-current") == "true"
        assert session.unexplained_errors() == [] and session.csp_violations() == []
        assert session.failed_assets == [] or all("favicon" in a for a in session.failed_assets)
    finally:
        session.close()


def test_the_skip_link_and_the_menu_work_with_the_keyboard(server, browser):
    base_url, _cases = server
    session = _session(browser, base_url, "caseworker")
    page = session.page
    try:
        page.goto("/cases/")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Skip to main content"
        assert page.locator(".skip-link").is_visible()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"

        page.goto("/cases/")
        for _ in range(6):  # the skip link, the brand, Intake, then Cases
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "menu-cases":
                break
        assert page.evaluate("document.activeElement.id") == "menu-cases"
        page.keyboard.press("Enter")
        menu = page.locator("#menu-cases + .dropdown-menu")
        assert menu.is_visible()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.textContent.trim()") == "New case"
        page.keyboard.press("Escape")
        assert not menu.is_visible()
        assert page.evaluate("document.activeElement.id") == "menu-cases"  # focus goes back to the group
        page.keyboard.press("ArrowDown")  # opens it again, on the first item
        assert menu.is_visible()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Search"
        page.keyboard.press("Enter")
        page.wait_for_url("**/cases/search")

        # The account menu, by keyboard too: its last item logs out.
        page.locator("#menu-account").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("ArrowUp")  # Bootstrap moves to the last item
        assert page.evaluate("document.activeElement.textContent.trim()") == "Log out"
        assert session.unexplained_errors() == [] and session.csp_violations() == []
    finally:
        session.close()


def test_the_account_menu_says_who_is_logged_in(server, browser):
    base_url, _cases = server
    session = _session(browser, base_url, "supervisor")
    page = session.page
    try:
        account = page.locator("#menu-account")
        assert account.inner_text().strip() == "Sofía Supervisora"
        account.click()
        identity = page.locator(".account-identity")
        assert identity.is_visible()
        assert identity.inner_text().split("\n") == ["Sofía Supervisora", "Supervisor", "Casa Esperanza Lima"]
        page.get_by_role("link", name="My account", exact=True).click()
        page.wait_for_url("**/account")
        page.locator("#menu-account").click()
        page.get_by_role("button", name="Log out", exact=True).click()
        page.wait_for_url(re.compile(r"/login"))
    finally:
        session.close()


def test_every_tab_of_a_case_shows_the_header(server, browser):
    base_url, cases = server
    case_id, reference, assignee = cases["known"]
    session = _session(browser, base_url, "caseworker")
    page = session.page
    try:
        page.goto(f"/cases/{case_id}")
        tabs = page.locator(".case-nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert len(tabs) >= 10
        for href in tabs[::2]:
            page.goto(href)
            header = page.locator(".case-header")
            assert header.locator(".person-name").inner_text() == "Rosa Elvira Cutipa", href
            assert reference in header.inner_text(), href
            assert header.locator(".case-age").inner_text() == "about 15", href
            assert header.locator(".case-child-marker").inner_text() == "Child (under 18)", href
            assert header.locator(".case-header-stage").inner_text() == "Intake", href
            assert header.locator(".case-assignee").inner_text() == assignee, href
    finally:
        session.close()


def test_a_long_unbroken_name_and_wide_tables_stay_inside_a_phone(server, browser):
    base_url, cases = server
    long_id, long_reference = cases["long"]
    session = _session(browser, base_url, "supervisor", viewport=PHONE)
    page = session.page
    try:
        pages = ["/", "/intake/", "/cases/", "/referrals/", "/tasks/", f"/cases/{long_id}",
                 f"/cases/{long_id}/timeline", f"/cases/{long_id}/family", f"/cases/{long_id}/tasks"]
        for viewport in (PHONE, LAPTOP):
            page.set_viewport_size(viewport)
            for url in pages:
                page.goto(url)
                widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert widths[0] <= widths[1], f"{url} at {viewport['width']} px: {widths}"
        # The name is shown whole (broken across lines), not cut.
        page.goto(f"/cases/{long_id}")
        assert LONG_NAME in page.locator(".case-header .person-name").inner_text()
        # A table too wide for a phone scrolls inside its own box, and is still a table to a screen reader.
        page.set_viewport_size(PHONE)
        page.goto("/intake/")
        table = page.locator("main table").first
        box = table.locator("xpath=..")
        assert "table-responsive" in box.get_attribute("class")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")
        assert page.get_by_role("table").count() >= 1 and page.get_by_role("columnheader").count() >= 3
        # The case's tabs scroll sideways in their own strip.
        page.goto(f"/cases/{long_id}")
        strip = page.locator(".case-nav")
        assert strip.evaluate("s => s.scrollWidth > s.clientWidth && getComputedStyle(s).overflowX === 'auto'")
        assert long_reference in page.locator(".case-header").inner_text()
    finally:
        session.close()


def test_the_collapsed_menu_opens_its_groups_on_a_phone(server, browser):
    base_url, _cases = server
    session = _session(browser, base_url, "caseworker", viewport=PHONE)
    page = session.page
    try:
        page.get_by_role("button", name="Menu").click()
        page.locator("#nav.show").wait_for()
        page.locator("#menu-account").click()
        assert page.locator(".account-identity").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.locator("#menu-intake").click()  # opening one group closes the other
        new_contact = page.get_by_role("navigation", name="Main").get_by_role("link", name="New contact")
        new_contact.wait_for(state="visible")
        assert not page.locator(".account-identity").is_visible()
        new_contact.click()
        page.wait_for_url("**/intake/contacts/new")
        assert session.unexplained_errors() == [] and session.csp_violations() == []
    finally:
        session.close()
