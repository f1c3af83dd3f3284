"""Error pages show a reference id and nothing internal (ASVS 7.4.1); debug is off (14.3.2)."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import text

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import events, new_web
from tests.conftest import make_test_app, test_root_keys

REFERENCE = re.compile(r"Reference: ([0-9a-f]{12})")
LEAKS = ("Traceback", "File \"", "werkzeug", "sqlalchemy", "casemgmt/", "RuntimeError", "line ")


def _assert_generic(response, status: int) -> str:
    assert response.status_code == status
    html = response.get_data(as_text=True)
    match = REFERENCE.search(html)
    assert match, "no reference on the error page"
    for leak in LEAKS:
        assert leak not in html, leak
    return match.group(1)


def test_404_page_shows_a_reference_only(app, client):
    _assert_generic(client.get("/no/such/page"), 404)


def test_404_for_a_missing_case_shows_a_reference_only(app, world):
    web = new_web(app)
    web.login("caseworker")
    _assert_generic(web.get("/cases/00000000-0000-4000-8000-000000000000"), 404)
    _assert_generic(web.get("/cases/" + "x" * 300), 404)


def test_403_page_shows_a_reference_only(app, world):
    web = new_web(app)
    web.login("caseworker")
    response = web.get("/admin/users")
    _assert_generic(response, 403)
    assert "Your role does not allow this." in response.get_data(as_text=True)


def test_405_page_shows_a_reference_only_and_keeps_the_allow_header(app, world):
    web = new_web(app)
    web.login("caseworker")
    response = web.get("/logout")
    _assert_generic(response, 405)
    assert "POST" in response.headers["Allow"]


def test_each_error_gets_its_own_reference(app, client):
    first = _assert_generic(client.get("/nothing-1"), 404)
    second = _assert_generic(client.get("/nothing-2"), 404)
    assert first != second


@pytest.fixture(params=["testing", "production"])
def crashing_app(request, tmp_path):
    overrides = {"ENV": request.param}
    if request.param == "production":
        overrides.update(ALLOW_SQLITE_IN_PRODUCTION="true", ROOT_KEYS=test_root_keys())
    application = make_test_app(tmp_path, None, **overrides)

    @application.get("/crash")
    @requires(Action.HOME)
    def crash():
        raise RuntimeError("secret internals: password=hunter2 at /srv/casemgmt/app.py")

    with application.app_context():
        db.create_all()
    with application.test_request_context():
        factories.user(factories.organisation("Org"), "caseworker", "worker")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_unexpected_exception_shows_500_with_reference_and_no_exception_text(crashing_app, caplog, monkeypatch):
    # A logging set-up run by another test (alembic's fileConfig, for one) must not hide the record from caplog.
    monkeypatch.setattr(logging.getLogger("casemgmt.errors"), "disabled", False)
    assert crashing_app.debug is False
    web = new_web(crashing_app)
    web.login("worker")
    with caplog.at_level(logging.ERROR, logger="casemgmt.errors"):
        response = web.get("/crash")
    reference = _assert_generic(response, 500)
    html = response.get_data(as_text=True)
    assert "secret internals" not in html and "hunter2" not in html
    assert "Something went wrong" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    # The details go to the server log under the same reference, for the operator.
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_a_tampered_totp_secret_gives_the_generic_decryption_page_and_an_audit_event(app, world):
    from casemgmt.accounts import operations as accounts

    accounts.begin_totp_enrolment(world.supervisor)
    db.session.commit()
    # Flip one byte of the stored ciphertext, as an attacker with database access would.
    raw = bytearray(db.session.execute(text("SELECT totp_pending FROM users WHERE id = :id"),
                                       {"id": world.supervisor.id}).scalar())
    raw[-1] ^= 0x01
    db.session.execute(text("UPDATE users SET totp_secret = :blob WHERE id = :id"),
                       {"blob": bytes(raw), "id": world.supervisor.id})
    db.session.commit()
    response = new_web(app).login("supervisor", code="123456")
    _assert_generic(response, 500)
    assert "could not be decrypted" in response.get_data(as_text=True)
    failed = events("crypto.decrypt_failed")
    assert len(failed) == 1 and failed[0].outcome == "failure"
