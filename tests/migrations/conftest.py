import pytest

from tests.conftest import BACKENDS
from tests.migrations.demo_data import build_template, drop_clone, drop_template
from tests.migrations.logging_guard import keep_logging_config  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="session", params=BACKENDS)
def demo_template(request, tmp_path_factory):
    """A database at head with the demo data and a row in every table, built once per backend (tests copy it)."""
    template = build_template(request.param, tmp_path_factory.mktemp(f"demo-template-{request.param}"))
    yield template
    drop_template(template)


@pytest.fixture
def demo_app(demo_template):
    """An app on a copy of the demo database, its context pushed."""
    application, url = demo_template.clone()
    try:
        with application.app_context():
            yield application
    finally:
        drop_clone(application, url)


@pytest.fixture
def sqlite_only(demo_template):
    """Name it before demo_app: skips before the PostgreSQL copy is made."""
    if demo_template.backend != "sqlite":
        pytest.skip("SQLite only")
