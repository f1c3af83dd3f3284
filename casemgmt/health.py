"""Health checks for load balancers and monitoring; public, and they say nothing about the system to outsiders.

/healthz is liveness: the process answers. It says "ok" and touches nothing, so a database outage never gets the
workers restarted (which would not help).

/readyz is readiness: can this instance serve requests now? It opens a fresh database connection (not the pool's: a
pool can hide that new connections are refused) and runs SELECT 1, bounded by READY_TIMEOUT_SECONDS, and measures the
free space of the document store and the SQLite database against the storage reserve. It answers 503 "not ready" when
the database cannot be reached. Storage below the reserve keeps it 200, with a second line: the instance still serves
reads, logins and small edits (that is what the reserve is for), and taking it out of the load balancer would turn
"uploads refused" into "nobody can work".

The reasons, with paths and free space, go to the log at every failing check, and into the body only for a caller on
this machine that no proxy forwarded (an operator's curl, a local monitoring agent): a remote caller learns "ready"
or "not ready" and nothing else. The check records no audit event and is not rate-limited (ratelimits.LIMITS names
no health endpoint), since a load balancer calls it every few seconds.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, current_app, request
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from casemgmt import diskspace, outages
from casemgmt.core.time import utcnow
from casemgmt.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

READY_TIMEOUT_SECONDS = 2
_ENGINE_KEY = "casemgmt.readiness_engine"
_TEXT = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
_LOOPBACK = frozenset({"127.0.0.1", "::1"})
_FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


@bp.get("/healthz")
def check():
    return "ok", 200, _TEXT


@bp.get("/readyz")
def ready():
    unreachable = _database_problem()
    problem = f"database unreachable: {unreachable}" if unreachable else _erasures_problem()
    low = [space for space in _storage() if space.free < diskspace.reserve_bytes()]
    reserve_mb = diskspace.reserve_bytes() // diskspace.MB
    if problem:
        log.error("not ready: %s", problem)
    for space in low:
        log.warning("storage below reserve: %s, reserve %d MB; uploads are refused", space, reserve_mb)
    lines = ["not ready" if problem else "ready"]
    if _asked_locally():
        if problem:
            lines.append(problem)
        lines += [f"storage below reserve: {space}, reserve {reserve_mb} MB" for space in low]
    return "\n".join(lines) + "\n", 503 if problem else 200, _TEXT


def _database_problem() -> str | None:
    try:
        with _engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        # Whatever it is, the instance cannot serve; the kind only decides the log's wording.
        return outages.describe(exc) if outages.classify(exc) is not None else f"unexpected {outages.describe(exc)}"
    return None


def _erasures_problem() -> str | None:
    """Erasures the journal records and the database does not show: a database put back without `casemgmt
    restore` would serve people who were erased. Not ready until `casemgmt backup reapply-erasures` has run."""
    from casemgmt.backup import erasures

    try:
        count = erasures.unapplied(utcnow())
    except Exception as exc:  # the check must answer; an unreadable journal is the restore's business
        log.error("erasure journal not checked: %s", outages.describe(exc))
        db.session.rollback()
        return None
    finally:
        db.session.remove()
    if count:
        return f"erasures not applied: {count} in the journal; run `casemgmt backup reapply-erasures`"
    return None


def _engine() -> Engine:
    """A pool-less engine on the application's database whose connections give up after READY_TIMEOUT_SECONDS."""
    engine = current_app.extensions.get(_ENGINE_KEY)
    if engine is None:
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            # mode=rw: a check must not create an empty database where the real one has gone missing.
            path = url.database or ":memory:"
            target = ":memory:" if path == ":memory:" else f"file:{quote(path)}?mode=rw"
            engine = create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
                target, uri=True, timeout=READY_TIMEOUT_SECONDS))
        else:
            engine = create_engine(url, poolclass=NullPool, connect_args={
                "connect_timeout": READY_TIMEOUT_SECONDS,
                "options": f"-c statement_timeout={READY_TIMEOUT_SECONDS * 1000}",
            })
        current_app.extensions[_ENGINE_KEY] = engine
    return engine


def _storage() -> list[diskspace.Space]:
    """The document store, and the SQLite database's folder; one entry per file system."""
    folders = [Path(current_app.instance_path) / "documents"]
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folders.append(Path(url.database).parent)
    seen: dict[int, diskspace.Space] = {}
    for folder in folders:
        try:
            found = diskspace.space(folder)
        except OSError as exc:
            log.error("storage at %s cannot be measured: %s", folder, exc)
            continue
        seen.setdefault(found.device, found)
    return list(seen.values())


def _asked_locally() -> bool:
    # remote_addr is the client's address once ProxyFix has read the trusted proxies' X-Forwarded-For; a local
    # proxy that is not declared still adds that header, so a forwarded request never counts as local.
    return request.remote_addr in _LOOPBACK and not any(name in request.headers for name in _FORWARDING_HEADERS)
