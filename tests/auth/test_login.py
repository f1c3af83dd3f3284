"""Login: the happy path, one generic message for every failure, argon2id, throttling and its audit trail."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.app import _migrations_dir
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import (
    GENERIC_LOGIN_ERROR,
    cookie,
    events,
    logged_in,
    session_rows,
    user_row,
    wait_clear_of_step_boundary,
)
from tests.conftest import make_test_app

WRONG = "not-the-right-passphrase-at-all-91"


def test_login_success_redirects_home_and_starts_a_server_side_session(app, web, world):
    assert session_rows(world.caseworker.id) == []
    response = web.login("caseworker")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert cookie(web.client)
    assert len(session_rows(world.caseworker.id)) == 1
    assert logged_in(web.client)
    row = user_row("caseworker")
    assert row.last_login_at is not None
    assert row.failed_logins == 0
    success = events("login.success")
    assert [e.actor_id for e in success] == [world.caseworker.id]


def test_username_is_matched_case_insensitively(app, web, world):
    assert web.login("  CaseWorker ").status_code == 302
    assert logged_in(web.client)


def test_authenticated_user_visiting_login_is_sent_home(app, web, world):
    web.login("caseworker")
    response = web.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def _enrol(user) -> str:
    secret = accounts.begin_totp_enrolment(user)
    accounts.confirm_totp_enrolment(user, pyotp.TOTP(secret).now(), factories.PASSWORD)
    # Forget the accepted step, so the login below may use the code of the current step again.
    user.totp_last_step = None
    db.session.commit()
    return secret


def _normalised(html: str) -> str:
    """The page without what legitimately differs between attempts: CSRF tokens, the typed username and code."""
    html = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "CSRF", html)
    return re.sub(r'(id="(?:username|code)"[^>]*value=")[^"]*"', r'\1TYPED"', html)


FAILURES = {
    "wrong passphrase": lambda w: ("caseworker", WRONG, ""),
    "unknown user": lambda w: ("nobody-here", factories.PASSWORD, ""),
    "disabled user": lambda w: ("caseworkerb", factories.PASSWORD, ""),
    "wrong one-time code": lambda w: ("supervisor", factories.PASSWORD, "WRONG"),
    "missing one-time code": lambda w: ("supervisor", factories.PASSWORD, ""),
    "right code, wrong passphrase": lambda w: ("supervisor", WRONG, "RIGHT"),
}


def test_every_failure_shows_the_same_generic_message(app, web, world):
    accounts.set_active(SYSTEM, world.caseworker_b, False)
    db.session.commit()
    secret = _enrol(world.supervisor)
    pages = {}
    for name, attempt in FAILURES.items():
        username, password, code = attempt(world)
        wait_clear_of_step_boundary()
        now_code = pyotp.TOTP(secret).now()
        if code == "RIGHT":
            code = now_code
        elif code == "WRONG":
            code = f"{(int(now_code) + 1) % 1_000_000:06d}"
        response = web.login(username, password, code)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert GENERIC_LOGIN_ERROR in html, name
        assert not logged_in(web.client), name
        pages[name] = _normalised(html)
    assert len(set(pages.values())) == 1, "failure pages differ: " + ", ".join(pages)
    # The reasons are in the audit trail (for the administrator), never on the page.
    reasons = {e.details for e in events("login.failure")}
    for reason in ("password", "unknown_account", "inactive", "one_time_code"):
        assert any(reason in details for details in reasons), reason


def test_disabled_user_with_right_passphrase_gets_no_session(app, web, world):
    accounts.set_active(SYSTEM, world.caseworker, False)
    db.session.commit()
    web.login("caseworker")
    assert session_rows(world.caseworker.id) == []


def test_passphrase_is_stored_as_argon2id(app, world):
    row = user_row("caseworker")
    assert row.password_hash.startswith("$argon2id$")
    assert factories.PASSWORD not in row.password_hash


def test_production_argon2_cost_is_at_least_owasp_minimum(tmp_path):
    from casemgmt.settings import load_settings

    settings = load_settings(environ={"CASEMGMT_INSTANCE_PATH": str(tmp_path)})
    # OWASP Password Storage Cheat Sheet: argon2id with m >= 19 MiB, t >= 2, p = 1.
    assert settings.argon2_memory_kib >= 19_456
    assert settings.argon2_time_cost >= 2


def test_more_than_five_failures_in_a_minute_lock_the_account(app, web, world):
    for attempt in range(1, 6):
        web.login("caseworker", WRONG)
        row = user_row("caseworker")
        assert row.failed_logins == attempt
        assert row.locked_until is None
    assert events("login.locked") == []
    # The sixth failure within the minute locks the account.
    web.login("caseworker", WRONG)
    row = user_row("caseworker")
    assert row.locked_until is not None and row.locked_until > utcnow() + timedelta(minutes=10)
    locked = events("login.locked")
    assert len(locked) == 1 and locked[0].object_id == str(world.caseworker.id)
    # Now even the right passphrase is refused, with the same message, and no session is created.
    response = web.login("caseworker")
    assert response.status_code == 200
    assert GENERIC_LOGIN_ERROR in response.get_data(as_text=True)
    assert not logged_in(web.client)
    assert session_rows(world.caseworker.id) == []
    throttled = events("login.throttled")
    assert len(throttled) == 1 and throttled[0].outcome == "denied"
    # Other accounts are not affected.
    assert web.login("caseworkerb").status_code == 302


def test_account_unlocks_when_locked_until_has_passed(app, web, world):
    for _ in range(6):
        web.login("caseworker", WRONG)
    assert user_row("caseworker").locked_until is not None
    assert web.login("caseworker").status_code == 200
    row = user_row("caseworker")
    row.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = web.login("caseworker")
    assert response.status_code == 302
    assert logged_in(web.client)
    row = user_row("caseworker")
    assert (row.failed_logins, row.locked_until, row.failure_window_start) == (0, None, None)


def test_failures_spread_over_more_than_a_minute_start_a_new_count(app, web, world):
    for _ in range(5):
        web.login("caseworker", WRONG)
    row = user_row("caseworker")
    assert row.failed_logins == 5
    row.failure_window_start = utcnow() - timedelta(seconds=61)
    db.session.commit()
    web.login("caseworker", WRONG)
    row = user_row("caseworker")
    assert row.failed_logins == 1
    assert row.locked_until is None


def test_successful_login_resets_the_failure_count(app, web, world):
    for _ in range(3):
        web.login("caseworker", WRONG)
    assert web.login("caseworker").status_code == 302
    assert user_row("caseworker").failed_logins == 0


def test_the_lock_threshold_follows_the_setting(tmp_path, backend):
    from tests.auth.support import new_web, separate_app

    with separate_app(tmp_path, backend, "lock", LOGIN_MAX_FAILURES=2, LOGIN_LOCK_MINUTES=1) as other:
        with other.test_request_context():
            factories.user(factories.organisation("Org"), "caseworker", "worker")
        web = new_web(other)
        for _ in range(3):
            web.login("worker", WRONG)
        with other.app_context():
            row = user_row("worker")
            assert row.locked_until is not None
            assert row.locked_until < utcnow() + timedelta(minutes=1, seconds=5)
        assert web.login("worker").status_code == 200


def test_audit_events_exist_and_never_contain_passphrases_or_codes(app, web, world):
    secret = _enrol(world.supervisor)
    web.login("nobody", "unknown-user-passphrase-77")
    for _ in range(6):
        web.login("caseworker", WRONG)
    web.login("caseworker")  # throttled
    wait_clear_of_step_boundary()
    code = pyotp.TOTP(secret).now()
    assert web.login("supervisor", code=code).status_code == 302
    actions = {e.action for e in events()}
    assert {"login.failure", "login.locked", "login.throttled", "login.success"} <= actions
    secrets_used = [WRONG, factories.PASSWORD, "unknown-user-passphrase-77", code, secret]
    for event in events():
        text = " ".join(str(getattr(event, c.name)) for c in AuditEvent.__table__.columns)
        for value in secrets_used:
            assert value not in text, (event.action, value)


def test_no_default_account_on_a_fresh_database(tmp_path):
    """ASVS 2.5.4: neither create_all nor the migrations create an account, so admin/admin cannot exist."""
    app = make_test_app(tmp_path, None)
    with app.app_context():
        upgrade(directory=str(_migrations_dir()))
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.session.remove()
        db.engine.dispose()
    from tests.auth.support import new_web

    web = new_web(app)
    for username, password in (("admin", "admin"), ("administrator", "administrator"), ("root", "root")):
        assert web.login(username, password).status_code == 200


@pytest.mark.parametrize("field", ["username", "password"])
def test_missing_fields_do_not_log_in(app, web, world, field):
    data = {"username": "caseworker", "password": factories.PASSWORD}
    data[field] = ""
    response = web.client.post("/login", data={**data, "csrf_token": web.token("/login")})
    assert response.status_code == 200
    assert not logged_in(web.client)
