"""Named verbs on one's own notices and e-mail settings. Each checks its policy; the caller commits."""

from __future__ import annotations

import re

from flask_babel import gettext
from sqlalchemy import update
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.core.redirects import safe_next
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.notifications.models import Notification

# Enough to catch a typing slip; whether the address works only a delivered mail can tell.
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
EMAIL_MAX = 254


class NotificationError(ValueError):
    """A setting that cannot be saved; the message is shown to the user (already translated)."""


def load(actor, notification_id: int) -> Notification:
    """One of the actor's own notices; anyone else's answers 404, like a notice that does not exist."""
    authorize(actor, Action.HOME)
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.user_id != actor.id:
        raise NotFound()
    return notice


def mark_read(actor, notice: Notification) -> None:
    if notice.user_id != actor.id:
        raise NotFound()
    if notice.read_at is None:
        notice.read_at = utcnow()


def open_notice(actor, notice: Notification) -> str:
    """Mark it read and return where it leads: a path on this site (anything else leads to the list)."""
    mark_read(actor, notice)
    return safe_next(notice.link) or "/notifications"


def mark_all_read(actor) -> int:
    authorize(actor, Action.HOME)
    result = db.session.execute(
        update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def set_email_preferences(actor, email: str | None, enabled: bool) -> list[str]:
    """The address notices are e-mailed to, and whether they are. Audited with the names of what changed, never the
    address. Returns those names."""
    authorize(actor, Action.ACCOUNT_SELF)
    email = (email or "").strip() or None
    if email is not None and (len(email) > EMAIL_MAX or not EMAIL.match(email)):
        raise NotificationError(gettext("This does not look like an e-mail address."))
    if enabled and email is None:
        raise NotificationError(gettext("Give the e-mail address the notices should go to."))
    changed = [name for name, value in (("email", email), ("notify_by_email", bool(enabled)))
               if getattr(actor, name) != value]
    if not changed:
        return []
    actor.email, actor.notify_by_email = email, bool(enabled)
    record_event("account.notification_settings", object_type="user", object_id=actor.id, actor=actor,
                 details={"fields": changed, "notify_by_email": bool(enabled)})
    return changed
