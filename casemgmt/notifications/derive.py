"""Notices from each transaction's audit events, made as the transaction commits.

Every audit event is added to the session by casemgmt.audit.record_event. Listening to the session (not to the audit
package, which must not know of notifications) this module collects the new AuditEvent objects at each flush, and
just before the commit asks rules.py what each one means; the notices, the settled ones and the e-mail digests they
queue are written by that same commit. A change rolled back takes its notices with it.

A rule that fails (a bug, a record not where it expected) is logged with its action name and skipped: a notice must
never cost the user the change they were saving.
"""

from __future__ import annotations

import logging

from flask import current_app, g, has_app_context
from sqlalchemy import event, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casemgmt.audit.models import AuditEvent
from casemgmt.core.time import utcnow
from casemgmt.notifications import mail
from casemgmt.notifications.models import Notification
from casemgmt.notifications.rules import RULES, Fact, Notice, Outcome, Settle

log = logging.getLogger(__name__)

# session.info keys: the audit events this transaction added, and whether it queued an e-mail digest.
PENDING = "casemgmt.notifications.events"
MAIL_QUEUED = "casemgmt.notifications.mail_queued"
COUNT_CACHE = "_casemgmt_notification_count"


def save(session: Session, notices: list[Notice], event_seq: int | None = None,
         dedupe_keys: list[str | None] | None = None) -> None:
    """Write notices (Core INSERTs in the session's transaction) and queue the e-mail digests of their readers."""
    if not notices:
        return
    now = utcnow()
    keys = dedupe_keys or [None] * len(notices)
    statement = insert(Notification)
    if dedupe_keys:
        # Two sweeps at once both find a task without its notice; the unique key keeps the second one's out.
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(Notification).on_conflict_do_nothing()
    session.execute(statement, [
        {"user_id": n.user_id, "kind": n.kind, "link": n.link, "case_id": n.case_id, "object_type": n.object_type,
         "object_id": n.object_id, "event_seq": event_seq, "dedupe_key": key, "created_at": now}
        for n, key in zip(notices, keys, strict=True)
    ])
    if mail.queue_digests(session, {n.user_id for n in notices}):
        session.info[MAIL_QUEUED] = True


def apply_settle(session: Session, settle: Settle) -> None:
    conditions = [Notification.done_at.is_(None)]
    if settle.case_id is not None:
        conditions.append(Notification.case_id == settle.case_id)
    else:
        conditions += [Notification.object_type == settle.object_type, Notification.object_id == settle.object_id]
    if settle.kinds:
        conditions.append(Notification.kind.in_(settle.kinds))
    if settle.except_user_id is not None:
        conditions.append(Notification.user_id != settle.except_user_id)
    if settle.user_id is not None:
        conditions.append(Notification.user_id == settle.user_id)
    session.execute(update(Notification).where(*conditions).values(done_at=utcnow())
                    .execution_options(synchronize_session=False))


def _outcome(session: Session, audit_event: AuditEvent) -> Outcome | None:
    rule = RULES.get(audit_event.action)
    if rule is None or audit_event.outcome != "success":
        return None
    try:
        return rule(Fact(audit_event, session))
    except Exception:  # see the module's docstring: log it, keep the user's change
        log.exception("notification rule for %s failed: no notices from event %s", audit_event.action,
                      audit_event.seq)
        return None


def derive(session: Session, events: list[AuditEvent]) -> None:
    with session.no_autoflush:
        for audit_event in sorted(events, key=lambda e: e.seq):
            outcome = _outcome(session, audit_event)
            if outcome is None:
                continue
            for settle in outcome.settles:
                apply_settle(session, settle)
            save(session, outcome.notices, audit_event.seq)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context, _instances) -> None:
    found = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if found:
        session.info.setdefault(PENDING, []).extend(found)


@event.listens_for(Session, "before_commit")
def _derive_before_commit(session: Session) -> None:
    if not has_app_context():
        return
    if not session.info.get(PENDING) and not any(isinstance(obj, AuditEvent) for obj in session.new):
        return
    # Write what is pending first: the rules read the records the events name, as this commit will save them.
    session.flush()
    events = [e for e in session.info.pop(PENDING, []) if e in session]
    if events:
        derive(session, events)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(PENDING, None)
    queued = session.info.pop(MAIL_QUEUED, False)
    if not has_app_context():
        return
    g.pop(COUNT_CACHE, None)  # the bell counts again after a change
    if queued:
        mail.send_soon(current_app._get_current_object())


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous) -> None:
    # Events of a rolled-back transaction (or savepoint) were never saved: they must make no notice.
    pending = session.info.get(PENDING)
    if pending:
        session.info[PENDING] = [e for e in pending if e in session]
    session.info.pop(MAIL_QUEUED, None)
