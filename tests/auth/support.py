"""Helpers shared by the auth, access, security, admin and settings tests (no mocks: real app, real database)."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

import pyotp
import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User, UserSession
from casemgmt.audit.models import AuditEvent
from casemgmt.auth import totp
from casemgmt.extensions import db
from tests.conftest import (
    CSRF_INPUT,
    IsolatedClient,
    Web,
    _wipe,
    drop_postgres_database,
    make_test_app,
    new_client,
    postgres_database,
)
from tests.factories import PASSWORD

GENERIC_LOGIN_ERROR = "The username, passphrase or code is not correct, or the account is locked for a while."
COOKIE = "casemgmt_session"
SECRET_ON_PAGE = re.compile(r'<code class="totp-secret">([A-Z2-7]+)</code>')
RECOVERY_CODE_ON_PAGE = re.compile(r"<li><code>([A-Z2-7]{5}-[A-Z2-7]{5})</code></li>")


@pytest.fixture(name="client")
def isolated_client(app) -> IsolatedClient:
    return IsolatedClient(app, app.response_class, use_cookies=True)


def new_web(application) -> Web:
    return Web(new_client(application))


def user_row(username: str) -> User:
    """The user as the database has it now (not as the test's identity map remembers it)."""
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def session_rows(user_id: int) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)))


def events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def cookie(client) -> str | None:
    found = client.get_cookie(COOKIE)
    return found.value if found else None


def csrf_token_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def logged_in(client) -> bool:
    """True when the client's session is accepted: the account page answers 200 instead of a redirect to login."""
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"], response.status_code
    return False


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].split("?")[0].endswith("/login")


def wait_clear_of_step_boundary(margin: float = 3.0) -> None:
    """Sleep past the next TOTP step boundary when it is close, so a code computed now stays in its step."""
    left = totp.STEP_SECONDS - (time.time() % totp.STEP_SECONDS)
    if left < margin:
        time.sleep(left + 0.05)


def code_at_step_offset(secret: str, offset: int) -> str:
    now = time.time()
    return pyotp.TOTP(secret, interval=totp.STEP_SECONDS).at(now + offset * totp.STEP_SECONDS)


def enrol_through_pages(web: Web) -> str:
    """Set up two-factor login as the logged-in user does it; return the secret the page showed."""
    page = web.get("/account/two-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(html).group(1)
    # Web.post would fetch a token page otherwise, and a second visit to this page starts a new enrolment.
    web._token = csrf_token_of(html)
    wait_clear_of_step_boundary()
    confirmed = web.post("/account/two-factor", {"code": pyotp.TOTP(secret).now(), "password": PASSWORD})
    # The answer is the page that shows the new recovery codes, once.
    assert confirmed.status_code == 200 and RECOVERY_CODE_ON_PAGE.search(confirmed.get_data(as_text=True)), (
        confirmed.get_data(as_text=True))
    web.recovery_codes = RECOVERY_CODE_ON_PAGE.findall(confirmed.get_data(as_text=True))
    return secret


@contextmanager
def separate_app(tmp_path, backend: str, suffix: str, **overrides):
    """A second application with other settings, on the same kind of database as the running test."""
    url = postgres_database(suffix) if backend == "postgresql" else None
    application = make_test_app(tmp_path, url, **overrides)
    with application.app_context():
        db.create_all()
    try:
        yield application
    finally:
        _wipe(application)
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        if url:
            drop_postgres_database(url)



DUMMY_ARGS = {"int": 1, "default": "00000000-0000-4000-8000-000000000000"}


def dummy_url(application, rule) -> str:
    """A URL for the rule with every parameter filled with a harmless placeholder."""
    values = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        # IdConverter: the app's own `int` converter (casemgmt/core/converters.py).
        values[name] = DUMMY_ARGS["int"] if converter in ("IntegerConverter", "IdConverter") else DUMMY_ARGS["default"]
    if rule.endpoint.endswith("static"):
        values["filename"] = "app.css"
    adapter = application.url_map.bind("localhost")
    return adapter.build(rule.endpoint, values, method=sorted(rule.methods - {"HEAD", "OPTIONS"})[0])


def rules(application, method: str | None = None) -> list:
    found = [r for r in application.url_map.iter_rules() if method is None or method in r.methods]
    return sorted(found, key=lambda r: r.rule)
