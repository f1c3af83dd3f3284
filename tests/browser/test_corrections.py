"""Corrections in a real browser (issue 12, item 6): two people correct the same counseling session, the second is
shown the conflict page (and nothing of the first is lost), then the session is deleted with a reason after the
browser's confirmation, and is gone from the case's page. No Content-Security-Policy violation on the way."""

from __future__ import annotations

import re

import pytest

from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, chromium, serve
from tests.conftest import make_test_app
from tests.counseling.support import session as recorded_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'browser.db'}")
    with app.test_request_context():
        db.create_all()
        world = factories.world()
        case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
        ids = {"case": case.id, "session": recorded_session(world.caseworker, case).id}
        db.session.remove()
    with serve(app) as base_url:
        yield app, base_url, ids


def test_a_conflicting_correction_and_a_deletion_in_the_browser(server):
    app, base_url, ids = server
    correct = f"/cases/{ids['case']}/counseling/{ids['session']}/correct"
    with chromium() as browser:
        carla, sofia = Session(browser, base_url, "caseworker"), Session(browser, base_url, "supervisor")
        try:
            carla.login("caseworker")
            sofia.login("supervisor")
            for who in (carla, sofia):
                who.page.goto(f"/cases/{ids['case']}/counseling")
                who.page.get_by_role("link", name="Correct or delete").click()
                who.page.wait_for_url(f"**{correct}")
            carla.page.get_by_label("Provider (professional or service)", exact=True).fill("Ps. Martín Quiroga")
            carla.page.get_by_role("button", name="Save the correction").click()
            carla.page.wait_for_url(re.compile(r"/counseling/[0-9a-f-]+$"))
            assert "Session corrected." in carla.page.content()

            sofia.page.get_by_label("Duration (minutes)", exact=True).fill("90")
            sofia.page.get_by_role("button", name="Save the correction").click()
            sofia.page.wait_for_load_state()
            body = sofia.page.content()
            assert "Someone else changed this session while you were correcting it" in body
            assert "Caseworker saved it on" in body and "Ps. Martín Quiroga" in body
            with app.app_context():
                saved = db.session.get(CounselingSession, ids["session"])
                assert (saved.provider, saved.duration_minutes) == ("Ps. Martín Quiroga", 50)

            # Deleting asks the browser's confirmation (data-confirm), and needs the reason.
            sofia.page.goto(correct)
            sofia.page.on("dialog", lambda dialog: dialog.accept())
            sofia.page.get_by_label("Why is this record deleted?", exact=True).fill("Recorded on the wrong case.")
            sofia.page.get_by_role("button", name="Delete the record").click()
            sofia.page.wait_for_url(f"**/cases/{ids['case']}/counseling")
            assert "Session deleted." in sofia.page.content() and "No sessions recorded." in sofia.page.content()
            with app.app_context():
                assert db.session.get(CounselingSession, ids["session"]).deleted_at is not None
            for who in (carla, sofia):
                assert who.csp_violations() == [], who.label
                assert who.unexplained_errors() == [], who.label
        finally:
            carla.close()
            sofia.close()
