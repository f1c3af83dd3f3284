"""Document content on disk: encrypted under the case's data key, outside the web root, named by ids only.

Layout: <instance>/documents/<case_id>/<document_id>.bin, directories 0700 and files 0600. Names come from the
database ids (UUIDs, checked here), never from what the user called the file, so no upload can choose where it lands.
Each file is AES-GCM bound to ("documents", "content", document_id, case_id): a file copied under another document's
name fails to decrypt. Erasing a case shreds its keys (the files become unreadable) and erase_case_files() deletes them.

An upload that would leave less than the storage reserve free is refused before anything is written, and one the disk
cannot hold (ENOSPC, EDQUOT) leaves no partial file: both raise diskspace.StorageFull, and the log says where and how
much room there is.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from flask import current_app

from casemgmt import diskspace
from casemgmt.crypto.fields import open_bytes, seal_bytes

log = logging.getLogger(__name__)

# The size limit of one document. A deployment may set Settings.document_max_bytes (CASEMGMT_DOCUMENT_MAX_BYTES).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class MissingFile(Exception):
    """The database row exists but its file does not (deleted by erasure, or lost)."""


def max_upload_bytes() -> int:
    return int(getattr(current_app.config["SETTINGS"], "document_max_bytes", None) or DEFAULT_MAX_BYTES)


def is_id(value: str | None) -> bool:
    return bool(value) and _UUID.match(value) is not None


def _root() -> Path:
    return Path(current_app.instance_path) / "documents"


def _case_dir(case_id: str) -> Path:
    if not is_id(case_id):
        raise ValueError("not a case id")
    return _root() / case_id


def _path(case_id: str, document_id: str) -> Path:
    if not is_id(document_id):
        raise ValueError("not a document id")
    return _case_dir(case_id) / f"{document_id}.bin"


def _context(case_id: str, document_id: str) -> tuple[str, ...]:
    return ("documents", "content", document_id, case_id)


def _private_dir(folder: Path) -> None:
    """An owner-only directory. mkdir(parents=True) gave the documents folder itself the umask's 0755 (only the
    last folder took the mode asked for), so each level is made here and set to exactly 0700."""
    folder.mkdir(exist_ok=True, mode=0o700)
    if folder.stat().st_mode & 0o777 != 0o700:
        folder.chmod(0o700)


def write(case_id: str, document_id: str, data: bytes) -> None:
    """Encrypt and store; a crash leaves either no file or the whole file, never half of one. Raises
    diskspace.StorageFull when the upload would eat into the reserve or the disk cannot hold it."""
    path = _path(case_id, document_id)
    blob = seal_bytes(case_id, _context(case_id, document_id), data)
    try:
        room = diskspace.ensure_room(_root(), len(blob))
    except diskspace.StorageFull as full:
        log.error("document store %s: an upload of %d bytes was refused, the reserve is %d MB",
                  full.space, len(blob), diskspace.reserve_bytes() // diskspace.MB)
        raise
    tmp = path.with_name(f".{document_id}.tmp")
    try:
        _private_dir(_root())
        _private_dir(path.parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # a leftover temporary file keeps its old mode through O_TRUNC
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        if exc.errno not in diskspace.NO_SPACE:
            raise
        # The reserve was there a moment ago: another process filled the disk, or the quota is smaller than the disk.
        full = diskspace.space(_root())
        log.error("document store %s: the disk refused an upload of %d bytes (%s); %d bytes were free before it",
                  full, len(blob), os.strerror(exc.errno), room.free)
        raise diskspace.StorageFull(full, len(blob)) from exc


def read(case_id: str, document_id: str) -> bytes:
    try:
        blob = _path(case_id, document_id).read_bytes()
    except FileNotFoundError:
        raise MissingFile(document_id) from None
    return open_bytes(case_id, _context(case_id, document_id), blob)


def remove(case_id: str, document_id: str) -> None:
    _path(case_id, document_id).unlink(missing_ok=True)


def erase_case_files(case_id: str) -> int:
    """Delete every document file of a case; returns how many documents were deleted. Crypto-shredding already
    made them unreadable; deleting them is belt and braces (and frees the space)."""
    folder = _case_dir(case_id)
    if not folder.is_dir():
        return 0
    deleted = 0
    for entry in folder.iterdir():
        if entry.is_file():
            if entry.suffix == ".bin":
                deleted += 1
            entry.unlink(missing_ok=True)
    folder.rmdir()
    return deleted
