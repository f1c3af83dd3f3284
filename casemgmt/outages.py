"""Tell a database that cannot be reached, or has no room left, from any other error.

The error pages (casemgmt/errors.py) answer these with 503 or 507 and wording that fits, instead of a generic 500;
the readiness check (casemgmt/health.py) uses the same judgement. The drivers say it in several ways: SQLAlchemy
wraps the driver's exception (`.orig`), psycopg names PostgreSQL's condition by SQLSTATE, sqlite3 by result code, and
a file written by the application itself fails with errno ENOSPC or EDQUOT.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator

import psycopg
from sqlalchemy import exc as sa_exc

from casemgmt.diskspace import NO_SPACE


class Outage(enum.Enum):
    UNREACHABLE = "database unreachable"
    STORAGE_FULL = "storage full"


# PostgreSQL's disk_full (class 53, insufficient resources); "could not extend file" is reported with it too.
_PG_DISK_FULL = "53100"

# sqlite3 primary result codes (the low byte of the extended code) that mean the file cannot be used right now, as
# opposed to a statement that is wrong ("no such table" is SQLITE_ERROR and stays a 500).
_SQLITE_FULL = 13
_SQLITE_UNREACHABLE = frozenset({
    5,   # SQLITE_BUSY: another writer held the lock beyond busy_timeout
    8,   # SQLITE_READONLY: the file or its file system became read-only
    10,  # SQLITE_IOERR: disk I/O error
    14,  # SQLITE_CANTOPEN: unable to open database file (its folder or disk is gone)
})


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver error SQLAlchemy wrapped, and what they were raised from, each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend((getattr(current, "orig", None), current.__cause__, current.__context__))


def _classify_one(error: BaseException) -> Outage | None:
    if isinstance(error, OSError) and error.errno in NO_SPACE:
        return Outage.STORAGE_FULL
    if isinstance(error, psycopg.Error):
        if getattr(error, "sqlstate", None) == _PG_DISK_FULL:
            return Outage.STORAGE_FULL
        # Connection refused or lost, the server shutting down or starting up, too many connections, a statement
        # timeout, a deadlock: all transient. A wrong statement is a ProgrammingError, a broken rule an IntegrityError.
        if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
            return Outage.UNREACHABLE
        return None
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            code &= 0xFF
            if code == _SQLITE_FULL:
                return Outage.STORAGE_FULL
            return Outage.UNREACHABLE if code in _SQLITE_UNREACHABLE else None
        message = str(error).lower()
        if "database or disk is full" in message:
            return Outage.STORAGE_FULL
        if any(text in message for text in ("unable to open database", "disk i/o error", "database is locked")):
            return Outage.UNREACHABLE
        return None
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):  # TimeoutError: the pool ran dry
        return Outage.UNREACHABLE
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return Outage.UNREACHABLE
    return None


def classify(error: BaseException) -> Outage | None:
    """Outage.STORAGE_FULL, Outage.UNREACHABLE, or None for any other error. Storage wins when both appear."""
    found = {_classify_one(item) for item in _chain(error)} - {None}
    if Outage.STORAGE_FULL in found:
        return Outage.STORAGE_FULL
    return Outage.UNREACHABLE if found else None


def describe(error: BaseException) -> str:
    """One line for the log: the driver's error class and the first line of its message. SQLAlchemy's own message
    adds the statement and its parameters, which may hold personal data (a user name at login), so it is not used."""
    driver = getattr(error, "orig", None) or error
    first_line = (str(driver).strip().splitlines() or [""])[0][:200]
    return f"{type(driver).__name__}: {first_line}"
