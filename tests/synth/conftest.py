"""One synthetic build of ~200 cases per backend, shared by the package's modules (a build per test, or per module,
would take minutes); it has its own app, like tests/demo, because the `app` fixture empties its database after each
test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from flask import Flask

from casemgmt.extensions import db
from casemgmt.synth import build
from tests import factories
from tests.conftest import drop_postgres_database, make_test_app, postgres_database

N_CASES = 200
NOW = datetime(2026, 11, 1, 12, 0)  # fixed, so the data is the same on any day


@dataclass
class Built:
    app: Flask
    result: dict


@pytest.fixture(scope="package")
def built(backend, tmp_path_factory) -> Built:
    url = postgres_database("synth") if backend == "postgresql" else None
    app = make_test_app(tmp_path_factory.mktemp(f"synth-{backend}"), url)
    with app.app_context():
        db.create_all()
        result = build(N_CASES, seed=7, password=factories.PASSWORD, now=NOW)
    yield Built(app, result)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if url:
        drop_postgres_database(url)
