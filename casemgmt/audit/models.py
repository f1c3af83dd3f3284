from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casemgmt.core.time import utcnow
from casemgmt.extensions import db


class AuditEvent(db.Model):
    """One event. Holds ids, field names and outcomes; never passwords, codes, search terms or personal data."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(index=True)
    # The organisation the event is about, when it is not the actor's own: a denied look at another organisation's
    # case, an installation administrator creating an organisation's account. Its supervisors see the event too.
    subject_organisation_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(36))
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_case_id_seq", "case_id", "seq"),
        Index("ix_audit_events_subject_org_seq", "subject_organisation_id", "seq"),
        # The newest change to one record: who saved the version an edit conflicted with (core/versions.py).
        Index("ix_audit_events_object_seq", "object_type", "object_id", "seq"),
    )

    @property
    def attempted_action(self) -> str | None:
        """For a denial: the action that was refused (its details hold nothing else)."""
        if self.outcome != "denied":
            return None
        try:
            return json.loads(self.details).get("action")
        except (ValueError, AttributeError):
            return None


class AuditHead(db.Model):
    """The newest link of the chain. Locked while an event is appended, so concurrent writers cannot fork the
    chain; it also lets verification notice events deleted from the end."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
