"""Two-factor login (ASVS 2.8): enrolment, the ±1 step window, no reuse, required roles, secrets encrypted at rest."""

from __future__ import annotations

import contextvars
import threading
import time

import pyotp
import pytest
from sqlalchemy import select, text

from casemgmt.access.guard import ENROLMENT_ENDPOINTS, PUBLIC_ENDPOINTS
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.auth import totp
from casemgmt.auth.login import LoginFailed, authenticate
from casemgmt.crypto.aead import DecryptionError
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import (
    GENERIC_LOGIN_ERROR,
    SECRET_ON_PAGE,
    code_at_step_offset,
    csrf_token_of,
    dummy_url,
    enrol_through_pages,
    events,
    logged_in,
    new_web,
    rules,
    separate_app,
    user_row,
    wait_clear_of_step_boundary,
)

NOW = 1_700_000_015.0  # 15 s into a step, so ±1 step is unambiguous
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _code(offset_steps: int, secret: str = SECRET, now: float = NOW) -> str:
    return pyotp.TOTP(secret).at(now + offset_steps * totp.STEP_SECONDS)


# --- the window and replay rule, with explicit times ------------------------------------------------------------

@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_code_is_accepted_one_step_either_side(offset):
    step = totp.matching_step(SECRET, _code(offset), None, now=NOW)
    assert step == int(NOW // 30) + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_code_two_or_more_steps_away_is_refused(offset):
    assert totp.matching_step(SECRET, _code(offset), None, now=NOW) is None


def test_code_at_the_edges_of_a_step():
    start = int(NOW // 30) * 30.0
    assert totp.matching_step(SECRET, _code(0, now=start), None, now=start + 29.999) is not None
    # 59.999 s after the start of its step the code is one step old: still accepted; at 60 s it is two steps old.
    assert totp.matching_step(SECRET, _code(0, now=start), None, now=start + 59.999) is not None
    assert totp.matching_step(SECRET, _code(0, now=start), None, now=start + 60.0) is None


def test_the_same_code_is_never_accepted_twice_even_within_the_window():
    step = totp.matching_step(SECRET, _code(0), None, now=NOW)
    assert step is not None
    # Same code, same moment, and 29 s later (still inside the window): refused.
    assert totp.matching_step(SECRET, _code(0), step, now=NOW) is None
    assert totp.matching_step(SECRET, _code(0), step, now=NOW + 29) is None
    # An older code, still inside the window, is refused too once a newer one was used.
    assert totp.matching_step(SECRET, _code(-1), step, now=NOW) is None
    # The next step's code is fine.
    assert totp.matching_step(SECRET, _code(1), step, now=NOW) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 56 7", None])
def test_malformed_codes_are_refused(code):
    assert totp.matching_step(SECRET, code, None, now=NOW) is None


def test_spaces_in_a_code_are_ignored():
    code = _code(0)
    assert totp.matching_step(SECRET, f" {code[:3]} {code[3:]} ", None, now=NOW) is not None


def test_wrong_secret_gives_no_match():
    other = pyotp.random_base32()
    assert totp.matching_step(other, _code(0), None, now=NOW) is None


# --- enrolment through the pages ----------------------------------------------------------------------------

def test_enrolment_page_shows_a_qr_image_and_the_key(app, web, world):
    web.login("supervisor")
    page = web.get("/account/two-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in html
    secret = SECRET_ON_PAGE.search(html).group(1)
    assert len(secret) >= 32
    # The key shown is the pending one kept for this user (encrypted), not yet in force.
    row = user_row("supervisor")
    assert row.totp_secret is None and row.totp_pending is not None
    assert accounts.pending_totp_secret(row) == secret


def test_confirming_with_a_valid_code_turns_two_factor_login_on(app, web, world):
    web.login("supervisor")
    secret = enrol_through_pages(web)
    row = user_row("supervisor")
    assert row.has_totp and row.totp_pending is None
    assert totp.open_secret(row.id, "totp_secret", row.totp_secret) == secret
    assert row.totp_last_step == int(time.time() // 30)  # the enrolment code cannot be used to log in
    assert [e.action for e in events("account.enable_2fa")] == ["account.enable_2fa"]


def test_an_enrolled_user_cannot_replace_the_second_factor_with_a_session_alone(app, web, world):
    web.login("supervisor")
    secret = enrol_through_pages(web)
    before = user_row("supervisor")
    response = web.get("/account/two-factor")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    attacker_secret = pyotp.random_base32()
    web.post("/account/two-factor", {"code": pyotp.TOTP(attacker_secret).now(), "password": factories.PASSWORD})
    after = user_row("supervisor")
    assert after.totp_secret == before.totp_secret and after.totp_pending is None
    assert totp.open_secret(after.id, "totp_secret", after.totp_secret) == secret


def test_confirming_with_a_wrong_code_leaves_it_off(app, web, world):
    web.login("supervisor")
    html = web.get("/account/two-factor").get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(html).group(1)
    wrong = code_at_step_offset(secret, 5)
    response = web.post("/account/two-factor",
                        {"code": wrong, "password": factories.PASSWORD, "csrf_token": csrf_token_of(html)})
    assert response.status_code == 200
    assert "That code is not valid." in response.get_data(as_text=True)
    # The page keeps showing the same pending key, so the user can try again with the app they just set up.
    assert SECRET_ON_PAGE.search(response.get_data(as_text=True)).group(1) == secret
    assert not user_row("supervisor").has_totp


def test_after_enrolment_login_needs_the_code(app, web, world):
    web.login("supervisor")
    secret = enrol_through_pages(web)
    web.logout()
    fresh = new_web(app)
    response = fresh.login("supervisor")
    assert GENERIC_LOGIN_ERROR in response.get_data(as_text=True)
    assert not logged_in(fresh.client)
    # The enrolment code's step is used up; the next step's code is within the window.
    response = fresh.login("supervisor", code=code_at_step_offset(secret, 1))
    assert response.status_code == 302
    assert logged_in(fresh.client)


def test_a_code_two_steps_old_is_refused_at_login(app, web, world):
    web.login("supervisor")
    secret = enrol_through_pages(web)
    web.logout()
    wait_clear_of_step_boundary()
    assert GENERIC_LOGIN_ERROR in web.login("supervisor", code=code_at_step_offset(secret, -2)).get_data(as_text=True)
    assert GENERIC_LOGIN_ERROR in web.login("supervisor", code=code_at_step_offset(secret, 2)).get_data(as_text=True)
    assert web.login("supervisor", code=code_at_step_offset(secret, 1)).status_code == 302


def test_a_code_used_to_log_in_cannot_be_replayed(app, web, world):
    web.login("supervisor")
    secret = enrol_through_pages(web)
    web.logout()
    code = code_at_step_offset(secret, 1)
    assert web.login("supervisor", code=code).status_code == 302
    assert user_row("supervisor").totp_last_step == int(time.time() // 30) + 1
    web.logout()
    replay = new_web(app)
    response = replay.login("supervisor", code=code)
    assert response.status_code == 200
    assert GENERIC_LOGIN_ERROR in response.get_data(as_text=True)
    assert not logged_in(replay.client)


def test_concurrent_logins_with_one_code_accept_it_only_once(app, world):
    """Two workers check the same code at the same moment: the step is claimed atomically, so only one wins."""
    secret = accounts.begin_totp_enrolment(world.supervisor)
    wait_clear_of_step_boundary(5)
    accounts.confirm_totp_enrolment(world.supervisor, pyotp.TOTP(secret).now(), factories.PASSWORD)
    world.supervisor.totp_last_step = None
    db.session.commit()
    code = pyotp.TOTP(secret).now()
    outcome = {}

    def second_login():
        with app.test_request_context():
            try:
                authenticate("supervisor", factories.PASSWORD, code)
                db.session.commit()
                outcome["second"] = "accepted"
            except LoginFailed:
                outcome["second"] = "refused"

    def first_login():
        with app.test_request_context():
            authenticate("supervisor", factories.PASSWORD, code)  # accepted, not yet committed
            racer = threading.Thread(target=contextvars.Context().run, args=(second_login,))
            racer.start()
            racer.join(0.5)  # the second login runs until it has to wait for this transaction
            db.session.commit()
            racer.join(15)

    contextvars.Context().run(first_login)
    assert outcome == {"second": "refused"}


# --- storage ------------------------------------------------------------------------------------------------

def test_totp_secrets_are_stored_encrypted(app, web, world):
    web.login("supervisor")
    pending_html = web.get("/account/two-factor").get_data(as_text=True)
    pending = SECRET_ON_PAGE.search(pending_html).group(1)
    raw_pending = db.session.execute(text("SELECT totp_pending FROM users WHERE username = 'supervisor'")).scalar()
    db.session.commit()
    assert raw_pending and pending.encode() not in bytes(raw_pending)
    secret = enrol_through_pages(web)
    raw = bytes(db.session.execute(text("SELECT totp_secret FROM users WHERE username = 'supervisor'")).scalar())
    db.session.commit()
    assert secret.encode() not in raw
    assert secret.encode() not in raw.hex().upper().encode()
    import base64

    assert base64.b32decode(secret) not in raw


def test_a_secret_copied_to_another_user_does_not_decrypt(app, world):
    """The ciphertext is bound to its user and column, so copying the column between rows achieves nothing."""
    blob = totp.seal_secret(world.supervisor.id, "totp_secret", SECRET)
    assert totp.open_secret(world.supervisor.id, "totp_secret", blob) == SECRET
    with pytest.raises(DecryptionError):
        totp.open_secret(world.caseworker.id, "totp_secret", blob)
    with pytest.raises(DecryptionError):
        totp.open_secret(world.supervisor.id, "totp_pending", blob)


# --- turning it off ---------------------------------------------------------------------------------------------

def test_turning_two_factor_off_needs_the_passphrase(app, web, world):
    web.login("caseworker")
    enrol_through_pages(web)
    web.post("/account/two-factor/disable", {"password": "not-my-passphrase-at-all-5"})
    assert user_row("caseworker").has_totp
    web.post("/account/two-factor/disable", {"password": factories.PASSWORD})
    assert not user_row("caseworker").has_totp
    assert len(events("account.disable_2fa")) == 1


# --- required for supervisors and administrators -------------------------------------------------------------

@pytest.fixture
def strict_app(tmp_path, backend):
    with separate_app(tmp_path, backend, "2fa", REQUIRE_2FA="true") as application:
        with application.test_request_context():
            factories.world()
        yield application


def _page_urls(application) -> list[str]:
    return [
        dummy_url(application, rule) for rule in rules(application, "GET")
        if rule.endpoint not in PUBLIC_ENDPOINTS | ENROLMENT_ENDPOINTS
    ]


@pytest.mark.parametrize("username", ["supervisor", "admin"])
def test_required_roles_are_sent_to_enrolment_from_every_page_until_enrolled(strict_app, username):
    web = new_web(strict_app)
    response = web.login(username)
    assert response.headers["Location"] == "/account/two-factor"
    urls = _page_urls(strict_app)
    assert "/account" in urls and "/admin/users" in urls and "/cases/" in urls
    for url in urls:
        response = web.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor", url
    # A form post elsewhere is refused the same way and changes nothing.
    response = web.post("/account/password", {"current": factories.PASSWORD, "new": "amber-quarry-whistle-nectar-27",
                                              "confirm": "amber-quarry-whistle-nectar-27"},
                        token_page="/account/two-factor")
    assert response.headers["Location"] == "/account/two-factor"
    page = web.get("/account/two-factor").get_data(as_text=True)
    assert "Your role requires two-factor login." in page
    enrol_through_pages(web)
    assert web.get("/account").status_code == 200
    home = web.get("/")  # a supervisor's work list, or an administrator's users page; never the enrolment again
    assert home.status_code == 200 or home.headers["Location"] != "/account/two-factor"


@pytest.mark.parametrize("username", ["caseworker", "hotline", "mission"])
def test_other_roles_are_not_forced_to_enrol(strict_app, username):
    web = new_web(strict_app)
    assert web.login(username).headers["Location"] == "/"
    assert web.get("/account").status_code == 200
    assert web.get("/cases/").status_code == 200


def test_required_two_factor_cannot_be_turned_off(strict_app):
    web = new_web(strict_app)
    web.login("supervisor")
    enrol_through_pages(web)
    web.post("/account/two-factor/disable", {"password": factories.PASSWORD})
    with strict_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "supervisor"))
        assert user.has_totp


def test_turning_two_factor_on_needs_the_passphrase_and_failures_count(app, web, world):
    """A stolen session alone cannot attach the thief's authenticator to the account."""
    web.login("caseworker")
    html = web.get("/account/two-factor").get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(html).group(1)
    response = web.post("/account/two-factor", {"code": pyotp.TOTP(secret).now(), "password": "not-my-passphrase-9",
                                                "csrf_token": csrf_token_of(html)})
    assert response.status_code == 200
    assert "Your current passphrase is not correct." in response.get_data(as_text=True)
    row = user_row("caseworker")
    assert row.totp_secret is None
    assert row.failed_logins == 1
