"""`casemgmt backup`: the database and the document store in one encrypted, verifiable file.

Order matters for documents: the database is snapshotted FIRST, then the files it references are copied. A document
uploaded during the backup is then either in both (its row is in the snapshot, and its file was written before its
row was committed, see documents.operations) or in neither (its row is not in the snapshot and its file is left
out). A file the snapshot references but the disk lacks is an error, named, unless its case has been erased since
the snapshot (erasure deletes the files; the journal erases the case again at restore).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from casemgmt.audit import anchor as anchoring
from casemgmt.audit import record_event
from casemgmt.audit.events import SYSTEM
from casemgmt.backup import erasures, keys, snapshot
from casemgmt.backup.archive import FORMAT_NAME, FORMAT_VERSION, ArchiveWriter, document_member
from casemgmt.backup.stream import fingerprint
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.extensions import db

SUFFIX = ".backup"


@dataclass
class Result:
    path: Path
    size: int
    seconds: float
    manifest: dict
    missing: list[tuple[str, str]] = field(default_factory=list)  # referenced, not on disk: an error
    journal_backfilled: int = 0
    journal_problems: list[str] = field(default_factory=list)


def app_version() -> str:
    try:
        return importlib.metadata.version("casemgmt")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _destination(output: Path | None, instance: Path) -> Path:
    """A new file: OUTPUT itself, or a dated name inside OUTPUT (a folder) or inside <instance>/backups. An existing
    file is never overwritten (it may be the only good backup)."""
    folder = output if output is not None and output.is_dir() else None
    if output is None:
        folder = instance / "backups"
        folder.mkdir(mode=0o700, exist_ok=True)
    if folder is None:
        if output.exists():
            raise FileExistsError(f"{output} exists: choose another name")
        if not output.parent.is_dir():
            raise FileNotFoundError(f"{output.parent} is not a folder")
        return output
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    candidate, n = folder / f"casemgmt-{stamp}{SUFFIX}", 1
    while candidate.exists():
        n += 1
        candidate = folder / f"casemgmt-{stamp}-{n}{SUFFIX}"
    return candidate


def _sync_journal(erased: list[tuple[str, object]]) -> tuple[int, list[str], erasures.Reading]:
    """Every erasure in the snapshot must be in the journal, or a restore of an OLDER backup would bring that person
    back. Erasures made before the journal existed (or whose line was lost) are appended here."""
    path = erasures.journal_path()
    if path is None:
        return 0, ["the erasure journal is off (CASEMGMT_ERASURE_JOURNAL_FILE): a restore of this backup cannot "
                   "re-apply later erasures"], erasures.Reading(None)
    reading = erasures.read(path)
    journaled = {entry.case_id for entry in reading.entries}
    added = 0
    for case_id, erased_at in erased:
        if case_id not in journaled:
            erasures.append(path, case_id, erased_at, "backfill")
            added += 1
    if added:
        reading = erasures.read(path)
    return added, list(reading.problems), reading


def make_backup(output: Path | None = None) -> Result:
    settings = current_app.config["SETTINGS"]
    key = keys.backup_key(create=True)
    started = time.monotonic()
    destination = _destination(output, settings.instance_path)
    # The snapshot holds the database in the clear (but for its encrypted fields): it stays beside the live
    # database, in a private folder, never beside the archive, which may be on a share.
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=settings.instance_path))
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        snap = snapshot.take(db.engine, work)
        backfilled, journal_problems, journal = _sync_journal(snap.contents.erased)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            writer = ArchiveWriter(out, key)
            database = writer.add_file(snap.member, snap.path)
            snap.path.unlink()  # in the archive now; free the space before the documents are copied
            missing = _add_documents(writer, Path(current_app.instance_path) / "documents", snap.contents.documents)
            erased_since = _erased_since([case_id for case_id, _ in missing])
            manifest = _manifest(snap, database, journal, settings, key)
            manifest["documents"] = {
                "count": len(snap.contents.documents) - len(missing),
                "missing": [{"case_id": c, "document_id": d} for c, d in missing if c not in erased_since],
                "missing_case_erased_since": sum(1 for c, _ in missing if c in erased_since),
            }
            writer.finish(manifest)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, destination)
        _fsync_folder(destination.parent)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    size = destination.stat().st_size
    record_event("backup.created", details={
        "documents": manifest["documents"]["count"], "missing_documents": len(manifest["documents"]["missing"]),
        "audit_seq": snap.contents.audit_seq, "size": size, "format": FORMAT_VERSION,
    }, actor=SYSTEM)
    db.session.commit()
    return Result(destination, size, time.monotonic() - started, manifest,
                  [(m["case_id"], m["document_id"]) for m in manifest["documents"]["missing"]],
                  backfilled, journal_problems)


def _add_documents(writer: ArchiveWriter, root: Path, documents: list[tuple[str, str]]) -> list[tuple[str, str]]:
    missing = []
    for case_id, document_id in documents:
        name = document_member(case_id, document_id)
        try:
            writer.add_file(name, root / case_id / f"{document_id}.bin")
        except FileNotFoundError:
            missing.append((case_id, document_id))
    return missing


def _erased_since(case_ids: list[str]) -> set[str]:
    if not case_ids:
        return set()
    return set(db.session.scalars(
        select(Case.id).where(Case.id.in_(set(case_ids)), Case.erased_at.is_not(None))
    ))


def _manifest(snap: snapshot.Snapshot, database, journal: erasures.Reading, settings, key: bytes) -> dict:
    contents = snap.contents
    latest = anchoring.anchor().last_in_file() if anchoring.anchor().file is not None else None
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created_at": snap.taken_at.isoformat(timespec="microseconds") + "Z",
        "finished_at": utcnow().isoformat(timespec="microseconds") + "Z",
        "app_version": app_version(),
        "schema_revision": contents.revision,
        "backend": snap.backend,
        "database": {"name": database.name, "versions": snap.versions},
        "counts": contents.counts,
        "audit_head": {"seq": contents.audit_seq, "hash": contents.audit_hash},
        "checkpoint": None if latest is None else {
            "kind": latest.kind, "seq": latest.seq, "hash": latest.hash, "at": latest.at_text,
        },
        "erasure_journal": {"entries": len(journal.entries), "head": journal.head, "intact": journal.intact},
        "backup_key_fingerprint": fingerprint(key).hex(),
    }


def _fsync_folder(folder: Path) -> None:
    """The rename is durable only once the folder is synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
