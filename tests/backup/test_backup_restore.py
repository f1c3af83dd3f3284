"""Issue 11, findings 5 and 6: there was no backup (a `cp` of the live SQLite file lost acknowledged writes, and the
documents were forgotten), and restoring an older backup brought erased people back and went unnoticed.

`casemgmt backup` / `casemgmt restore`, on both backends, with real encryption and real documents: writes acknowledged
before the snapshot all come back, every document decrypts, a damaged archive, a wrong key or a target holding data
is refused before anything is touched, and an erasure made after the backup is re-applied, with the rewind reported
from the audit anchor."""

from __future__ import annotations

import base64
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from casemgmt.accounts.models import User
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.backup.archive import read_archive
from casemgmt.backup.snapshot import target_state
from casemgmt.backup.stream import HEADER_SIZE
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.crypto.fields import DecryptionError, unseal
from casemgmt.crypto.models import DataKey
from casemgmt.documents import operations as documents
from casemgmt.documents import storage
from casemgmt.documents.demo import tiny_png
from casemgmt.extensions import db
from tests import factories
from tests.backup.support import Site, archive_in, backup_key, case_ids, empty_target, populate, untouched
from tests.cli.support import request, run_cli
from tests.conftest import drop_postgres_database, make_test_app, postgres_database


def _manifest(site: Site, archive: Path) -> dict:
    return read_archive(archive, base64.b64decode(site.key))


def _backup(site: Site, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    result = site.cli("backup", "--output", str(folder))
    assert result.exit_code == 0, result.output
    return archive_in(folder)


class Targets:
    """Empty databases to restore into, dropped at the end, and the apps opened on them."""

    def __init__(self, backend: str, tmp: Path):
        self.backend, self.tmp, self.urls, self.apps = backend, tmp, [], []

    def database(self, name: str) -> str:
        url = empty_target(self.backend, self.tmp, name)
        self.urls.append(url)
        return url

    def open(self, site: Site, url: str, instance: Path):
        application = make_test_app(instance, url, ROOT_KEYS=site.root_keys)
        self.apps.append(application)
        return application

    def close(self) -> None:
        for application in self.apps:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
        if self.backend == "postgresql":
            for url in self.urls:
                drop_postgres_database(url)


@pytest.fixture
def targets(backend, tmp_path):
    made = Targets(backend, tmp_path)
    yield made
    made.close()


@pytest.fixture
def site(backend, tmp_path):
    made = Site(backend, tmp_path, "src")
    made.create_schema()
    yield made
    made.close()


@pytest.fixture(scope="module")
def made(backend, tmp_path_factory):
    """One installation with cases and documents, and one archive of it, shared by the tests that only read them."""
    tmp = tmp_path_factory.mktemp(f"made-{backend}")
    site = Site(backend, tmp, "made")
    site.create_schema()
    data = populate(site, 3)
    archive = _backup(site, tmp / "out")
    yield SimpleNamespace(site=site, archive=archive, data=data)
    site.close()


# ---------------------------------------------------------------------------------------------- consistency


def _keep_writing(application, caseworker_id: int, stop: threading.Event, acknowledged: list, errors: list) -> None:
    """A user at work: creates cases (every third with a document) until told to stop; records each write once it
    is committed, with the sequence number of its last audit event."""
    for n in range(400):  # bounded, whatever happens to the main thread
        if stop.is_set():
            return
        try:
            with application.test_request_context():
                actor = db.session.get(User, caseworker_id)
                case = cases.create_case(actor, factories.case_values(given_name=f"Writer {n}"))
                if n % 3 == 0:
                    documents.upload_document(actor, case, "other", "w.png", tiny_png(rgb=(n % 256, 7, 7)))
                db.session.commit()
                seq = db.session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.case_id == case.id))
                acknowledged.append((case.id, seq))
                db.session.remove()
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(repr(exc))
            return
        time.sleep(0.005)


def test_a_backup_taken_under_writes_restores_every_acknowledged_write_and_every_document(site, targets, tmp_path):
    data = populate(site, 3)
    acknowledged: list[tuple[str, int]] = []
    errors: list[str] = []
    stop = threading.Event()
    writer = threading.Thread(target=_keep_writing, args=(site.app, data["world"].caseworker, stop, acknowledged,
                                                          errors))
    writer.start()
    try:
        deadline = time.monotonic() + 20
        while len(acknowledged) < 5 and not errors and time.monotonic() < deadline:
            time.sleep(0.01)
        archive = _backup(site, tmp_path / "out")
        before_end = len(acknowledged)
        deadline = time.monotonic() + 10
        while len(acknowledged) < before_end + 3 and not errors and time.monotonic() < deadline:
            time.sleep(0.01)  # writes after the backup too: they must not be in it
    finally:
        stop.set()
        writer.join(30)
    assert not errors, errors
    manifest = _manifest(site, archive)
    head = manifest["audit_head"]["seq"]
    assert manifest["backend"] == site.backend and manifest["documents"]["missing"] == []

    url, instance = targets.database("consistent"), tmp_path / "restored"
    result = site.cli("restore", str(archive), "--target-database", url, "--target-instance", str(instance))
    assert result.exit_code == 0, result.output
    assert "restore complete" in result.output and "0 failure(s)" in result.output

    restored = targets.open(site, url, instance)
    found = case_ids(restored)
    before = {case_id for case_id, seq in acknowledged if seq <= head}
    after = {case_id for case_id, seq in acknowledged if seq > head}
    assert before and after, "the writer should have written on both sides of the snapshot"
    assert before <= found, f"{len(before - found)} acknowledged write(s) lost"
    assert not after & found, "writes after the snapshot cannot be in it"
    assert set(data["cases"]) <= found
    # Every document came back byte for byte and decrypts under its case's key.
    with request(restored):
        for document_id, (case_id, content) in data["documents"].items():
            assert storage.read(case_id, document_id) == content
        assert db.session.get(AuditHead, 1).last_seq > head  # backup.restored was recorded after the snapshot


# ------------------------------------------------------------------------------------ refused, nothing touched


def _damage(blob: bytes, how: str) -> bytes:
    if how == "flipped-byte":
        middle = HEADER_SIZE + (len(blob) - HEADER_SIZE) // 2
        return blob[:middle] + bytes([blob[middle] ^ 1]) + blob[middle + 1:]
    if how == "truncated":
        return blob[:-100]
    if how == "cut-to-header":  # cut at a chunk boundary: only STREAM's last-chunk flag tells
        return blob[:HEADER_SIZE]
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["flipped-byte", "truncated", "cut-to-header"])
def test_a_damaged_archive_is_refused_before_anything_is_touched(made, targets, tmp_path, how):
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(_damage(made.archive.read_bytes(), how))
    url, instance = targets.database(f"damaged_{how.replace('-', '_')}"), tmp_path / "restored"
    result = made.site.cli("restore", str(damaged), "--target-database", url, "--target-instance", str(instance))
    assert result.exit_code != 0
    assert "nothing was changed" in result.output
    assert untouched(url, instance)


def test_the_wrong_backup_key_is_refused_and_the_right_one_verifies(made, targets, tmp_path):
    other = made.site.other_app("otherkey", BACKUP_KEY=backup_key())
    url, instance = targets.database("wrongkey"), tmp_path / "restored"
    result = run_cli(other, ["restore", str(made.archive), "--target-database", url, "--target-instance",
                             str(instance)])
    assert result.exit_code != 0 and "another backup key" in result.output
    assert untouched(url, instance)
    assert run_cli(other, ["backup", "verify", str(made.archive)]).exit_code != 0
    verified = made.site.cli("backup", "verify", str(made.archive))
    assert verified.exit_code == 0 and "intact" in verified.output


def test_a_target_holding_data_or_documents_is_refused(made, targets, tmp_path):
    instance = tmp_path / "restored"
    result = made.site.cli("restore", str(made.archive), "--target-database", made.site.url, "--target-instance",
                           str(instance))
    assert result.exit_code != 0 and "holds data" in result.output
    assert not (instance / "documents").exists()

    url = targets.database("docs_present")
    stray = instance / "documents" / "x" / "y.bin"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"someone's file")
    result = made.site.cli("restore", str(made.archive), "--target-database", url, "--target-instance",
                           str(instance))
    assert result.exit_code != 0 and "is not empty" in result.output
    assert [p for p in instance.rglob("*") if p.is_file()] == [stray]
    assert not target_state(url).tables


# --------------------------------------------------------------------------- finding 6: an older backup put back


def _empty_in_place(site: Site, aside: Path) -> None:
    """What the operator does before restoring: stop the application, move the database and the documents aside."""
    with site.app.app_context():
        db.session.remove()
        db.engine.dispose()
    aside.mkdir()
    if site.backend == "postgresql":
        postgres_database(f"bk_{site.name}")  # dropped and created empty again, under the same name
    else:
        database = Path(site.url.removeprefix("sqlite:///"))
        for path in database.parent.glob(database.name + "*"):
            shutil.move(path, aside / path.name)
    shutil.move(site.instance / "documents", aside / "documents")


def _head(application) -> int:
    with application.app_context():
        try:
            return db.session.get(AuditHead, 1).last_seq
        finally:
            db.session.remove()


def test_an_erasure_made_after_the_backup_stays_erased_when_the_backup_is_restored(site, tmp_path):
    data = populate(site, 3)
    erased_id, kept_id = data["cases"][0], data["cases"][1]
    archive = _backup(site, tmp_path / "out")
    snapshot_seq = _manifest(site, archive)["audit_head"]["seq"]

    # After the backup: the person asks to be erased, work goes on, the head is anchored.
    assert site.cli("cases", "erase", erased_id, "--yes").exit_code == 0
    populate(site, 1, data["world"])
    assert site.cli("audit", "checkpoint").exit_code == 0
    later_seq = _head(site.app)

    _empty_in_place(site, tmp_path / "aside")
    result = site.cli("restore", str(archive))
    assert result.exit_code == 0, result.output
    # The person erased after the backup is erased again: keys gone, fields unreadable, files deleted.
    with request(site.app):
        case = db.session.get(Case, erased_id)
        assert db.session.scalar(select(func.count()).select_from(DataKey).where(DataKey.case_id == erased_id)) == 0
        with pytest.raises(DecryptionError):
            unseal(case.person, "given_name")
        assert case.erased_at is not None
        assert unseal(db.session.get(Case, kept_id).person, "given_name") == "Person 1"
    assert not (site.instance / "documents" / erased_id).exists()
    assert (site.instance / "documents" / kept_id).is_dir()

    # The report says how far back the restore went, from the anchor, and what it re-applied.
    output = " ".join(result.output.split())
    assert "WENT BACK IN TIME" in output
    assert f"at least {later_seq - snapshot_seq} later event(s)" in output
    assert "erasures: 1 re-applied from the journal (1 made after the snapshot" in output

    # The rewind was reported once; from the restart on, the anchor binds the restored database.
    verify = site.cli("audit", "verify")
    assert verify.exit_code == 0 and "audit chain intact" in verify.output, verify.output
