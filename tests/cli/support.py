"""Helpers shared by tests/crypto, tests/audit and tests/cli: private databases, extra apps, running the CLI."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from casemgmt.extensions import db
from tests.conftest import drop_postgres_database, make_test_app, postgres_database


def new_root_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def ring(**versions: str) -> str:
    """ring(v1=key, v2=key) -> '1:key,2:key', the CASEMGMT_ROOT_KEYS format."""
    return ",".join(f"{name.removeprefix('v')}:{key}" for name, key in sorted(versions.items()))


class PrivateDatabase:
    """A database of its own for tests that need several apps (e.g. different key rings) on the same data."""

    def __init__(self, backend: str, tmp_path: Path, suffix: str):
        self.backend = backend
        self.tmp_path = tmp_path
        if backend == "postgresql":
            self.url = postgres_database(suffix)
        else:
            self.url = f"sqlite:///{tmp_path / f'{suffix}.db'}"
        self._apps = []

    def app(self, root_keys: str, name: str = "app", **overrides):
        instance = self.tmp_path / f"instance-{name}"
        instance.mkdir(exist_ok=True)
        application = make_test_app(instance, self.url, ROOT_KEYS=root_keys, **overrides)
        self._apps.append(application)
        return application

    def create_schema(self, application) -> None:
        with application.app_context():
            db.create_all()

    def close(self) -> None:
        for application in self._apps:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
        if self.backend == "postgresql":
            drop_postgres_database(self.url)


@contextmanager
def private_database(backend: str, tmp_path: Path, suffix: str):
    database = PrivateDatabase(backend, tmp_path, suffix)
    try:
        yield database
    finally:
        database.close()


def run_cli(application, args: list[str], input: str | None = None):
    """Invoke a `casemgmt` command the way the console script does: in a fresh app context (so with a database
    session of its own, like a separate process), which FlaskGroup pushes and app.test_cli_runner() does not."""
    runner = application.test_cli_runner()  # click >= 8.2: result.output mixes both streams, .stderr has errors
    with application.app_context():
        try:
            return runner.invoke(args=args, input=input, catch_exceptions=False)
        finally:
            db.session.remove()


def console_script() -> list[str]:
    path = shutil.which("casemgmt")
    return [path] if path else [sys.executable, "-c", "from casemgmt.cli import main; main()"]


def cli_env(database_url: str, instance_path: Path, root_keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEMGMT_")}
    env.update({
        "CASEMGMT_ENV": "testing",
        "CASEMGMT_DATABASE_URL": database_url,
        "CASEMGMT_INSTANCE_PATH": str(instance_path),
        "CASEMGMT_ROOT_KEYS": root_keys,
        "CASEMGMT_ARGON2_TIME_COST": "1",
        "CASEMGMT_ARGON2_MEMORY_KIB": "8",
        "CASEMGMT_EXPECTED_CASES": "1000",  # as make_test_app: the blind-index length depends on it
    })
    return env


def run_console(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [*console_script(), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@contextmanager
def request(application):
    """A request context of its own, like one request: its own `g` (no cached data keys) and database session.
    Use this instead of the `ctx`/`world` fixtures in tests that also drive the `web` client: Flask reuses an app
    context that is already pushed, so the client's requests would share the test's session, `g` and CSRF token."""
    with application.test_request_context():
        try:
            yield
        finally:
            db.session.rollback()
            db.session.remove()


def make_world(application):
    """factories.world() in a context of its own; returns the usernames' and organisations' ids."""
    from tests import factories

    with request(application):
        w = factories.world()
        return SimpleNamespace(**{name: getattr(w, name).id for name in (
            "ngo", "ngo2", "mission_org", "admin", "hotline", "caseworker", "caseworker_b", "supervisor",
            "caseworker2", "supervisor2", "mission",
        )})


def user(username: str):
    from casemgmt.accounts.models import User

    return db.session.scalar(select(User).where(User.username == username))
