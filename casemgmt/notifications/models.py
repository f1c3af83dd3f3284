from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.core.time import utcnow
from casemgmt.extensions import db

OPEN = "read_at IS NULL AND done_at IS NULL"
WAITING = "status = 'waiting'"
MAIL_STATUSES = ("waiting", "sent", "skipped", "abandoned")


class Notification(db.Model):
    """Something one user needs to know or do. No personal data: the text is built from `kind` when shown, and the
    case's reference only for a reader who may open the case."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # The page to act on: a path on this site, built from ids only.
    link: Mapped[str] = mapped_column(String(300))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # What the notice is about (a referral, a task...): settling it marks every notice about it done.
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    # The audit event it was derived from (None for the overdue sweep's notices).
    event_seq: Mapped[int | None]
    # Notices that must not repeat (one overdue notice per task, assignee and due date) carry a key; the unique
    # index makes a second sweep, or two at once, add nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # When what it asked for was done, by anyone; such a notice no longer counts.
    done_at: Mapped[datetime | None]

    case = relationship("Case")

    __table_args__ = (
        # The list page: one user's notices, newest first.
        Index("ix_notifications_user_created", "user_id", "created_at"),
        # The bell on every page counts these: the index holds the open notices only.
        Index("ix_notifications_user_open", "user_id", postgresql_where=text(OPEN), sqlite_where=text(OPEN)),
        # Settling: the open notices about one object.
        Index("ix_notifications_object_open", "object_type", "object_id",
              postgresql_where=text("done_at IS NULL"), sqlite_where=text("done_at IS NULL")),
    )

    @property
    def is_open(self) -> bool:
        return self.read_at is None and self.done_at is None


class NotificationMail(db.Model):
    """The outbox: one e-mail digest to send to a user. It holds no address and no text: both are read when it is
    sent (the address the user has then, the counts of what is open then), so nothing personal waits here."""

    __tablename__ = "notification_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Not before: the end of the user's digest interval, or the next retry after a failure.
    send_after: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender that took the row (its lease), so two senders never mail the same digest; a sender that died
    # leaves it to the next one once the lease ends.
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    # The class of the last failure ("ConnectionRefusedError"): never an address, a server's reply or content.
    last_error: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # One digest waiting per user: later notices join it.
        Index("uq_notification_mails_user_waiting", "user_id", unique=True,
              postgresql_where=text(WAITING), sqlite_where=text(WAITING)),
        # The senders' queue.
        Index("ix_notification_mails_waiting", "send_after", postgresql_where=text(WAITING),
              sqlite_where=text(WAITING)),
        # When the user's last digest went, for the interval.
        Index("ix_notification_mails_user_sent", "user_id", "sent_at"),
    )


class NotificationSweep(db.Model):
    """When the overdue sweep last ran for an organisation: the home page runs it at most once an hour."""

    __tablename__ = "notification_sweeps"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 primary_key=True, autoincrement=False)
    swept_at: Mapped[datetime] = mapped_column(default=utcnow)
