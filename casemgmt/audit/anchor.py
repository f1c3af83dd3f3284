"""Anchor the audit chain outside the database: signed checkpoints of its head, written regularly to sinks the
database cannot rewrite.

The hash chain catches an event edited or deleted in the middle, but whoever can write the database can also cut the
tail and rewind `audit_head`, wipe both tables, or put back an older copy, and what is left still verifies. So the
head (sequence and hash) is signed with the time and appended to an append-only file (on other storage, `chattr +a`)
and/or sent to syslog/journald; `casemgmt audit verify` then checks the database against those checkpoints
(Certificate Transparency's signed tree heads, at small scale).

When: after a request whose commit moved the head, once the last checkpoint is older than
`audit_checkpoint_seconds` or `audit_checkpoint_events` events (CLI commands: after their commit). Several gunicorn
workers may write: each line is one write(2) to a file opened with O_APPEND, so lines never interleave, and a worker
reads the file's last line (only when the file has grown) to learn what the others anchored. Writing never fails the
user's request: an unavailable sink is logged as an error and retried later. Events committed just before a quiet
period are anchored by the next request, or by `casemgmt audit checkpoint` run from a timer.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from datetime import UTC
from pathlib import Path

from flask import Flask, current_app, has_app_context, has_request_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from casemgmt.audit.checkpoints import CHECKPOINT, RESTART, Checkpoint, format_line, parse_line
from casemgmt.audit.models import AuditHead
from casemgmt.core.time import utcnow
from casemgmt.crypto.keyring import EXTENSION_KEY as KEYRING_KEY
from casemgmt.extensions import db

log = logging.getLogger(__name__)

EXTENSION_KEY = "casemgmt.audit.anchor"
# session.info key: the head (seq, hash) that the current transaction moved; anchored only once it is committed.
COMMITTED_HEAD = "casemgmt.audit.head"
# authpriv.info: the facility for security messages, kept out of world-readable logs by common syslog set-ups.
SYSLOG_PRIORITY = 10 * 8 + 6
SYSLOG_TAG = "casemgmt-audit"
_TAIL_BYTES = 4096


class Anchor:
    """One per application (and so per worker process): where checkpoints go, and what was last anchored."""

    def __init__(self, file: Path | None, syslog: str | tuple[str, int] | None, seconds: int, events: int,
                 key: bytes):
        self.file, self.syslog, self.seconds, self.events = file, syslog, seconds, events
        self._key = key
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None  # the newest head this process has seen committed
        self._anchored_seq = 0
        self._anchored_at: float | None = None  # time.time() of the newest checkpoint known
        self._file_size: int | None = None
        self._retry_after = 0.0

    @property
    def enabled(self) -> bool:
        return self.file is not None or self.syslog is not None

    def sinks(self) -> list[str]:
        named = [str(self.file)] if self.file else []
        if self.syslog:
            where = self.syslog if isinstance(self.syslog, str) else f"{self.syslog[0]}:{self.syslog[1]}"
            named.append(f"syslog {where}")
        return named

    def last_in_file(self) -> Checkpoint | None:
        return None if self.file is None else last_checkpoint(self.file, self._key)

    def committed(self, seq: int, hash_: str) -> None:
        with self._lock:
            if self._head is None or seq > self._head[0]:
                self._head = (seq, hash_)

    def anchor_if_due(self) -> None:
        """Write a checkpoint of the newest committed head if one is due. Never raises: it runs after the user's
        change is saved, and a missing checkpoint must not turn a saved change into an error page."""
        try:
            with self._lock:
                now = time.time()
                if self._head is None or now < self._retry_after:
                    return
                self._catch_up_with_file()
                seq, hash_ = self._head
                if seq <= self._anchored_seq:
                    return
                age = None if self._anchored_at is None else now - self._anchored_at
                if age is not None and age < self.seconds and seq - self._anchored_seq < self.events:
                    return
                self._write(Checkpoint(CHECKPOINT, seq, hash_, utcnow()))
        except Exception:  # see the docstring: log it, keep the request
            log.exception("audit checkpoint failed")

    def write(self, checkpoint: Checkpoint) -> int:
        """Write a checkpoint now (the CLI); return how many sinks took it."""
        with self._lock:
            return self._write(checkpoint)

    def _write(self, checkpoint: Checkpoint) -> int:
        line = format_line(checkpoint, self._key)
        written = 0
        if self.file is not None:
            try:
                self._file_size = append_line(self.file, line)
                written += 1
            except OSError as exc:
                log.error("audit checkpoint not written to %s: %s", self.file, exc)
        if self.syslog is not None:
            try:
                send_to_syslog(self.syslog, line)
                written += 1
            except OSError as exc:
                log.error("audit checkpoint not sent to syslog %s: %s", self.syslog, exc)
        if written:
            self._anchored_seq, self._anchored_at = checkpoint.seq, time.time()
        else:
            # Not at every request while a sink is down: that would log an error per request.
            self._retry_after = time.time() + max(self.seconds, 5)
        return written

    def _catch_up_with_file(self) -> None:
        """Another worker may have anchored a newer head: its checkpoint is the file's last line."""
        if self.file is None:
            return
        try:
            size = os.stat(self.file).st_size
        except OSError:
            return
        if size == self._file_size:
            return
        self._file_size = size
        latest = self.last_in_file()
        if latest is not None and latest.seq >= self._anchored_seq:
            self._anchored_seq = latest.seq
            self._anchored_at = latest.at.replace(tzinfo=UTC).timestamp()


def append_line(path: Path, line: str) -> int:
    """Append one line with a single write(2) under O_APPEND, creating the file 0600 whatever the umask; return the
    file's new size. O_APPEND without O_TRUNC also works on a file made append-only with `chattr +a`."""
    data = (line + "\n").encode()
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)
    except FileExistsError:
        fd = os.open(path, flags)
    try:
        if os.write(fd, data) != len(data):
            raise OSError(errno.EIO, "short write")
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def send_to_syslog(address: str | tuple[str, int], line: str) -> None:
    """One datagram in the BSD syslog format: to a local socket (journald serves /dev/log too) or UDP host:port."""
    message = f"<{SYSLOG_PRIORITY}>{SYSLOG_TAG}: {line}".encode()
    if isinstance(address, str):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, address)
        except OSError as exc:
            if exc.errno != errno.EPROTOTYPE:
                raise
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:  # a daemon listening on a stream
                sock.settimeout(2)
                sock.connect(address)
                sock.sendall(message + b"\n")
        return
    family, kind, proto, _, sockaddr = socket.getaddrinfo(*address, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.sendto(message, sockaddr)


def last_checkpoint(path: Path, key: bytes) -> Checkpoint | None:
    """The genuine checkpoint nearest the end of the file, reading only its tail."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for text in reversed(lines):
        try:
            return parse_line(text, key)
        except ValueError:
            continue
    return None


def anchor() -> Anchor:
    return current_app.extensions[EXTENSION_KEY]


def anchor_head(kind: str = CHECKPOINT) -> tuple[Checkpoint | None, int]:
    """Checkpoint the head as the database holds it now (the CLI, a timer): (the checkpoint, sinks that took it).
    Anchoring a head that was already rewound loses nothing: verification goes by the highest checkpoint."""
    head = db.session.scalars(select(AuditHead)).first()
    if head is None or head.last_seq == 0:
        return None, 0
    checkpoint = Checkpoint(kind, head.last_seq, head.last_hash, utcnow())
    return checkpoint, anchor().write(checkpoint)


def restart_on_new_database(actor) -> tuple[Checkpoint | None, int]:
    """A database replaced on purpose (a restored backup, a rebuilt demo): record that in the new chain and anchor its
    head as a restart, so the checkpoints of the database it replaced are set aside instead of reported as a cut."""
    if not anchor().enabled:
        return None, 0
    from casemgmt.audit.events import record_event  # events imports this module: import at call time

    record_event("audit.anchor_restart", actor=actor)
    db.session.commit()
    return anchor_head(RESTART)


def already_anchored() -> bool:
    """The checkpoint file's last line already records the database's head (a timer need not repeat it)."""
    instance = anchor()
    head = db.session.scalars(select(AuditHead)).first()
    if instance.file is None or head is None:
        return False
    latest = instance.last_in_file()
    return latest is not None and (latest.seq, latest.hash) == (head.last_seq, head.last_hash)


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    key = app.extensions[KEYRING_KEY].audit_checkpoint_key()
    app.extensions[EXTENSION_KEY] = instance = Anchor(
        settings.audit_checkpoint_file, settings.audit_checkpoint_syslog,
        settings.audit_checkpoint_seconds, settings.audit_checkpoint_events, key,
    )
    if settings.is_production:
        _warn_about_placement(settings, instance)
    if instance.enabled:
        app.teardown_request(_anchor_after_request)


def _warn_about_placement(settings, instance: Anchor) -> None:
    if not instance.enabled:
        log.warning("audit checkpoints are off: a cut-off end of the audit trail would go unnoticed; set "
                    "CASEMGMT_AUDIT_CHECKPOINT_FILE and/or CASEMGMT_AUDIT_CHECKPOINT_SYSLOG")
    elif instance.file is not None and instance.file.resolve().is_relative_to(settings.instance_path):
        log.warning("the audit checkpoint file %s is in the instance folder: put it on storage that whoever can "
                    "write the database cannot rewrite, and make it append-only (chattr +a); see docs/audit.md",
                    instance.file)


def _anchor_after_request(_error) -> None:
    instance = current_app.extensions.get(EXTENSION_KEY)
    if instance is not None:
        instance.anchor_if_due()


@event.listens_for(Session, "after_commit")
def _head_committed(session: Session) -> None:
    head = session.info.pop(COMMITTED_HEAD, None)
    if head is None or not has_app_context():
        return
    instance = current_app.extensions.get(EXTENSION_KEY)
    if instance is None or not instance.enabled:
        return
    instance.committed(*head)
    if not has_request_context():
        # A CLI command or a job: there is no end of request to wait for. Inside a request the write waits for the
        # request's end, so a denial (committed mid-request) takes no longer than any other 404.
        instance.anchor_if_due()


@event.listens_for(Session, "after_soft_rollback")
def _head_rolled_back(session: Session, _previous_transaction) -> None:
    # A rolled-back head was never saved: anchoring it would report events as missing that never existed.
    session.info.pop(COMMITTED_HEAD, None)
