from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db

# HTCDS 2.0's seven points of informed consent, in the standard's order.
SEVEN_POINTS = (
    "point_interview",        # consent (or a child's assent) to the interview
    "point_purpose",          # the purpose of the interview was explained
    "point_data_uses",        # actual and potential uses of the data
    "point_research",         # non-identifying use for research
    "point_access_right",     # the right to request one's own data
    "point_retention",        # how long data is kept
    "point_withdrawal",       # how to withdraw consent
)

# What the person agreed to, beyond the interview. Each gates an action (see consent.queries.has_consent).
PURPOSES = ("share", "return", "police_report")


class ConsentRecord(db.Model):
    __tablename__ = "consent_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    obtained_on: Mapped[date]
    obtained_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    language: Mapped[str] = mapped_column(String(8))  # ISO 639-1, the person's language
    interpreter_used: Mapped[bool] = mapped_column(default=False)
    interpreter_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    is_child_assent: Mapped[bool] = mapped_column(default=False)  # a child's assent, with a guardian's consent
    # For a child (under 18 on obtained_on, cases.age): who gave consent with the child's assent, and how they are
    # related (a code of cases.age.GUARDIAN_RELATIONSHIPS). Both encrypted: together they say who the family is.
    guardian_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    guardian_relationship: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    point_interview: Mapped[bool] = mapped_column(default=False)
    point_purpose: Mapped[bool] = mapped_column(default=False)
    point_data_uses: Mapped[bool] = mapped_column(default=False)
    point_research: Mapped[bool] = mapped_column(default=False)
    point_access_right: Mapped[bool] = mapped_column(default=False)
    point_retention: Mapped[bool] = mapped_column(default=False)
    point_withdrawal: Mapped[bool] = mapped_column(default=False)
    consents_to_share: Mapped[bool] = mapped_column(default=False)
    consents_to_return: Mapped[bool] = mapped_column(default=False)
    consents_to_police_report: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # The version counter (core/versions.py). A consent record is not edited (what the person agreed to is withdrawn
    # and recorded again, never rewritten); the counter moves with its withdrawal, like every record's.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    obtained_by = relationship("User", foreign_keys=[obtained_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])

    __table_args__ = (Index("ix_consent_records_case", "case_id", "obtained_on"),)
    __mapper_args__ = {"version_id_col": version}

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None
