"""Keeping the version a correction or a deletion replaced, and reading it back for those allowed.

A feature describes its record once (Kind: what it is called, which policy reads its history, how to take a snapshot
of its content and how to show one), then calls keep() inside the operation that corrects or deletes, before it
changes the record, and refers to the revision's id in its audit event. The revision is written in the same
transaction as the change and its audit event: all three are saved, or none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import DateField, DateTimeLocalField

from casemgmt.access import Action, authorize
from casemgmt.accounts.models import User
from casemgmt.audit import record_event
from casemgmt.cases.models import new_uuid
from casemgmt.core import versions
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db
from casemgmt.revisions.models import RecordRevision

MAX_REASON = 2000


def _seal(record, revision: RecordRevision, column: str, value: str | None) -> None:
    seal(revision, column, value)


def _unseal(record, revision: RecordRevision, column: str) -> str | None:
    return unseal(revision, column)


def _seal_own(record, column: str, value: str | None) -> None:
    seal(record, column, value)


@dataclass(frozen=True)
class Kind:
    """How the revisions of one kind of record are kept and shown."""

    name: str  # the record_type of its revisions, and the object_type of its audit events
    title: Callable[[], str]  # what the record is called, e.g. "Counseling session" (translated when called)
    read_action: Action  # who may read its earlier versions: whoever may read the record's content now
    fields: tuple[str, ...]  # what a correction may change, as the correction form names it
    events: tuple[str, str]  # the audit actions of a correction and of a deletion
    snapshot: Callable[[object], dict]  # the record's content now, decrypted, as a form would show it
    describe: Callable[[dict], list[tuple[str, str]]]  # (label, value shown) for a snapshot
    # Sealing under another key than the case's (a hotline contact without a case has a key of its own): `seal`
    # and `unseal` for a revision's columns, `seal_own` for the record's deletion reason.
    seal: Callable = field(default=_seal)
    unseal: Callable = field(default=_unseal)
    seal_own: Callable = field(default=_seal_own)


def _plain(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot keep a {type(value).__name__} in a revision")


def keep(actor, kind: Kind, record, change: str, reason: str | None) -> RecordRevision:
    """Seal the record's content as it is now (the version about to be replaced) into a new revision."""
    if change not in ("correct", "delete"):
        raise ValueError(change)
    content = json.dumps(kind.snapshot(record), default=_plain, sort_keys=True, ensure_ascii=False)
    revision = RecordRevision(
        id=new_uuid(), record_type=kind.name, record_id=str(record.id), case_id=record.encryption_case_id,
        version=record.version, change=change, changed_by_id=actor.id, changed_at=utcnow(),
    )
    kind.seal(record, revision, "content", content)
    kind.seal(record, revision, "reason", reason or None)
    db.session.add(revision)
    return revision


def clean_reason(value: str | None) -> str | None:
    value = value.strip() if isinstance(value, str) else None
    if value and len(value) > MAX_REASON:
        value = value[:MAX_REASON]
    return value or None


def correct(actor, kind: Kind, record, values: dict, base: int | None, reason: str | None,
            apply: Callable[[list[str]], None]) -> list[str]:
    """Correct a record from the version `base` the editor started from (core/versions.py): keep the version it
    replaces, let `apply(changed)` write the changed fields, write it now, and audit it (field names, the revision's
    id, never values). Returns the fields that changed (none: nothing is written or kept)."""
    versions.check(record, kind.name, base, lambda: kind.snapshot(record), values, kind.fields)
    changed = versions.differences(kind.snapshot(record), values, kind.fields)
    if not changed:
        return []
    revision = keep(actor, kind, record, "correct", clean_reason(reason))
    apply(changed)
    versions.flush(record, kind.name, kind.snapshot, values, kind.fields)
    record_event(kind.events[0], object_type=kind.name, object_id=record.id, case_id=record.encryption_case_id,
                 actor=actor, details={"fields": changed, "revision": revision.id,
                                       "from_version": revision.version, "to_version": record.version})
    return changed


def delete(actor, kind: Kind, record, reason: str | None, base: int | None, stale: Exception) -> RecordRevision:
    """Mark the record deleted, with who, when and why (the reason sealed like the record's other free text), and
    keep the version it had. `stale` is raised when the record changed (or was deleted) after the user opened it:
    a deletion decided on a version nobody has seen is not made."""
    if record.is_deleted or (base is not None and base != record.version):
        raise stale
    revision = keep(actor, kind, record, "delete", reason)
    record.deleted_at = utcnow()
    record.deleted_by_id = actor.id
    kind.seal_own(record, "deletion_reason", reason)
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise stale from None
    record_event(kind.events[1], object_type=kind.name, object_id=record.id, case_id=record.encryption_case_id,
                 actor=actor, details={"revision": revision.id, "from_version": revision.version,
                                       "to_version": record.version})
    return revision


def describe(content: dict, form, fields) -> list[tuple[str, str]]:
    """A kept version's fields as the record's form labels and shows them."""
    out = []
    for name in fields:
        widget = form._fields.get(name)
        if widget is None:
            continue
        value = content.get(name)
        if isinstance(value, str) and isinstance(widget, DateTimeLocalField):
            value = _parsed(datetime.fromisoformat, value)
        elif isinstance(value, str) and isinstance(widget, DateField):
            value = _parsed(date.fromisoformat, value)
        out.append((str(widget.label.text), versions.display(widget, value)))
    return out


def _parsed(parse, value: str):
    try:
        return parse(value)
    except ValueError:
        return value


def revisions_of(kind: Kind, record_id) -> list[RecordRevision]:
    return list(db.session.scalars(
        select(RecordRevision)
        .where(RecordRevision.record_type == kind.name, RecordRevision.record_id == str(record_id))
        .order_by(RecordRevision.version)
    ))


def has_revisions(kind: Kind, record_ids) -> set[str]:
    """Which of these records have been corrected (for a "history" link on list pages), with one query."""
    ids = [str(i) for i in record_ids]
    if not ids:
        return set()
    return set(db.session.scalars(
        select(RecordRevision.record_id).where(RecordRevision.record_type == kind.name,
                                               RecordRevision.record_id.in_(ids)).distinct()
    ))


@dataclass
class Shown:
    """One replaced version, opened for the history page."""

    version: int
    change: str
    changed_by: str
    changed_at: datetime
    reason: str | None
    fields: list[tuple[str, str]]


def history(actor, kind: Kind, record) -> list[Shown]:
    """Every earlier version of the record, decrypted, for a user the kind's policy allows; the reading is audited
    (the event names the record, never what the versions said)."""
    authorize(actor, kind.read_action, record)
    found = revisions_of(kind, record.id)
    names = dict(db.session.execute(
        select(User.id, User.display_name).where(User.id.in_({r.changed_by_id for r in found if r.changed_by_id}))
    ).all()) if found else {}
    shown = []
    for revision in found:
        content = json.loads(kind.unseal(record, revision, "content") or "{}")
        shown.append(Shown(
            version=revision.version, change=revision.change, changed_by=names.get(revision.changed_by_id, "—"),
            changed_at=revision.changed_at, reason=kind.unseal(record, revision, "reason"),
            fields=kind.describe(content),
        ))
    record_event("revision.view", object_type=kind.name, object_id=record.id, case_id=record.encryption_case_id,
                 actor=actor, details={"revisions": len(found)})
    return shown
