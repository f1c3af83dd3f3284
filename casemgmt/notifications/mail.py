"""E-mailed notices: a digest that counts what waits ("2 approvals are waiting for you") and links to the list. Never
a name, a case reference, a reason or a task's title: an inbox is read on phones, forwarded and kept for years.

Queueing happens in the request's transaction (queue_digests): each reader who turned e-mail on gets one waiting
row in the outbox (NotificationMail), due now, or at the end of their digest interval when a digest went out less
than an interval ago; later notices join the waiting row. The row holds no address and no text: both are read when
it is sent, so a notice read in the meantime is not mailed, and nothing personal waits in the outbox.

Sending happens after the commit, off the request: send_soon() starts a background thread that sends what is due,
and `casemgmt notifications send` does the same from cron (and sends after an outage). A sender claims a row for a
few minutes first, so two senders never mail the same digest. A failure (the server down, a refused login) leaves
the row waiting, retried with a growing delay, and is logged with the row's id and the error's class only: never an
address, a server reply or content. Nothing here can fail the request that caused the notice.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import Flask, current_app
from flask_babel import force_locale, gettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casemgmt.accounts.models import User
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.notifications import kinds
from casemgmt.notifications.models import Notification, NotificationMail

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
# About two days of retries (1, 2, 4 ... minutes, then every 6 hours); the next notice queues a new digest anyway.
MAX_ATTEMPTS = 16
BATCH = 50
EXTENSION_KEY = "casemgmt.notifications.sender"
# Problems with one message, after which the connection still serves the next one.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def _mail_settings():
    return current_app.config["SETTINGS"].mail


# Queueing ------------------------------------------------------------------------------------------------------------

def queue_digests(session: Session, user_ids: set[int]) -> bool:
    """Make sure each of these users who wants e-mail has a digest waiting; True if any does."""
    settings = _mail_settings()
    if not settings.enabled or not user_ids:
        return False
    readers = list(session.scalars(
        select(User.id).where(User.id.in_(sorted(user_ids)), User.notify_by_email.is_(True),
                              User.email.is_not(None), User.active.is_(True))
    ))
    if not readers:
        return False
    now = utcnow()
    interval = timedelta(minutes=settings.digest_minutes)
    last_sent = dict(session.execute(
        select(NotificationMail.user_id, func.max(NotificationMail.sent_at))
        .where(NotificationMail.user_id.in_(readers), NotificationMail.status == "sent")
        .group_by(NotificationMail.user_id)
    ).all())
    rows = [{"user_id": user_id, "status": "waiting", "created_at": now, "attempts": 0,
             "send_after": max(now, last_sent[user_id] + interval) if last_sent.get(user_id) else now}
            for user_id in readers]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # A digest already waiting (the unique index on waiting rows) takes the new notices as they are.
    session.execute(dialect.insert(NotificationMail).on_conflict_do_nothing(), rows)
    return True


# Composing -----------------------------------------------------------------------------------------------------------

def open_counts(user_id: int) -> Counter:
    """How many open notices the user has, per category."""
    counts: Counter = Counter()
    for kind, number in db.session.execute(
        select(Notification.kind, func.count()).where(Notification.user_id == user_id,
                                                      Notification.read_at.is_(None),
                                                      Notification.done_at.is_(None))
        .group_by(Notification.kind)
    ):
        counts[kinds.kind(kind).category] += number
    return counts


def _language(user: User) -> str:
    available = current_app.config["SETTINGS"].languages
    return user.language if user.language in available else available[0]


def compose(user: User) -> EmailMessage | None:
    """The digest for this user now, or None when there is nothing to tell (read meanwhile) or nobody to tell."""
    settings = _mail_settings()
    if not (user.active and user.notify_by_email and user.email):
        return None
    counts = open_counts(user.id)
    if not sum(counts.values()):
        return None
    link = current_app.config["SETTINGS"].public_url + "/notifications"
    with force_locale(_language(user)):
        lines = [kinds.category_line(category, counts[category]) for category in kinds.CATEGORIES
                 if counts[category]]
        subject = gettext("Notices are waiting for you in casemgmt")
        body = "\n".join([
            *lines, "",
            gettext("Open your notices: %(link)s", link=link), "",
            gettext("This e-mail names no one and no case: it only counts what is waiting for you. You receive it "
                    "because you turned on e-mail notices on your account page in casemgmt, where you can turn "
                    "them off."),
        ])
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = user.email
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a machine
    message.set_content(body + "\n")
    return message


# Sending -------------------------------------------------------------------------------------------------------------

def connect(settings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.security == "ssl":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                                    context=context)
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        if settings.security == "starttls":
            connection.starttls(context=context)
    try:
        if settings.username:
            connection.login(settings.username, settings.password)
    except BaseException:
        connection.close()
        raise
    return connection


@dataclass
class Report:
    sent: int = 0
    skipped: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _claim(row_id: int) -> bool:
    """Take the row for one sender: a conditional UPDATE, committed before any mail leaves."""
    now = utcnow()
    result = db.session.execute(
        update(NotificationMail)
        .where(NotificationMail.id == row_id, NotificationMail.status == "waiting",
               or_(NotificationMail.claimed_until.is_(None), NotificationMail.claimed_until < now))
        .values(claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _finish(row: NotificationMail, status: str) -> None:
    row.status, row.claimed_until = status, None
    if status == "sent":
        row.sent_at = utcnow()
    db.session.commit()


def _failed(row: NotificationMail, exc: BaseException) -> None:
    row.attempts += 1
    row.last_error = type(exc).__name__[:64]
    row.claimed_until = None
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "abandoned"
        log.error("notice digest %s abandoned after %d attempts (%s)", row.id, row.attempts, row.last_error)
    else:
        delay = retry_delay(row.attempts)
        row.send_after = utcnow() + delay
        # The class of the error only: its text can hold the address or the server's reply.
        log.warning("notice digest %s not sent (attempt %d, %s); next try in %d minutes", row.id, row.attempts,
                    row.last_error, delay.total_seconds() // 60)
    db.session.commit()


def send_due(everything: bool = False, limit: int = BATCH) -> Report:
    """Send the digests that are due (with `everything`, those waiting for a retry too). Never raises for a mail
    server's trouble: the row stays waiting and the error is logged."""
    report = Report()
    settings = _mail_settings()
    if not settings.enabled:
        return report
    now = utcnow()
    query = select(NotificationMail.id).where(
        NotificationMail.status == "waiting",
        or_(NotificationMail.claimed_until.is_(None), NotificationMail.claimed_until < now),
    )
    if not everything:
        query = query.where(NotificationMail.send_after <= now)
    due = list(db.session.scalars(query.order_by(NotificationMail.send_after, NotificationMail.id).limit(limit)))
    db.session.commit()
    connection: smtplib.SMTP | None = None
    try:
        for row_id in due:
            if not _claim(row_id):
                continue  # another sender has it
            row = db.session.get(NotificationMail, row_id)
            user = db.session.get(User, row.user_id)
            message = compose(user) if user is not None else None
            if message is None:
                _finish(row, "skipped")
                report.skipped += 1
                continue
            try:
                if connection is None:
                    connection = connect(settings)
                connection.send_message(message)
            except MESSAGE_ERRORS as exc:
                _failed(row, exc)
                report.failed += 1
            except (OSError, smtplib.SMTPException) as exc:
                _failed(row, exc)
                report.failed += 1
                connection = None  # the server is away or refuses us: the others wait for the next round
                break
            else:
                _finish(row, "sent")
                report.sent += 1
    finally:
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()
    return report


class Sender:
    """One background thread per application (so per worker process) that sends due digests after commits. A
    commit while it works asks it for one more round instead of starting a second thread."""

    def __init__(self, app: Flask):
        self.app = app
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def wake(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="casemgmt-notice-mail", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._again = False
            with self.app.app_context():
                try:
                    send_due()
                except Exception:  # a database outage, a bug: log it; the rows wait for the next round or cron
                    log.exception("sending notice digests failed")
                finally:
                    db.session.remove()
            with self._lock:
                if not self._again:
                    self._thread = None
                    return

    def wait(self, timeout: float = 10.0) -> None:
        """Wait until the thread has finished (tests, and an orderly shutdown)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


_senders_lock = threading.Lock()


def sender(app: Flask) -> Sender:
    with _senders_lock:
        found = app.extensions.get(EXTENSION_KEY)
        if found is None:
            found = app.extensions[EXTENSION_KEY] = Sender(app)
        return found


def send_soon(app: Flask) -> None:
    if app.config["SETTINGS"].mail.enabled:
        sender(app).wake()

