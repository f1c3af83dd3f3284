from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db

CHANGES = ("correct", "delete")


class RecordRevision(db.Model):
    """The content a recorded fact (a counseling session, a placement, a service, a visit, a hotline contact) had
    before it was corrected or deleted: who changed it, when, why, and the earlier values as sealed JSON.

    The content is personal data (session notes, what a caller said), so it is encrypted like the record itself:
    under the case's data key, bound to this row (erasing the case shreds it with everything else), or, for a hotline
    contact that belongs to no case, under the contact's own key (intake.sealing), re-sealed under the case's key
    when the contact joins a case. The audit event of the change names this row's id and the fields, never values."""

    __tablename__ = "record_revisions"

    # A UUID known before INSERT, because the sealed columns bind the row id (see crypto.fields).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    record_type: Mapped[str] = mapped_column(String(32))  # the record's kind, as its audit events name it
    record_id: Mapped[str] = mapped_column(String(36))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    version: Mapped[int]  # the record's version that `content` holds: the one the change replaced
    change: Mapped[str] = mapped_column(String(8))  # one of CHANGES
    content: Mapped[Sealed] = mapped_column(EncryptedBytes)
    reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # A record's history, oldest first; one row per version replaced.
        Index("uq_record_revisions_record_version", "record_type", "record_id", "version", unique=True),
        Index("ix_record_revisions_case", "case_id", "changed_at"),
    )

    @property
    def encryption_case_id(self) -> str | None:
        return self.case_id
