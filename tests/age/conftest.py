from __future__ import annotations

import pytest

from tests import factories

# Every request runs in its own app context, even while the test holds one (see IsolatedClient).
from tests.auth.support import isolated_client  # noqa: F401


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()
