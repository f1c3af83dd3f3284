import pytest

from tests import factories
from tests.auth.support import (
    isolated_client,  # noqa: F401  (every request in its own app context)
    new_web,
)


@pytest.fixture
def admin(app, world):
    """Casa Esperanza's administrator, logged in."""
    web = new_web(app)
    assert web.login("admin").status_code == 302
    return web


@pytest.fixture
def install(app, world):
    """The installation administrator, logged in."""
    factories.user(world.mission_org, "installation_admin", "install")
    web = new_web(app)
    assert web.login("install").status_code == 302
    return web
