"""Walk the chain and say exactly which events were edited, inserted or deleted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from casemgmt.audit.events import GENESIS_HASH, HEAD_ID, chain_hash
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.extensions import db


@dataclass
class Problem:
    seq: int
    kind: str  # "edited", "inserted", "deleted", "truncated"
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
