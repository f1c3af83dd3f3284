"""A consistent snapshot of the live database, what it holds (read from the snapshot itself), and putting one back.

SQLite: the online backup API (sqlite3.Connection.backup) copies the database inside one read transaction, so the
copy is the database as of one commit, whatever writers do meanwhile (WAL mode lets them go on). Copying the file
does not do that: committed transactions still in the -wal file are left behind (27 of 213 acknowledged writes were
lost that way), and a copy taken mid-checkpoint can be torn.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot (pg_export_snapshot) and `pg_dump --snapshot` dumps
exactly that state, while the same transaction reads what the manifest needs (the audit head, the documents the
database references). So the dump, the manifest and the list of document files to copy describe one moment.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import MetaData, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from casemgmt.core.time import utcnow
from casemgmt.extensions import db

# Gzipped: a SQLite file holds free pages, indexes and the audit details in the clear, and shrinks about 4 times;
# pg_dump's custom format is compressed already.
SQLITE_MEMBER = "database/casemgmt.sqlite3.gz"
POSTGRESQL_MEMBER = "database/casemgmt.pgdump"
# alembic's bookkeeping: a schema made by `casemgmt db upgrade` holds this one row and no data.
NOT_DATA = {"alembic_version"}
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")


class SnapshotError(Exception):
    """The snapshot could not be taken or put back; the message says why and what to do."""


@dataclass
class Contents:
    """What the snapshot holds, read inside the snapshot's own transaction."""

    revision: str | None
    audit_seq: int
    audit_hash: str | None
    documents: list[tuple[str, str]]  # (case_id, document_id) of cases not erased: the files to copy
    erased: list[tuple[str, datetime]]  # (case_id, erased_at)
    counts: dict[str, int]


@dataclass
class Snapshot:
    path: Path
    member: str
    backend: str
    taken_at: datetime
    contents: Contents
    versions: dict[str, str] = field(default_factory=dict)


def backend_of(url: str | URL) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise SnapshotError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def normalise_url(url: str) -> str:
    # As settings.load_settings: psycopg 3 is the driver we test; the bare scheme would pick psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def sqlite_path(url: str | URL) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise SnapshotError("an in-memory SQLite database cannot be backed up or restored into")
    return Path(database)


def _contents(conn: Connection) -> Contents:
    tables = db.metadata.tables
    cases, documents, events, head = tables["cases"], tables["documents"], tables["audit_events"], tables["audit_head"]
    revision = None
    if inspect(conn).has_table("alembic_version"):
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    head_row = conn.execute(select(head.c.last_seq, head.c.last_hash)).first()
    listed = conn.execute(
        select(documents.c.case_id, documents.c.id).join(cases, cases.c.id == documents.c.case_id)
        .where(cases.c.erased_at.is_(None)).order_by(documents.c.case_id, documents.c.id)
    ).all()
    erased = conn.execute(select(cases.c.id, cases.c.erased_at).where(cases.c.erased_at.is_not(None))).all()

    def count(table) -> int:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()

    return Contents(
        revision=revision,
        audit_seq=head_row.last_seq if head_row else 0,
        audit_hash=head_row.last_hash if head_row else None,
        documents=[(row.case_id, row.id) for row in listed],
        erased=[(row.id, row.erased_at) for row in erased],
        counts={"cases": count(cases), "erased_cases": len(erased), "documents": count(documents),
                "audit_events": count(events), "users": count(tables["users"])},
    )


def _private_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)


def take(engine: Engine, workdir: Path) -> Snapshot:
    backend = backend_of(engine.url)
    if backend == "sqlite":
        return _take_sqlite(engine, workdir)
    return _take_postgresql(engine, workdir)


def _take_sqlite(engine: Engine, workdir: Path) -> Snapshot:
    source = sqlite_path(engine.url)
    target = workdir / "casemgmt.sqlite3"
    _private_file(target)
    taken_at = utcnow()
    _sqlite_backup(source, target, "the SQLite snapshot failed")
    snap_engine = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with snap_engine.connect() as conn:
            contents = _contents(conn)
    finally:
        snap_engine.dispose()
    packed = target.with_name(target.name + ".gz")
    _private_file(packed)
    with target.open("rb") as raw, gzip.open(packed, "wb", compresslevel=6) as out:
        shutil.copyfileobj(raw, out, 1024 * 1024)
    target.unlink()
    return Snapshot(packed, SQLITE_MEMBER, "sqlite", taken_at, contents, {"sqlite": sqlite3.sqlite_version})


def _sqlite_backup(source: Path, target: Path, failure: str) -> None:
    """Copy the SQLite database `source` into `target` with the online backup API. pages=-1: the whole database in
    one step, so in one transaction on each side: one consistent state read, and written whole or not at all. Either
    side may be the live database, so each connection waits up to 30 s for a lock held elsewhere (the other side is a
    private staging file nobody else opens). An error is a SnapshotError beginning with `failure`."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst, pages=-1)
    except sqlite3.Error as exc:
        raise SnapshotError(f"{failure}: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _major(version: str) -> int:
    match = _VERSION.search(version)
    if not match:
        raise SnapshotError(f"cannot read a version number in {version!r}")
    return int(match.group(1))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SnapshotError(f"{name} is not installed: install the PostgreSQL client of the server's version "
                            "(e.g. apt install postgresql-client-15)")
    return path


def tool_version(name: str) -> str:
    result = subprocess.run([_tool(name), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return result.stdout.strip().rsplit(" ", 1)[-1] if result.returncode == 0 else "unknown"


def libpq(url: str | URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries the password (never on the
    command line, where `ps` shows it to every local account)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    env.setdefault("PGAPPNAME", "casemgmt-backup")
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise SnapshotError(f"{what} failed (exit {result.returncode}):\n{detail}")


def _take_postgresql(engine: Engine, workdir: Path) -> Snapshot:
    pg_dump = _tool("pg_dump")
    dump_version = tool_version("pg_dump")
    target = workdir / "casemgmt.pgdump"
    with engine.connect() as conn:
        server_version = conn.execute(text("SHOW server_version")).scalar_one()
        if _major(dump_version) < _major(server_version):
            raise SnapshotError(
                f"pg_dump {dump_version} is older than the server ({server_version}) and cannot dump it: install "
                f"postgresql-client-{_major(server_version)} or put its bin folder first on PATH"
            )
        conn.rollback()
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            taken_at = utcnow()
            contents = _contents(conn)
            uri, env = libpq(engine.url)
            _private_file(target)
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot_id}", "--no-password",
                  "--lock-wait-timeout=60000", f"--file={target}", f"--dbname={uri}"], env, "pg_dump")
    return Snapshot(target, POSTGRESQL_MEMBER, "postgresql", taken_at, contents,
                    {"pg_dump": dump_version, "server": server_version})


# ---------------------------------------------------------------------------------------------------- putting back

@dataclass
class TargetState:
    exists: bool
    tables: list[str]
    with_rows: list[str]


def target_state(url: str) -> TargetState:
    """Which tables the target holds and which of them hold rows. Opens nothing that does not exist: a missing
    SQLite file is not created, a missing PostgreSQL database is reported."""
    if backend_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return TargetState(False, [], [])
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            with_rows = [t for t in tables if t not in NOT_DATA and conn.execute(
                select(text("1")).select_from(text(f'"{t}"')).limit(1)
            ).first() is not None]
    except Exception as exc:
        if backend_of(url) == "postgresql" and "does not exist" in str(exc):
            name = make_url(url).database
            raise SnapshotError(f"the target database {name} does not exist: create it empty first "
                                f"(createdb -O <role> {name})") from None
        raise SnapshotError(f"the target database cannot be opened: {exc.__class__.__name__}") from exc
    finally:
        engine.dispose()
    return TargetState(True, tables, with_rows)


def check_restorable(manifest: dict, url: str) -> None:
    """Refuse (before anything is touched) what cannot be put back into this target."""
    backend = backend_of(url)
    if manifest["backend"] != backend:
        raise SnapshotError(f"this archive holds a {manifest['backend']} database; the target is {backend} "
                            "(a backup is restored into the same kind of database)")
    if backend == "postgresql":
        versions = manifest["database"]["versions"]
        restore_version = tool_version("pg_restore")
        if _major(restore_version) < _major(versions["pg_dump"]):
            raise SnapshotError(f"the archive was dumped by pg_dump {versions['pg_dump']}; pg_restore "
                                f"{restore_version} cannot read it: install postgresql-client-"
                                f"{_major(versions['pg_dump'])} or newer")
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                server = conn.execute(text("SHOW server_version")).scalar_one()
        finally:
            engine.dispose()
        if _major(server) < _major(versions["server"]):
            raise SnapshotError(f"the archive comes from PostgreSQL {versions['server']}; the target server runs "
                                f"{server}: restore into PostgreSQL {_major(versions['server'])} or newer")


def put_back(staged: Path, url: str, state: TargetState) -> None:
    """Restore the staged snapshot into the (checked: empty) target database."""
    if backend_of(url) == "sqlite":
        _put_back_sqlite(staged, sqlite_path(url))
    else:
        _put_back_postgresql(staged, url, state)


def _put_back_sqlite(packed: Path, target: Path) -> None:
    staged = packed.with_suffix("")  # beside it, in the private staging folder
    _private_file(staged)
    try:
        with gzip.open(packed, "rb") as source, staged.open("wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
    except (OSError, EOFError) as exc:
        raise SnapshotError(f"the database snapshot cannot be unpacked: {exc}") from exc
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _private_file(target)
    # Through SQLite's own locking, so a connection still open elsewhere sees the whole database or none of it
    # (replacing the file under it could corrupt it).
    _sqlite_backup(staged, target, "restoring the SQLite database failed")
    for suffix in ("-wal", "-shm"):
        companion = target.with_name(target.name + suffix)
        if companion.exists():
            companion.chmod(0o600)


def _put_back_postgresql(staged: Path, url: str, state: TargetState) -> None:
    pg_restore = _tool("pg_restore")
    if state.tables:
        # A schema without rows (`casemgmt db upgrade` on the new server, say): checked empty, so dropping it loses
        # nothing, and the archive's own schema (perhaps older, migrated afterwards) takes its place.
        engine = create_engine(url, poolclass=NullPool)
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            metadata.drop_all(engine)
        finally:
            engine.dispose()
    uri, env = libpq(url)
    # --single-transaction: all or nothing. --no-owner/--no-acl: the objects belong to the role of the target URL,
    # whatever the roles of the source server were called.
    _run([pg_restore, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password",
          f"--dbname={uri}", str(staged)], env, "pg_restore")
