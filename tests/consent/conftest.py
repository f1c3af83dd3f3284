from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()
