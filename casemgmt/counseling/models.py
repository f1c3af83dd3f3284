"""Counseling and care sessions. The notes are the most sensitive text in the system: encrypted, and decrypted
only for the author, the case's assigned caseworker and the organisation's supervisors."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.deletion import Deletable
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

SESSION_TYPES = ValueSet("CounselingSessionType", {
    "psychosocial": _l("Psychosocial"),
    "legal": _l("Legal"),
    "medical": _l("Medical"),
})

MIN_DURATION, MAX_DURATION = 1, 600


class CounselingSession(Deletable, db.Model):
    __tablename__ = "counseling_sessions"

    # A UUID known before INSERT, because the encrypted notes bind the row id (see crypto.fields).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    session_type: Mapped[str] = mapped_column(String(16))
    # The professional or service (not the person's data), kept in plaintext so the fact of a session is readable
    # without decrypting anything.
    provider: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date]
    duration_minutes: Mapped[int]
    follow_up_on: Mapped[date | None]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    author = relationship("User", foreign_keys=[author_id])

    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_counseling_sessions_case_held", "case_id", "held_on"),
        Index("ix_counseling_sessions_follow_up", "follow_up_on"),
        CheckConstraint(
            f"duration_minutes BETWEEN {MIN_DURATION} AND {MAX_DURATION}", name="duration"
        ),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
