"""An app on SQLite with two users, shared by the module's tests: static files and compression do not depend on the
database backend, so these tests run once rather than once per backend."""

from __future__ import annotations

import pytest

from casemgmt.extensions import db
from tests import factories
from tests.conftest import Web, make_test_app, new_client


@pytest.fixture(scope="module")
def assets_app(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("assets")
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'assets.db'}")
    with app.test_request_context():
        db.create_all()
        factories.world()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def anonymous(assets_app):
    return new_client(assets_app)


@pytest.fixture
def caseworker(assets_app) -> Web:
    web = Web(new_client(assets_app))
    assert web.login("caseworker").status_code == 302
    return web
