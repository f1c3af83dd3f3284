"""The bell in a real browser: a supervisor finds the closure waiting for her by its accessible name, opens it from
the list, and the count goes."""

from __future__ import annotations

import re

import pytest

from casemgmt.extensions import db
from casemgmt.journey import operations as journey
from tests import factories
from tests.browser.support import Session, chromium, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'browser.db'}")
    with app.test_request_context():
        db.create_all()
        world = factories.world()
        case = factories.case(world.caseworker)
        journey.request_closure(world.caseworker, case, "completed", "All services delivered.")
        db.session.commit()
        case_id = case.id
        db.session.remove()
    with serve(app) as base_url:
        yield base_url, case_id


def test_the_bell_leads_to_what_waits_and_counts_it_in_words(server):
    base_url, case_id = server
    with chromium() as browser:
        supervisor = Session(browser, base_url, "supervisor")
        try:
            supervisor.login("supervisor")
            page = supervisor.page
            nav = page.get_by_role("navigation", name="Main")
            bell = nav.get_by_role("link", name="Notifications: 1 unread notice")
            assert bell.is_visible() and bell.inner_text().strip().endswith("1")
            bell.click()
            page.wait_for_url("**/notifications")
            supervisor.screenshot("notifications.png")
            page.get_by_role("button", name=re.compile(r"^The closure of case C-\w+ is waiting for your approval\.$"))\
                .click()
            page.wait_for_url(f"**/cases/{case_id}/closure")
            assert page.get_by_role("navigation", name="Main").get_by_role(
                "link", name="Notifications: nothing unread").is_visible()
            assert supervisor.csp_violations() == [] and supervisor.unexplained_errors() == []
        finally:
            supervisor.close()
