"""The enrolment and reset link page (auth.enrol): public, single-use, and where the role needs it, the way into
two-factor enrolment and the recovery codes."""

from __future__ import annotations

import pyotp
import pytest

from casemgmt.accounts import operations as accounts
from casemgmt.audit.events import SYSTEM
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import (
    RECOVERY_CODE_ON_PAGE,
    SECRET_ON_PAGE,
    csrf_token_of,
    events,
    new_web,
    separate_app,
    user_row,
    wait_clear_of_step_boundary,
)

MINE = "copper-lantern-saffron-orbit-93"


@pytest.fixture
def strict_app(tmp_path, backend):
    with separate_app(tmp_path, backend, "enrol2fa", REQUIRE_2FA="true") as application:
        with application.test_request_context():
            factories.world()
        yield application


def test_a_new_supervisor_sets_a_passphrase_then_must_enrol_two_factor_and_gets_recovery_codes(strict_app):
    with strict_app.test_request_context():
        outcome = accounts.add_account(SYSTEM, "sara", "Sara Supervisora", 1, "supervisor")
        db.session.commit()
        token = outcome.token
    web = new_web(strict_app)
    page = web.get(f"/enrol/{token}")
    assert page.status_code == 200 and "sara" in page.get_data(as_text=True)
    response = web.post(f"/enrol/{token}", {"new": MINE, "confirm": MINE}, token_page=f"/enrol/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    assert web.get("/cases/").headers["Location"] == "/account/two-factor"
    html = web.get("/account/two-factor").get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(html).group(1)
    web._token = csrf_token_of(html)
    wait_clear_of_step_boundary()
    confirmed = web.post("/account/two-factor", {"code": pyotp.TOTP(secret).now(), "password": MINE})
    assert confirmed.status_code == 200
    assert len(RECOVERY_CODE_ON_PAGE.findall(confirmed.get_data(as_text=True))) == 10
    assert web.get("/cases/").status_code == 200
    with strict_app.test_request_context():
        assert user_row("sara").has_totp
        assert [e.action for e in events() if e.action.startswith(("account.", "user."))][-3:] == [
            "user.enrol_link", "account.enrol", "account.enable_2fa"]


def test_mismatched_or_missing_passphrases_are_refused_and_change_nothing(app, world):
    token = accounts.reset_now(SYSTEM, world.caseworker)
    db.session.commit()
    before = user_row("caseworker").password_hash
    path = f"/enrol/{token}"
    web = new_web(app)
    for data, message in (({"new": MINE, "confirm": MINE + "x"}, "The two passphrases differ."),
                          ({"new": "", "confirm": ""}, "This field is required."),
                          ({"new": "short", "confirm": "short"}, "Use at least 12 characters.")):
        response = web.post(path, data, token_page=path)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert user_row("caseworker").password_hash == before
    assert web.post(path, {"new": MINE, "confirm": MINE, "csrf_token": "forged"}).status_code == 400


def test_a_link_of_a_disabled_account_cannot_be_used(app, world):
    token = accounts.reset_now(SYSTEM, world.caseworker)
    accounts.set_active(SYSTEM, world.caseworker, False)
    db.session.commit()
    response = new_web(app).get(f"/enrol/{token}")
    assert response.status_code == 410 and "disabled" in response.get_data(as_text=True)
