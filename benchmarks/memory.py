"""Resident memory of this process and of others, from /proc (Linux) with a getrusage fallback."""

from __future__ import annotations

import resource
from pathlib import Path


def _status_kib(pid: int | str, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """The highest resident set size the process has had (VmHWM), in MiB."""
    kib = _status_kib(pid, "VmHWM")
    if kib is None and pid == "self":
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return None if kib is None else round(kib / 1024, 1)


def rss_mb(pid: int | str = "self") -> float | None:
    kib = _status_kib(pid, "VmRSS")
    return None if kib is None else round(kib / 1024, 1)


def children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers, for its master)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == pid:
                        found.append(int(status.parent.name))
                    break
        except (OSError, ValueError):
            continue
    return sorted(found)
