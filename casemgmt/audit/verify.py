"""Walk the chain and say exactly which events were edited, inserted or deleted; then hold the database against the
checkpoints anchored outside it, which tell a cut-off end, a wipe or an older copy put back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from casemgmt.audit import checkpoints
from casemgmt.audit.checkpoints import RESTART, Checkpoint
from casemgmt.audit.events import GENESIS_HASH, HEAD_ID, chain_hash
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db

MAX_BAD_LINES_NAMED = 10


@dataclass
class Problem:
    seq: int
    kind: str  # "edited", "inserted", "deleted"; against checkpoints: "truncated", "replaced", "forged", "unreadable"
    message: str


def verify_chain(batch_size: int = 5000) -> tuple[int, list[Problem]]:
    """Return (events checked, problems). Streams the table in key order, so memory stays flat.

    The head (the newest link, updated with every append) is read first: events appended while the walk runs are
    then still accepted when their own HMAC and link check out, instead of being mistaken for deletions, and events
    beyond the head that do not check out are named as inserted.
    """
    problems: list[Problem] = []
    head = db.session.get(AuditHead, HEAD_ID)
    head_seq, head_hash = (head.last_seq, head.last_hash) if head is not None else (None, None)
    expected_seq, prev_hash, checked, last_seq = 1, GENESIS_HASH, 0, 0
    after = 0
    while True:
        batch = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch_size)
        ).all()
        if not batch:
            break
        for event in batch:
            checked += 1
            if event.seq > expected_seq:
                missing = (
                    f"{expected_seq}" if event.seq - 1 == expected_seq else f"{expected_seq}-{event.seq - 1}"
                )
                problems.append(Problem(expected_seq, "deleted", f"event(s) {missing} missing before {event.seq}"))
            own_hash_ok = chain_hash(event.prev_hash, event) == event.hash
            link_ok = event.prev_hash == prev_hash
            if head_seq is not None and event.seq > head_seq and not (own_hash_ok and link_ok):
                problems.append(Problem(
                    event.seq, "inserted", f"event {event.seq} is not part of the chain, which ends at {head_seq}"
                ))
            elif not own_hash_ok and link_ok:
                problems.append(Problem(event.seq, "edited", f"event {event.seq} was changed after it was written"))
            elif not own_hash_ok:
                problems.append(Problem(event.seq, "inserted", f"event {event.seq} is not part of the chain"))
            elif not link_ok and event.seq == expected_seq:
                problems.append(
                    Problem(event.seq, "inserted", f"event {event.seq} does not follow the event before it")
                )
            elif event.seq == head_seq and event.hash != head_hash:
                problems.append(Problem(event.seq, "edited", f"event {event.seq} is not the newest recorded link"))
            prev_hash, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
            # Continue the chain from what the row claims, so one bad row is reported once, not forever after.
        after = batch[-1].seq
        # Drop only the events just checked: expunge_all() would also detach (and silently discard pending changes
        # of) whatever else the caller's session holds.
        for event in batch:
            db.session.expunge(event)
    if head_seq is not None and head_seq > last_seq:
        missing = f"{last_seq + 1}" if head_seq == last_seq + 1 else f"{last_seq + 1}-{head_seq}"
        problems.append(Problem(last_seq + 1, "deleted", f"event(s) {missing} missing from the end"))
    return checked, problems


@dataclass
class AnchorReport:
    checkpoints: int = 0  # genuine checkpoints that bind the database (those after the latest restart)
    latest: Checkpoint | None = None  # the one of the highest sequence
    restart: Checkpoint | None = None
    problems: list[Problem] = field(default_factory=list)


def _at(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.at:%Y-%m-%d %H:%M:%S} UTC"


def _readable(path: Path, report: AnchorReport) -> bool:
    """A missing file holds no checkpoint yet; one that cannot be read is a problem, not a crash."""
    try:
        path.open("rb").close()
    except FileNotFoundError:
        return False
    except OSError as exc:
        report.problems.append(Problem(0, "unreadable", f"{path} cannot be read: {exc.strerror}"))
        return False
    return True


def verify_anchor(paths: Iterable[Path], batch_size: int = 1000) -> AnchorReport:
    """Hold the database against every genuine checkpoint in `paths` (the checkpoint file, syslog exports).

    Two streaming passes over the lines, and one query per `batch_size` checkpoints, so memory stays flat however
    long the file grows. A line that carries the marker but no valid signature is named and ignored. Checkpoints
    older than the latest `restart` line (a database deliberately replaced by the operator) are set aside.
    """
    key = keyring().audit_checkpoint_key()
    report = AnchorReport()
    paths = [path for path in paths if _readable(path, report)]
    bad = 0
    for reading in checkpoints.read(paths, key):
        if reading.checkpoint is None:
            bad += 1
            if bad <= MAX_BAD_LINES_NAMED:
                report.problems.append(Problem(0, "forged", (
                    f"line {reading.line_number} of {reading.source} {reading.error}: ignored"
                )))
            continue
        checkpoint = reading.checkpoint
        if checkpoint.kind == RESTART and (report.restart is None or checkpoint.at >= report.restart.at):
            report.restart = checkpoint
    if bad > MAX_BAD_LINES_NAMED:
        report.problems.append(Problem(0, "forged", f"{bad - MAX_BAD_LINES_NAMED} more such lines ignored"))

    last_seq = db.session.scalar(select(func.max(AuditEvent.seq))) or 0
    first_mismatch: Checkpoint | None = None
    mismatches, last_mismatch, good_before = 0, 0, 0

    def check(batch: list[Checkpoint]) -> None:
        nonlocal first_mismatch, mismatches, last_mismatch, good_before
        stored = dict(db.session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_({c.seq for c in batch}))
        ).all())
        for checkpoint in batch:
            found = stored.get(checkpoint.seq)
            if found is None:
                continue  # beyond the end: counted below; in the middle: the chain walk names the deletion
            if found != checkpoint.hash:
                mismatches += 1
                if first_mismatch is None or checkpoint.seq < first_mismatch.seq:
                    first_mismatch = checkpoint
                last_mismatch = max(last_mismatch, checkpoint.seq)
            elif first_mismatch is None or checkpoint.seq < first_mismatch.seq:
                good_before = max(good_before, checkpoint.seq)

    batch: list[Checkpoint] = []
    for reading in checkpoints.read(paths, key):
        checkpoint = reading.checkpoint
        if checkpoint is None or (report.restart is not None and checkpoint.at < report.restart.at):
            continue
        report.checkpoints += 1
        if report.latest is None or checkpoint.seq > report.latest.seq:
            report.latest = checkpoint
        batch.append(checkpoint)
        if len(batch) >= batch_size:
            check(batch)
            batch = []
    if batch:
        check(batch)

    latest = report.latest
    if latest is not None and latest.seq > last_seq:
        ends = f"ends at event {last_seq}" if last_seq else "holds no events"
        report.problems.append(Problem(last_seq + 1, "truncated", (
            f"at least {latest.seq - last_seq} event(s) missing from the end: the checkpoint of {_at(latest)} "
            f"records event {latest.seq}, the database {ends}"
        )))
    if first_mismatch is not None:
        first = first_mismatch
        # The file is in sequence order but for races between workers: good_before is exact then, a bound if not.
        good_before = min(good_before, first.seq - 1)
        report.problems.append(Problem(first.seq, "replaced", (
            f"{mismatches} checkpoint(s) do not match the database, from event {first.seq} (checkpoint of "
            f"{_at(first)}) to event {last_mismatch}: the database was rewritten or an older copy put back; it "
            f"still matches the checkpoint of event {good_before}, so between {last_mismatch - first.seq + 1} and "
            f"{last_mismatch - good_before} anchored event(s) were replaced"
        )))
    return report
