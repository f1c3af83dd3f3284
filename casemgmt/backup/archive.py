"""The archive inside the encryption layer: a tar stream (PAX) of the database snapshot, the document files byte for
byte, and manifest.json last.

    database/casemgmt.sqlite3 | database/casemgmt.pgdump
    documents/<case id>/<document id>.bin      (the layout of casemgmt/documents/storage.py, under the instance)
    manifest.json

The manifest comes last because it carries every file's size and SHA-256, known only once the file is written; the
stream's last-chunk flag (stream.py) makes sure it cannot be cut off. A tar stream, written and read in one pass,
keeps memory flat: nothing is held but one chunk and one copy buffer. Reading extracts into a staging folder (or
only hashes, to verify) and checks every file against the manifest: a member that is missing, extra, of another size
or checksum, or named outside the layout fails the whole archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from casemgmt.backup.snapshot import POSTGRESQL_MEMBER, SQLITE_MEMBER
from casemgmt.backup.stream import ArchiveError, DecryptingReader, EncryptingWriter

MANIFEST = "manifest.json"
FORMAT_NAME = "casemgmt-backup"
FORMAT_VERSION = 1
_COPY = 1024 * 1024
_MAX_MANIFEST = 512 * 1024 * 1024
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_DOCUMENT = re.compile(rf"^documents/({_UUID})/({_UUID})\.bin$")
DATABASE_MEMBERS = {SQLITE_MEMBER, POSTGRESQL_MEMBER}


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str

    def as_dict(self) -> dict:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


def document_member(case_id: str, document_id: str) -> str:
    return f"documents/{case_id}/{document_id}.bin"


class _Hashing:
    """Reads a file for tarfile and hashes what passes."""

    def __init__(self, handle: BinaryIO):
        self._handle, self.digest = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        return data


class ArchiveWriter:
    def __init__(self, out: BinaryIO, key: bytes):
        self._encrypted = EncryptingWriter(out, key)
        self._tar = tarfile.open(fileobj=self._encrypted, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.members: list[Member] = []
        self.bytes_in = 0

    def _info(self, name: str, size: int, mtime: float) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(mtime)
        return info

    def add_file(self, name: str, path: Path) -> Member:
        """Add a file byte for byte. FileNotFoundError when it is gone (the caller decides what that means)."""
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            hashing = _Hashing(handle)
            self._tar.addfile(self._info(name, stat.st_size, stat.st_mtime), hashing)
        member = Member(name, stat.st_size, hashing.digest.hexdigest())
        self.members.append(member)
        self.bytes_in += stat.st_size
        return member

    def finish(self, manifest: dict) -> None:
        manifest = {**manifest, "files": [m.as_dict() for m in self.members]}
        data = json.dumps(manifest, indent=1, sort_keys=True).encode()
        self._tar.addfile(self._info(MANIFEST, len(data), time.time()), io.BytesIO(data))
        self._tar.close()
        self._encrypted.close()


def _check_name(name: str) -> None:
    if name not in DATABASE_MEMBERS and not _DOCUMENT.match(name):
        raise ArchiveError(f"unexpected member {name!r} in the archive")


def read_archive(path: Path, key: bytes, staging: Path | None = None) -> dict:
    """Authenticate the whole archive and check every file against the manifest; with `staging`, extract the files
    there (folders 0700, files 0600) as they pass. Returns the manifest. Raises ArchiveError (WrongKey)."""
    seen: dict[str, Member] = {}
    manifest: dict | None = None
    try:
        with path.open("rb") as handle:
            reader = DecryptingReader(handle, key)
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for info in tar:
                    if manifest is not None:
                        raise ArchiveError("the archive continues after its manifest")
                    if not info.isfile():
                        raise ArchiveError(f"unexpected member {info.name!r} in the archive")
                    source = tar.extractfile(info)
                    if info.name == MANIFEST:
                        if info.size > _MAX_MANIFEST:
                            raise ArchiveError("the manifest is implausibly large")
                        manifest = json.loads(source.read())
                        continue
                    _check_name(info.name)
                    if info.name in seen:
                        raise ArchiveError(f"{info.name} appears twice in the archive")
                    seen[info.name] = _copy(source, info, staging)
            reader.drain()
    except tarfile.TarError as exc:
        raise ArchiveError(f"the archive's contents are not a valid tar stream: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError("the manifest is not valid JSON") from exc
    except OSError as exc:
        raise ArchiveError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    if manifest is None:
        raise ArchiveError("the archive has no manifest")
    _check_manifest(manifest, seen)
    return manifest


def _copy(source: BinaryIO, info: tarfile.TarInfo, staging: Path | None) -> Member:
    digest, size = hashlib.sha256(), 0
    out = None
    if staging is not None:
        target = staging / info.name
        for folder in reversed(target.relative_to(staging).parents):
            if str(folder) != ".":
                (staging / folder).mkdir(mode=0o700, exist_ok=True)
        out = os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    try:
        while block := source.read(_COPY):
            digest.update(block)
            size += len(block)
            if out is not None:
                out.write(block)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    return Member(info.name, size, digest.hexdigest())


def _check_manifest(manifest: dict, seen: dict[str, Member]) -> None:
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"manifest format {manifest.get('format')} {manifest.get('format_version')} is not "
                           "known to this version of casemgmt")
    listed = {entry["name"]: Member(entry["name"], entry["size"], entry["sha256"]) for entry in manifest["files"]}
    missing = sorted(set(listed) - set(seen))
    extra = sorted(set(seen) - set(listed))
    changed = sorted(name for name in set(listed) & set(seen) if listed[name] != seen[name])
    if missing or extra or changed:
        named = ", ".join((missing + extra + changed)[:5])
        raise ArchiveError(f"the files do not match the manifest ({len(missing)} missing, {len(extra)} unlisted, "
                           f"{len(changed)} with another size or checksum: {named})")
    if manifest["database"]["name"] not in seen:
        raise ArchiveError("the archive holds no database snapshot")
