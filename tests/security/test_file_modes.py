"""Everything the application writes to disk is its owner's alone, whatever the umask (issue 10, finding 9).

The attack found the SQLite database, its -wal and -shm files and the document store at 0644/0755: anyone with an
account on the server could copy the database (encrypted fields aside, the audit trail, names of accounts, ...).
These tests start a real application under umask 0o022 and 0o000, write to the database, upload a document, and
look at the mode of every file and folder in the instance folder.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from casemgmt import create_app
from casemgmt.documents.demo import tiny_png
from casemgmt.extensions import db
from casemgmt.settings import load_settings
from tests import factories
from tests.auth.support import new_web

# The key ring and the secret key may also be read-only (0400) when an operator has made them so.
PRIVATE_FILE_MODES = {0o600, 0o400}


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request):
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _start(instance: Path):
    """A development start with nothing given: the app creates its instance folder, key ring, secret key and
    SQLite database itself, as on a first run."""
    environ = {
        "CASEMGMT_ENV": "development",
        "CASEMGMT_INSTANCE_PATH": str(instance),
        "CASEMGMT_ARGON2_TIME_COST": "1",
        "CASEMGMT_ARGON2_MEMORY_KIB": "8",
        "CASEMGMT_REQUIRE_2FA": "false",
        "CASEMGMT_EXPECTED_CASES": "1000",
    }
    app = create_app(settings=load_settings(environ=environ))
    with app.app_context():
        db.create_all()
    return app


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _assert_private(root: Path) -> dict[str, int]:
    modes = _modes(root)
    loose = {}
    for name, mode in modes.items():
        path = root / name
        expected = {0o700} if path.is_dir() else PRIVATE_FILE_MODES
        if mode not in expected:
            loose[name] = oct(mode)
    assert not loose, f"not owner-only: {loose}"
    return modes


def test_a_first_start_a_write_and_an_upload_leave_only_owner_only_files(tmp_path, umask):
    instance = tmp_path / "instance"
    app = _start(instance)
    try:
        with app.test_request_context():
            world = factories.world()  # a write: organisations, users, audit events
            case = factories.case(world.caseworker)
            case_id = case.id
        web = new_web(app)
        web.login("caseworker")
        response = web.post(f"/cases/{case_id}/documents",
                            {"kind": "identity_document", "file": (io.BytesIO(tiny_png()), "scan.png", "image/png")},
                            token_page=f"/cases/{case_id}/documents")
        assert response.status_code == 302
        modes = _assert_private(instance)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    # What was checked must include everything the finding named, or the test proves nothing.
    for name in ("keyring", "secret_key", "casemgmt.db", "casemgmt.db-wal", "casemgmt.db-shm", "documents",
                 f"documents/{case_id}"):
        assert name in modes, f"{name} was not created"
    assert [n for n in modes if n.endswith(".bin")], "no document file was written"


def test_an_existing_database_and_document_store_are_tightened_at_start(tmp_path, umask):
    """An instance made by an older version (0644 database, 0755 store) is made private by the next start/write."""
    instance = tmp_path / "instance"
    app = _start(instance)
    with app.app_context():
        db.engine.dispose()
    (instance / "casemgmt.db").chmod(0o644)
    (instance / "documents").mkdir(mode=0o755)
    (instance / "documents").chmod(0o755)
    app = _start(instance)
    try:
        assert stat.S_IMODE((instance / "casemgmt.db").stat().st_mode) == 0o600
        with app.test_request_context():
            world = factories.world()
            case_id = factories.case(world.caseworker).id
        web = new_web(app)
        web.login("caseworker")
        web.post(f"/cases/{case_id}/documents",
                 {"kind": "other", "file": (io.BytesIO(tiny_png()), "scan.png", "image/png")},
                 token_page=f"/cases/{case_id}/documents")
        _assert_private(instance)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
