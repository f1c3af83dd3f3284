"""A full disk says so (issue 11, finding 8): an upload that would eat into the storage reserve is refused with a clear
message while logins and small writes go on; a disk that fills up under an upload leaves no partial file and no row;
on SQLite a full disk gives the storage-full page, not a 500; the log and the readiness check name the path and the
free space.

The reserve test uses the real free space of the test machine (the reserve is set above it) and always runs. The
others mount a small tmpfs (as root; skipped with the reason where mounting is not permitted) and really fill it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casemgmt import diskspace
from casemgmt.cases.models import Case
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from tests import factories
from tests.conftest import built_app, new_client, signed_in
from tests.referrals.conftest import give_consent
from tests.reliability.outage_figures import hidden_fields

FULL_MESSAGE = "The upload could not be stored because the server&#39;s storage is full."
MB = 1024 * 1024


def pdf(size: int) -> bytes:
    header = b"%PDF-1.4\n"
    return header + os.urandom(size - len(header))


def free_mb(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize // MB


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int):
    """A tmpfs of `size_mb` MB mounted at `path`: a real disk that really fills up."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(  # noqa: S603
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(path)],  # noqa: S607
        capture_output=True, text=True, check=False, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the reserve test still ran")
    try:
        yield path
    finally:
        unmounted = subprocess.run(["umount", str(path)], capture_output=True, check=False, timeout=30)  # noqa: S603, S607
        if unmounted.returncode:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False, timeout=30)  # noqa: S603, S607


def fill(path: Path, leave: int = 0) -> Path:
    """Write a file that takes all the free space at `path` but `leave` bytes."""
    filler = path / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                room = os.statvfs(path).f_bavail * os.statvfs(path).f_frsize - leave
                if room <= 0:
                    break
                handle.write(b"\0" * min(room, MB))
                handle.flush()
        except OSError:
            pass
    return filler


def a_case(app, owner: str = "worker") -> str:
    with app.app_context():
        case = factories.case(factories.user(factories.organisation(), "caseworker", username=owner))
        give_consent(case.id)
        return case.id


def upload(web, case_id: str, data: bytes):
    page = web.get(f"/cases/{case_id}/documents").get_data(as_text=True)
    form = {**hidden_fields(page), "kind": "identity_document",
            "file": (io.BytesIO(data), "scan.pdf", "application/pdf")}
    return web.client.post(f"/cases/{case_id}/documents", data=form, content_type="multipart/form-data")


def create_case(web, name: str):
    form = hidden_fields(web.get("/cases/new").get_data(as_text=True))
    return web.client.post("/cases/new", data={**form, "given_name": name, "status": "Active",
                                               "create_anyway": "yes"})


def documents_on_disk(app) -> list[Path]:
    root = Path(app.instance_path) / "documents"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def reserve_app(backend, tmp_path):
    # A reserve above what the test machine has free: every upload is refused, as on a nearly full disk.
    yield from built_app(backend, tmp_path, "reserve", STORAGE_RESERVE_MB=free_mb(tmp_path) + 1024)


def test_an_upload_that_would_eat_into_the_reserve_is_refused_while_logins_and_small_writes_go_on(
        reserve_app, caplog):
    app = reserve_app
    case_id = a_case(app)
    web = signed_in(app, "worker")
    with caplog.at_level(logging.ERROR, logger="casemgmt.documents.storage"):
        response = upload(web, case_id, pdf(50_000))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert FULL_MESSAGE in body and "Tell your administrator." in body
    assert count(app, Document) == 0 and documents_on_disk(app) == []
    [record] = [r for r in caplog.records if r.name == "casemgmt.documents.storage"]
    store = str(Path(app.instance_path) / "documents")
    assert store in record.getMessage() and "MB free" in record.getMessage() and "reserve is" in record.getMessage()
    # What the reserve keeps room for still works.
    assert signed_in(app, "worker").get("/cases/").status_code == 200
    assert create_case(web, "Ana").status_code == 302
    # The readiness check stays ready (the instance still serves) and tells a local caller why uploads fail.
    ready = new_client(app).get("/readyz")
    assert ready.status_code == 200
    lines = ready.get_data(as_text=True).splitlines()
    assert lines[0] == "ready"
    assert any(line.startswith(f"storage below reserve: {store}: ") and "MB free, reserve" in line for line in lines)
    outsider = new_client(app)
    outsider.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert outsider.get("/readyz").get_data(as_text=True) == "ready\n"


@pytest.fixture
def small_store(backend, tmp_path):
    """An application whose document store is a 2 MB tmpfs, with no reserve: the disk itself refuses the write."""
    with small_disk(tmp_path / "instance" / "documents", 2):
        yield from built_app(backend, tmp_path / "instance", "smallstore", STORAGE_RESERVE_MB=0)


def test_a_disk_that_fills_up_under_an_upload_leaves_no_partial_file_and_no_row(small_store, caplog, monkeypatch):
    app = small_store
    case_id = a_case(app)
    web = signed_in(app, "worker")
    store = Path(app.instance_path) / "documents"
    filler = store / "filler"
    checked = diskspace.ensure_room

    def another_program_fills_the_disk_right_after_the_check(path, size):
        room = checked(path, size)  # the real check: there was room
        fill(store, leave=200_000)  # then something else takes it, before the upload is written
        return room

    monkeypatch.setattr(diskspace, "ensure_room", another_program_fills_the_disk_right_after_the_check)
    with caplog.at_level(logging.ERROR, logger="casemgmt.documents.storage"):
        response = upload(web, case_id, pdf(600_000))
    assert response.status_code == 422
    assert FULL_MESSAGE in response.get_data(as_text=True)
    assert count(app, Document) == 0
    assert [p for p in documents_on_disk(app) if p != filler] == []  # the partial .tmp file is gone
    [record] = [r for r in caplog.records if r.name == "casemgmt.documents.storage"]
    assert str(store) in record.getMessage() and "No space left on device" in record.getMessage()
    monkeypatch.undo()
    filler.unlink()
    assert upload(web, case_id, pdf(600_000)).status_code == 302  # room again: it works again
    assert count(app, Document) == 1


@pytest.fixture
def small_sqlite(tmp_path):
    """An application on SQLite whose whole instance folder (database and documents) is an 8 MB tmpfs, with a 3 MB
    reserve."""
    with small_disk(tmp_path / "instance", 8):
        yield from built_app("sqlite", tmp_path / "instance", "smallsqlite", STORAGE_RESERVE_MB=3,
                             DOCUMENT_MAX_BYTES=2 * MB)


def test_on_sqlite_the_reserve_keeps_logins_working_and_a_full_disk_gives_the_storage_full_page(small_sqlite):
    app = small_sqlite
    case_id = a_case(app)
    web = signed_in(app, "worker")
    disk = Path(app.instance_path)
    # Uploads go in until they would leave less than the reserve.
    answers = [upload(web, case_id, pdf(MB)).status_code for _ in range(8)]
    assert answers[0] == 302 and answers[-1] == 422, answers
    assert free_mb(disk) >= 3
    # Logins and small writes still find room: that is what the reserve is for.
    other = signed_in(app, "worker")
    assert other.get("/cases/").status_code == 200
    assert create_case(other, "Ana").status_code == 302
    # Should the disk fill up all the same (another program, a log), a write says so instead of a bare 500.
    filler = fill(disk)
    response = create_case(other, "Beatriz")
    body = response.get_data(as_text=True)
    assert response.status_code == 507, body[:500]
    assert "Storage full" in body and "may not have been saved" in body and "Reference: " in body
    filler.unlink()
    assert create_case(other, "Beatriz").status_code == 302
    assert count(app, Case) == 3
