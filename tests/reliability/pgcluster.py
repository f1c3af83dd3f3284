"""A PostgreSQL server of the test's own, for tests that stop the database: the shared server on 5432 is never
touched. `initdb` in a temporary folder, a free port on 127.0.0.1, the unix socket in the same folder.

    with private_cluster() as cluster:
        url = cluster.create_database("outage")
        ...
        cluster.stop()   # immediate: like a crash or a pulled cable
        cluster.start()  # crash recovery, then accepting connections again

initdb refuses to run as root: as root, the commands run as the `postgres` system user (runuser), in a folder that
user owns. `require_binaries()` skips a test when the binaries are missing, and fails it in CI (CI=true), as
tests/conftest.py does for a missing PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

BINDIR = Path(os.environ.get("CASEMGMT_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "postgres"
COMMAND_TIMEOUT = 30


def binaries_present() -> bool:
    return all((BINDIR / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def require_binaries() -> None:
    if binaries_present():
        return
    message = f"PostgreSQL server binaries not found in {BINDIR} (set CASEMGMT_TEST_PG_BINDIR)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateCluster:
    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = port
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(BINDIR / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        completed = subprocess.run(  # noqa: S603 - the PostgreSQL binaries, with arguments of our own
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({completed.returncode}): {completed.stderr.strip()}\n"
                               f"{self.server_log()}")

    def server_log(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def init(self) -> None:
        # --no-sync: the data folder is thrown away; the server itself keeps its normal durability settings.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions")

    def start(self) -> None:
        # fsync=off: the tests stop the server process, never the machine, so the operating system keeps whatever
        # the server wrote and every acknowledged commit survives all the same; with fsync on, crash recovery first
        # syncs the whole data folder (seconds on a busy test machine).
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(COMMAND_TIMEOUT),
                  "-o", options)
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        """immediate: the server quits at once, like a crash (recovery at the next start); fast: disconnects clients
        and shuts down cleanly."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", str(COMMAND_TIMEOUT))
        self.running = False

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


@contextlib.contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A running private cluster; stopped and deleted on the way out, whatever happened."""
    require_binaries()
    # Not under pytest's tmp_path: its folders are root-only, and the server runs as postgres when we are root.
    folder = Path(tempfile.mkdtemp(prefix="casemgmt-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(SYSTEM_USER)
        os.chown(folder, account.pw_uid, account.pw_gid)
    cluster = PrivateCluster(folder, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running or (cluster.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
