"""Checkpoint lines: the audit chain's head (sequence and hash) and the UTC time, signed, one line each.

A line reads the same in the checkpoint file and in syslog, where it follows the syslog prefix:

    casemgmt-audit-checkpoint v1 kind=checkpoint seq=1234 hash=<64 hex> at=2026-12-06T01:02:03.456789Z sig=<64 hex>

The signature is an HMAC-SHA256 under a key derived for this purpose alone (keyring().audit_checkpoint_key()), so
whoever can write the database, but holds no root key, can neither forge a checkpoint nor move one. A `restart` line
is written by the operator (`casemgmt audit checkpoint --restart`) when a database is deliberately replaced (a
restored backup, a rebuilt demo): checkpoints written before it no longer bind the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MARKER = "casemgmt-audit-checkpoint"
CHECKPOINT, RESTART = "checkpoint", "restart"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_LINE = re.compile(
    MARKER + r" v1 kind=(checkpoint|restart) seq=(\d{1,18}) hash=([0-9a-f]{64}) "
    r"at=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) sig=([0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class Checkpoint:
    kind: str
    seq: int
    hash: str
    at: datetime  # naive UTC, as every timestamp in the database

    @property
    def at_text(self) -> str:
        return self.at.strftime(_TIME_FORMAT)


@dataclass(frozen=True)
class Reading:
    """One line of a checkpoint source that carries the marker: a valid checkpoint, or why it is not one."""

    source: str
    line_number: int
    checkpoint: Checkpoint | None
    error: str | None = None


def _signature(key: bytes, kind: str, seq: int, hash_: str, at_text: str) -> str:
    message = f"{MARKER}/v1|{kind}|{seq}|{hash_}|{at_text}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def format_line(checkpoint: Checkpoint, key: bytes) -> str:
    sig = _signature(key, checkpoint.kind, checkpoint.seq, checkpoint.hash, checkpoint.at_text)
    return (
        f"{MARKER} v1 kind={checkpoint.kind} seq={checkpoint.seq} hash={checkpoint.hash} "
        f"at={checkpoint.at_text} sig={sig}"
    )


def parse_line(line: str, key: bytes) -> Checkpoint:
    """Raise ValueError (with the reason) for a line that is not a genuine checkpoint."""
    match = _LINE.search(line)
    if match is None:
        raise ValueError("is not a well-formed checkpoint")
    kind, seq, hash_, at_text, sig = match.groups()
    if not hmac.compare_digest(sig, _signature(key, kind, int(seq), hash_, at_text)):
        raise ValueError("has no valid signature")
    # fromisoformat: a tenth of strptime's cost, which dominates a long file's verification.
    return Checkpoint(kind, int(seq), hash_, datetime.fromisoformat(at_text[:-1]))


def read(paths: Iterable[Path], key: bytes) -> Iterator[Reading]:
    """Every line that carries the marker, one at a time: a checkpoint file or a syslog/journald export may be large.

    Lines without the marker (other syslog traffic) are skipped. A missing file is not an error here: before the
    first checkpoint there is none.
    """
    for path in paths:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            continue
        with handle:
            for number, raw in enumerate(handle, start=1):
                text = raw.decode("utf-8", errors="replace")
                if MARKER not in text:
                    continue
                try:
                    yield Reading(str(path), number, parse_line(text, key))
                except ValueError as exc:
                    yield Reading(str(path), number, None, str(exc))
