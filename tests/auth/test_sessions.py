"""Sessions (ASVS 3.2-3.4): a new id at login, logout and timeouts end the server-side session, a passphrase change
or an administrator's action ends the other sessions, and the cookie carries the right flags."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import update

from casemgmt.accounts.models import UserSession
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from tests import factories
from tests.admin.support import decide, pending
from tests.auth.support import (
    COOKIE,
    cookie,
    csrf_token_of,
    is_login_redirect,
    logged_in,
    new_web,
    separate_app,
    session_rows,
)
from tests.conftest import test_root_keys

NEW = "amber-quarry-whistle-nectar-27"


def _age(user_id: int, *, idle: timedelta | None = None, age: timedelta | None = None) -> None:
    values = {}
    if idle is not None:
        values["last_seen_at"] = utcnow() - idle
    if age is not None:
        values["created_at"] = utcnow() - age
    db.session.execute(update(UserSession).where(UserSession.user_id == user_id).values(**values))
    db.session.commit()


def _replay(app, value: str):
    other = new_web(app)
    other.client.set_cookie(COOKIE, value)
    return other


def _token_in(app, value: str) -> str:
    return app.session_interface.get_signing_serializer(app).loads(value)["_user_id"]


def test_session_cookie_changes_at_login_and_the_pre_login_cookie_stays_anonymous(app, web, world):
    web.token("/login")
    before = cookie(web.client)
    assert before
    web.login("caseworker")
    after = cookie(web.client)
    assert after and after != before
    # An attacker who planted or read the pre-login cookie gains nothing.
    assert not logged_in(_replay(app, before).client)
    assert logged_in(web.client)


def test_login_keeps_only_the_chosen_language_from_the_pre_login_session(app, web, world):
    web.post("/language", {"language": "es"}, token_page="/login")
    before = app.session_interface.get_signing_serializer(app).loads(cookie(web.client))
    assert before.get("language") == "es" and "csrf_token" in before
    web.login("caseworker")
    after = app.session_interface.get_signing_serializer(app).loads(cookie(web.client))
    assert after["language"] == "es"
    assert after.get("csrf_token") != before["csrf_token"]  # the pre-login CSRF secret is gone
    assert '<html lang="es">' in web.get("/account").get_data(as_text=True)


def test_each_login_gets_its_own_random_token_and_only_its_hash_is_stored(app, web, world):
    web.login("caseworker")
    second = new_web(app)
    second.login("caseworker")
    first_token, second_token = _token_in(app, cookie(web.client)), _token_in(app, cookie(second.client))
    assert first_token != second_token and len(first_token) >= 40
    stored = {row.token_hash for row in session_rows(world.caseworker.id)}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (first_token, second_token)}
    assert first_token not in stored and second_token not in stored


def test_logout_deletes_the_server_side_session_so_the_old_cookie_is_useless(app, web, world):
    web.login("caseworker")
    stolen = cookie(web.client)
    assert logged_in(_replay(app, stolen).client)
    response = web.logout()
    assert is_login_redirect(response)
    assert session_rows(world.caseworker.id) == []
    assert not logged_in(web.client)
    assert not logged_in(_replay(app, stolen).client)


def test_logout_ends_the_users_other_sessions_too(app, web, world):
    web.login("caseworker")
    other = new_web(app)
    other.login("caseworker")
    assert logged_in(other.client)
    colleague = new_web(app)
    colleague.login("caseworkerb")
    assert len(session_rows(world.caseworker.id)) == 2
    web.logout()
    assert session_rows(world.caseworker.id) == []
    assert not logged_in(other.client)
    # Someone else's session is untouched.
    assert logged_in(colleague.client)


def test_logout_needs_post_and_a_csrf_token(app, web, world):
    web.login("caseworker")
    assert web.get("/logout").status_code == 405
    assert web.client.post("/logout").status_code == 400
    assert len(session_rows(world.caseworker.id)) == 1
    assert logged_in(web.client)


def test_idle_session_is_logged_out_and_deleted(app, web, world):
    web.login("caseworker")
    _age(world.caseworker.id, idle=timedelta(minutes=31))
    response = web.get("/cases/")
    assert is_login_redirect(response)
    assert session_rows(world.caseworker.id) == []
    assert not logged_in(web.client)


def test_activity_within_the_idle_limit_keeps_the_session_and_refreshes_it(app, web, world):
    web.login("caseworker")
    _age(world.caseworker.id, idle=timedelta(minutes=29))
    assert logged_in(web.client)
    (row,) = session_rows(world.caseworker.id)
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)
    # Now that it was refreshed, the session survives another 29 minutes of quiet.
    _age(world.caseworker.id, idle=timedelta(minutes=29))
    assert logged_in(web.client)


def test_absolute_timeout_ends_even_an_active_session(app, web, world):
    web.login("caseworker")
    _age(world.caseworker.id, idle=timedelta(seconds=0), age=timedelta(hours=12, minutes=1))
    assert not logged_in(web.client)
    assert session_rows(world.caseworker.id) == []


def test_session_of_an_account_disabled_in_the_database_is_refused(app, web, world):
    web.login("caseworker")
    world.caseworker.active = False
    db.session.commit()
    assert not logged_in(web.client)


def test_idle_limit_follows_the_setting(tmp_path, backend):
    with separate_app(tmp_path, backend, "idle", SESSION_IDLE_MINUTES=5, SESSION_ABSOLUTE_HOURS=1) as other:
        with other.test_request_context():
            worker = factories.user(factories.organisation("Org"), "caseworker", "worker")
            worker_id = worker.id
        web = new_web(other)
        assert web.login("worker").status_code == 302
        with other.test_request_context():
            _age(worker_id, idle=timedelta(minutes=4))
        assert logged_in(web.client)
        with other.test_request_context():
            _age(worker_id, idle=timedelta(minutes=6))
        assert not logged_in(web.client)
        assert web.login("worker").status_code == 302
        with other.test_request_context():
            _age(worker_id, idle=timedelta(0), age=timedelta(minutes=61))
        assert not logged_in(web.client)


def test_passphrase_change_ends_the_other_sessions_but_keeps_this_one(app, web, world):
    web.login("caseworker")
    elsewhere = new_web(app)
    elsewhere.login("caseworker")
    colleague = new_web(app)
    colleague.login("caseworkerb")
    assert len(session_rows(world.caseworker.id)) == 2
    response = web.post("/account/password", {"current": factories.PASSWORD, "new": NEW, "confirm": NEW},
                        token_page="/account/password")
    assert response.status_code == 302
    assert logged_in(web.client)
    assert not logged_in(elsewhere.client)
    assert len(session_rows(world.caseworker.id)) == 1
    assert logged_in(colleague.client)


def _admin_action(app, world, path: str, data: dict):
    admin = new_web(app)
    assert admin.login("admin").status_code == 302
    page = f"/admin/users/{world.caseworker.id}"
    response = admin.post(f"{page}/{path}", {"admin_password": factories.PASSWORD, **data}, token_page=page)
    assert response.status_code == 302
    request = pending(world.caseworker.id)
    if request is not None:  # a reset or a role change of a case-reading account takes effect at approval
        assert decide(app, "supervisor", request.id).status_code in (200, 302)
    return response


@pytest.mark.parametrize(("path", "data"), [
    ("reset", {}),
    ("disable", {}),
    ("role", {"role": "supervisor"}),
])
def test_administrator_actions_end_the_users_sessions(app, web, world, path, data):
    web.login("caseworker")
    elsewhere = new_web(app)
    elsewhere.login("caseworker")
    colleague = new_web(app)
    colleague.login("caseworkerb")
    _admin_action(app, world, path, data)
    assert session_rows(world.caseworker.id) == []
    assert not logged_in(web.client)
    assert not logged_in(elsewhere.client)
    assert logged_in(colleague.client)


def _set_cookie_header(response, name: str = COOKIE) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert headers, "no session cookie set"
    return headers[-1]


def test_session_cookie_is_httponly_and_samesite_strict(app, web, world):
    response = web.login("caseworker")
    header = _set_cookie_header(response)
    assert "HttpOnly" in header
    assert "SameSite=Strict" in header
    assert "Secure" not in header  # plain http in tests; production sets it (below)


def test_production_session_cookie_is_also_secure(tmp_path):
    with separate_app(tmp_path, "sqlite", "prod", ENV="production", ALLOW_SQLITE_IN_PRODUCTION="true",
                      ROOT_KEYS=test_root_keys()) as prod:
        assert prod.config["SESSION_COOKIE_SECURE"] is True
        assert prod.debug is False and prod.testing is False
        with prod.test_request_context():
            factories.user(factories.organisation("Org"), "caseworker", "worker")
        web = new_web(prod)
        page = web.client.get("/login", base_url="https://localhost")
        assert "Strict-Transport-Security" in page.headers
        response = web.client.post("/login", base_url="https://localhost",
                                   headers={"Referer": "https://localhost/login"},
                                   data={"username": "worker", "password": factories.PASSWORD,
                                         "csrf_token": csrf_token_of(page.get_data(as_text=True))})
        assert response.status_code == 302, response.get_data(as_text=True)
        # The __Host- prefix: browsers accept it only Secure, host-only (no Domain) and for path /.
        header = _set_cookie_header(response, "__Host-" + COOKIE)
        for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            assert flag in header
        assert "Domain=" not in header


def test_login_sweeps_the_users_abandoned_sessions(app, web, world):
    abandoned = new_web(app)
    abandoned.login("caseworker")
    _age(world.caseworker.id, idle=timedelta(minutes=31))
    web.login("caseworker")
    rows = session_rows(world.caseworker.id)
    assert len(rows) == 1
    assert utcnow() - rows[0].last_seen_at < timedelta(minutes=1)
