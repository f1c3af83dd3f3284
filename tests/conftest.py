"""Fixtures: a real app on real databases (SQLite and PostgreSQL), real encryption, real CSRF.

Every test that uses `app` (directly or through `client`, `web`, `ctx`) runs once per backend. The backends come
from CASEMGMT_TEST_BACKENDS (default "sqlite,postgresql"). PostgreSQL is reached at CASEMGMT_TEST_POSTGRES_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); each pytest worker creates its own database there.
Outside CI a missing PostgreSQL server skips those tests with a message; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import base64
import contextvars
import os
import re
import secrets

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, exc, select, text
from sqlalchemy.engine import make_url

from casemgmt import create_app
from casemgmt.accounts.models import User
from casemgmt.core import submissions
from casemgmt.extensions import db
from tests import factories

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("CASEMGMT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("CASEMGMT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


def test_root_keys() -> str:
    return "1:" + base64.b64encode(secrets.token_bytes(32)).decode()


test_root_keys.__test__ = False  # not a test


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def postgres_database(suffix: str) -> str:
    """Create (or re-create) a private database and return its URL; skip or fail when the server is away."""
    admin_url = make_url(PG_ADMIN_URL)
    # The process id keeps two test runs on one server (two checkouts, a helper and CI) out of each other's way.
    name = f"casemgmt_test_{_worker()}_{os.getpid()}_{suffix}"
    try:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL is not reachable at {admin_url.render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return admin_url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def make_test_app(tmp_path, database_url: str | None, **overrides):
    settings = {
        "ENV": "testing",
        "INSTANCE_PATH": str(tmp_path),
        "ROOT_KEYS": test_root_keys(),
        "SECRET_KEY": secrets.token_urlsafe(48),
        # Cheap hashing keeps the suite fast; production cost is tested in tests/auth/test_passwords.py.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 8,
        "REQUIRE_2FA": "false",
        # A small expected size gives short blind indexes, so tests see real collisions.
        "EXPECTED_CASES": 1000,
        # The suite logs in hundreds of times from 127.0.0.1; tests/security/test_rate_limits.py turns limits on.
        "RATELIMIT_ENABLED": "false",
    }
    if database_url:
        settings["DATABASE_URL"] = database_url
    settings.update(overrides)
    return create_app(overrides=settings)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


def built_app(backend: str, tmp, name: str, **overrides):
    """An app on a database of its own (created with create_all), dropped when the generator closes: for fixtures."""
    url = postgres_database(name) if backend == "postgresql" else None
    application = make_test_app(tmp, url, **overrides)
    with application.app_context():
        db.create_all()
        if url:
            # _wipe deletes rather than truncates: with autovacuum off the deleted rows' space is not handed back
            # during the run, so each test's rows are appended and a scan without ORDER BY still returns them in the
            # order they were written, as after a TRUNCATE (a test that relies on that order would otherwise fail
            # now and then, whenever autovacuum had run).
            with db.engine.begin() as conn:
                for table in db.metadata.sorted_tables:
                    conn.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false, '
                                      f'toast.autovacuum_enabled = false)'))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if url:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    yield from built_app(backend, tmp_path_factory.mktemp(f"instance-{backend}"), "app")


def _wipe(application) -> None:
    with application.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        # DELETE, children first, rather than PostgreSQL's TRUNCATE: after most tests nearly every table is empty,
        # and TRUNCATE of ~90 tables costs 120-170 ms (new files for every table and index) where DELETE costs
        # ~10 ms, on each of the suite's thousands of tests. The sequences restart as TRUNCATE's RESTART IDENTITY
        # made them. A delete that fails (a cycle of foreign keys) falls back to TRUNCATE.
        try:
            with db.engine.begin() as conn:
                for table in tables:
                    conn.execute(table.delete())
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                                      "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))
        except exc.IntegrityError:
            if db.engine.dialect.name != "postgresql":
                raise
            with db.engine.begin() as conn:
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Each test starts from empty tables, whichever backend it runs on."""
    yield
    if "app" in request.fixturenames:
        _wipe(request.getfixturevalue("app"))


@pytest.fixture
def ctx(app):
    """An app context plus a request context, as operations expect inside a request."""
    with app.test_request_context():
        yield
        db.session.rollback()
        db.session.remove()


class IsolatedClient(FlaskClient):
    """A test client whose requests never reuse the test's own app context.

    Flask reuses an app context that is already pushed for the same app, and `ctx` keeps one pushed. Without
    isolation every request would share `g` with the test and with each other: Flask-Login's cached current user
    would survive a logout or a foreign cookie, and Flask-WTF's cached CSRF token would outlive its session. Running
    each request in an empty contextvars.Context gives it its own contexts, as in production.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def new_client(application) -> IsolatedClient:
    return IsolatedClient(application, application.response_class, use_cookies=True)


@pytest.fixture
def client(app):
    return new_client(app)


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# The names a creating form's single-use token goes by (casemgmt/core/submissions.py); the transfer form is prefixed.
SUBMISSION_FIELDS = ("submission_token", "transfer-submission_token")


def submission_token(application, username: str) -> str:
    """A fresh single-use submission token for `username`, as a creating form shown to them would carry."""

    def issue() -> str:
        with application.app_context():
            user_id = db.session.scalar(select(User.id).where(User.username == username))
            db.session.remove()
            return submissions.issue(user_id)

    return contextvars.Context().run(issue)  # outside the test's own contexts, like a request


class Web:
    """A test client that behaves like a browser user: it logs in through the form and sends CSRF tokens."""

    def __init__(self, client):
        self.client = client
        self._token: str | None = None
        self.username: str | None = None

    def token(self, page: str = "/login") -> str:
        html = self.client.get(page).get_data(as_text=True)
        match = CSRF_INPUT.search(html)
        assert match, f"no CSRF token on {page}"
        self._token = match.group(1)
        return self._token

    def login(self, username: str, password: str = factories.PASSWORD, code: str = "", follow: bool = False):
        token = self.token("/login")
        self.username = username
        response = self.client.post(
            "/login", data={"username": username, "password": password, "code": code, "csrf_token": token},
            follow_redirects=follow,
        )
        self._token = None  # login starts a new session, and with it a new CSRF token
        return response

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, token_page: str = "/account", **kwargs):
        payload = dict(data or {})
        if "csrf_token" not in payload:
            payload["csrf_token"] = self._token or self.token(token_page)
        # A creating form carries a single-use token, as a browser that showed the form would send; a test that
        # sends its own (or an empty one) keeps it. Other forms ignore the extra field.
        if self.username and not any(name in payload for name in SUBMISSION_FIELDS):
            token = submission_token(self.client.application, self.username)
            payload.update(dict.fromkeys(SUBMISSION_FIELDS, token))
        return self.client.post(url, data=payload, **kwargs)

    def logout(self):
        return self.post("/logout")


def signed_in(application, username: str) -> Web:
    """A browser-like client of its own, logged in as `username` with the factories' passphrase."""
    web = Web(new_client(application))
    web.login(username)
    return web


@pytest.fixture
def web(client):
    return Web(client)


@pytest.fixture
def world(ctx):
    """Two NGOs and an IOM mission with one user of each role (see tests/factories.py)."""
    return factories.world()
