"""Free space on the application's storage, and the reserve kept for the writes that must still work when it runs low.

Uploads are the only writes that fill a disk quickly. They are refused while they would leave less than the reserve
(CASEMGMT_STORAGE_RESERVE_MB) free, so logins, sessions, audit events and small edits, which SQLite (and often
PostgreSQL) write to the same disk, still find room: before the reserve, a full disk meant nobody could log in.
The readiness check (casemgmt/health.py) reports storage below the reserve; docs/operations.md says what to do.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

MB = 1024 * 1024

# What a write fails with when the disk (ENOSPC) or the service user's quota (EDQUOT) is full.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class Space:
    path: Path
    free: int  # bytes an unprivileged process may still write (statvfs f_bavail: root's reserved blocks excluded)
    device: int  # the file system's device number: two paths on one disk share their free space

    def __str__(self) -> str:
        return f"{self.path}: {self.free / MB:.0f} MB free"


class StorageFull(Exception):
    """There is no room for a write: below the reserve, or the file system said ENOSPC/EDQUOT."""

    def __init__(self, space: Space, needed: int):
        super().__init__(f"{space}, {needed} bytes needed")
        self.space = space
        self.needed = needed


def space(path: Path) -> Space:
    """The free space where `path` is, or would be once created (its nearest existing folder)."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    stats = os.statvfs(existing)
    return Space(Path(path), stats.f_bavail * stats.f_frsize, existing.stat().st_dev)


def reserve_bytes() -> int:
    return current_app.config["SETTINGS"].storage_reserve_mb * MB


def ensure_room(path: Path, size: int) -> Space:
    """Raise StorageFull unless writing `size` bytes at `path` leaves the reserve free."""
    found = space(path)
    if found.free - size < reserve_bytes():
        raise StorageFull(found, size)
    return found
