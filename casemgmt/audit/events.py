"""record_event(): add an audit event to the current transaction, chained to the one before it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from casemgmt.audit.anchor import COMMITTED_HEAD
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.core.time import utcnow
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db

GENESIS_HASH = "0" * 64
HEAD_ID = 1


class SystemActor:
    """The operator at the command line: privileged for administration, still audited."""

    id = None
    username = "system"
    role = "system"
    organisation_id = None
    is_authenticated = True


SYSTEM = SystemActor()


def _canonical(event: AuditEvent) -> bytes:
    occurred: datetime = event.occurred_at
    fields = [
        event.seq, occurred.isoformat(timespec="microseconds"), event.actor_id, event.actor_name,
        event.actor_role, event.organisation_id, event.action, event.object_type, event.object_id,
        event.case_id, event.outcome, event.details,
    ]
    # Added later: appended only when set, so every event written before the column existed still verifies.
    subject = getattr(event, "subject_organisation_id", None)  # synth's bulk rows predate it
    if subject is not None:
        fields.append(subject)
    return json.dumps(
        fields,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hmac.new(keyring().audit_key(), prev_hash.encode() + _canonical(event), hashlib.sha256).hexdigest()


def acting_user(actor):
    """`actor` when given, else the logged-in user of the request, else None (anonymous)."""
    if actor is not None:
        return actor
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def _head() -> AuditHead:
    locked = select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE, and two workers could read the same head and number two events alike (the
        # unique seq then fails one request). A no-op UPDATE takes SQLite's write lock first: the other writer
        # waits (busy_timeout) until this transaction commits, then reads the head this one moved.
        db.session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_seq=AuditHead.last_seq))
    head = db.session.execute(locked).scalar_one_or_none()
    if head is None:
        # The very first event: concurrent writers all find no head, and if each added one, all but the first
        # would fail on a duplicate key. INSERT ... ON CONFLICT DO NOTHING waits for the winner's commit instead;
        # then every writer locks the same row and numbers its event after the winner's.
        insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        db.session.execute(
            insert(AuditHead).values(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH).on_conflict_do_nothing()
        )
        head = db.session.execute(locked).scalar_one()
    return head


def record_event(
    action: str,
    *,
    object_type: str | None = None,
    object_id: object = None,
    case_id: str | None = None,
    outcome: str = "success",
    details: dict | None = None,
    actor=None,
    actor_name: str | None = None,
    subject_organisation_id: int | None = None,
) -> AuditEvent:
    """Append an event to the session; it is saved by the same commit as the change it records."""
    who = acting_user(actor)
    head = _head()
    event = AuditEvent(
        seq=head.last_seq + 1,
        occurred_at=utcnow(),
        actor_id=getattr(who, "id", None),
        actor_name=actor_name or getattr(who, "username", None) or "anonymous",
        actor_role=getattr(who, "role", None),
        organisation_id=getattr(who, "organisation_id", None),
        subject_organisation_id=subject_organisation_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        case_id=case_id,
        outcome=outcome,
        details=json.dumps(details or {}, sort_keys=True, separators=(",", ":")),
        prev_hash=head.last_hash,
    )
    event.hash = chain_hash(head.last_hash, event)
    head.last_seq, head.last_hash = event.seq, event.hash
    db.session.add(event)
    # Anchored (casemgmt/audit/anchor.py) once, and only if, this transaction commits.
    db.session.info[COMMITTED_HEAD] = (event.seq, event.hash)
    return event
