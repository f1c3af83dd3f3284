"""The erasure journal: every crypto-shredding, recorded outside the database, so that restoring an older backup
cannot bring an erased person back.

A restored backup holds the data keys of every case erased after it was made. The journal (an append-only file,
CASEMGMT_ERASURE_JOURNAL_FILE, best beside the audit checkpoint file on storage the database's administrators cannot
rewrite) lists each erasure; `casemgmt restore` re-applies every one the restored database does not show before the
application serves a request.

One JSON line per erasure, with no personal data: the case id (a UUID; not even the case reference, which the
restore does not need), the time, the kind of actor, and an HMAC-SHA256 under a key derived from the root key ring
for this purpose alone (keyring().erasure_journal_key(), the derivation of the audit checkpoints), chained to the
previous line's signature: whoever lacks the root keys can neither forge a line nor delete one unseen (the next line
no longer follows). A cut-off end is caught against the journal's head recorded in each backup's manifest.

When: erase_case() appends the line, fsynced, BEFORE its caller commits. If the journal cannot be written, the
erasure is refused (the caller gets a CaseError and commits nothing) and the error is logged: an erasure that is in
the database but not in the journal could silently come undone. The other order leaves the opposite risk, a line for
an erasure whose commit then failed; a restore then erases that case, which is what the operator had asked for. So
this order errs towards erasure, and re-applying is idempotent (an erased case is skipped).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app

from casemgmt.crypto.keyring import keyring

log = logging.getLogger(__name__)

VERSION = 1
GENESIS = "0" * 64
_TAIL_BYTES = 8192
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Set while a restore re-applies journaled erasures: those are in the journal already.
_replaying: contextvars.ContextVar[bool] = contextvars.ContextVar("casemgmt_erasure_replaying", default=False)


class JournalError(OSError):
    """The journal could not be written."""


@dataclass(frozen=True)
class Entry:
    line_number: int
    case_id: str
    erased_at: datetime  # naive UTC, as in the database
    actor: str
    sig: str


@dataclass
class Reading:
    """The journal as read: its genuine entries in order, and what is wrong with it (nothing, ideally)."""

    path: Path | None
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    head: str = GENESIS  # the last genuine line's signature

    @property
    def intact(self) -> bool:
        return not self.problems


def journal_path() -> Path | None:
    return current_app.config["SETTINGS"].erasure_journal_file


def _signature(key: bytes, fields: dict) -> str:
    message = b"casemgmt-erasure-journal/v1|" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _fields(case_id: str, erased_at: datetime, actor: str, prev: str) -> dict:
    return {"v": VERSION, "case_id": case_id, "erased_at": erased_at.strftime(_TIME_FORMAT), "actor": actor,
            "prev": prev}


def _last_signature(fd: int, size: int) -> str:
    """The signature the next line chains to: that of the last complete line (the file is locked)."""
    start = max(0, size - _TAIL_BYTES)
    tail = os.pread(fd, size - start, start).decode("utf-8", errors="replace")
    for line in reversed(tail.splitlines()):
        try:
            sig = json.loads(line)["sig"]
        except (ValueError, KeyError, TypeError):
            continue  # a torn line (a crash mid-write): `verify` names it; chain to the last whole one
        if isinstance(sig, str):
            return sig
    return GENESIS


def append(path: Path, case_id: str, erased_at: datetime, actor: str) -> str:
    """Append one signed line, chained to the last, durably (fsync) before returning its signature.

    flock() serialises writers (several workers, a CLI) between reading the last signature and appending, so two
    erasures never chain to the same line. O_APPEND without O_TRUNC also works on a `chattr +a` file."""
    key = keyring().erasure_journal_key()
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise JournalError(exc.errno, f"{path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        prev = _last_signature(fd, size) if size else GENESIS
        fields = _fields(case_id, erased_at, actor, prev)
        fields["sig"] = _signature(key, fields)
        data = (json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n").encode()
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # after a torn line, start a fresh one
        if os.write(fd, data) != len(data):
            raise OSError(5, "short write")
        os.fsync(fd)
        return fields["sig"]
    except JournalError:
        raise
    except OSError as exc:
        raise JournalError(exc.errno, f"{path}: {exc.strerror}") from exc
    finally:
        os.close(fd)  # closing releases the lock


def actor_kind(actor) -> str:
    return "system" if getattr(actor, "id", None) is None else "user"


def record_erasure(case_id: str, erased_at: datetime, actor) -> None:
    """erase_case()'s hook: journal an erasure before it is committed. Raises JournalError (logged) when the journal
    cannot be written; does nothing when it is off (testing) or while a restore re-applies the journal."""
    path = journal_path()
    if path is None or _replaying.get():
        return
    try:
        append(path, case_id, erased_at, actor_kind(actor))
    except JournalError as exc:
        log.error("erasure of case %s refused: the erasure journal cannot be written: %s", case_id, exc.strerror)
        raise


@contextlib.contextmanager
def replaying() -> Iterator[None]:
    token = _replaying.set(True)
    try:
        yield
    finally:
        _replaying.reset(token)


def read(path: Path | None) -> Reading:
    """Every line checked: its signature, and that it follows the line before. Streams the file; memory grows with
    the number of erasures only (a few dozen bytes each)."""
    reading = Reading(path)
    if path is None:
        return reading
    key = keyring().erasure_journal_key()
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return reading
    except OSError as exc:
        reading.problems.append(f"{path} cannot be read: {exc.strerror}")
        return reading
    with handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                fields = json.loads(text)
                sig = fields.pop("sig")
                valid = (isinstance(sig, str) and fields.get("v") == VERSION
                         and hmac.compare_digest(sig, _signature(key, fields)))
            except (ValueError, KeyError, TypeError, AttributeError):
                reading.problems.append(f"line {number} is not a journal line (a torn write, or an edit)")
                continue
            if not valid:
                reading.problems.append(f"line {number} has no valid signature: it was changed or forged, ignored")
                continue
            if fields["prev"] != reading.head:
                reading.problems.append(
                    f"line {number} does not follow the line before it: a line was deleted or moved"
                )
            reading.entries.append(Entry(number, fields["case_id"], datetime.strptime(fields["erased_at"],
                                                                                      _TIME_FORMAT),
                                         fields["actor"], sig))
            reading.head = sig
    return reading


def holds(reading: Reading, head: str) -> bool:
    """The journal still holds the line that was its last when a backup recorded `head`: not cut off since."""
    return head == GENESIS or any(entry.sig == head for entry in reading.entries)


# A journal line is written just before its erasure commits; give that commit time before calling it unapplied.
UNAPPLIED_GRACE_SECONDS = 60
_READING_CACHE = "casemgmt.erasure_journal_reading"


def unapplied(now: datetime) -> int:
    """How many journaled erasures (older than the grace period) the database does not show: a database put back by
    hand (pg_restore, a copied file) without `casemgmt restore`, which would serve erased people again. The
    readiness check calls it every few seconds, so the journal is read again only when its size or time changes."""
    from sqlalchemy import func, select

    from casemgmt.cases.models import Case
    from casemgmt.extensions import db

    path = journal_path()
    if path is None:
        return 0
    try:
        stat = path.stat()
    except FileNotFoundError:
        return 0
    cached = current_app.extensions.get(_READING_CACHE)
    if cached is None or cached[0] != (stat.st_size, stat.st_mtime_ns):
        cached = ((stat.st_size, stat.st_mtime_ns), read(path))
        current_app.extensions[_READING_CACHE] = cached
    due = sorted({entry.case_id for entry in cached[1].entries
                  if (now - entry.erased_at).total_seconds() > UNAPPLIED_GRACE_SECONDS})
    missing = 0
    for start in range(0, len(due), 500):  # bounded IN lists
        missing += db.session.scalar(select(func.count()).select_from(Case).where(
            Case.id.in_(due[start:start + 500]), Case.erased_at.is_(None)))
    return missing
