"""Hotline contacts and screening interviews."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.deletion import Deletable
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.intake.vocabulary import split_codes


class Contact(Deletable, db.Model):
    """One call, chat, message or visit to the hotline. Most contacts never become cases; some open one or are
    attached to an existing one. The contact belongs to the organisation that took it."""

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))  # ISO 639-1
    caller_type: Mapped[str | None] = mapped_column(String(24))
    call_type: Mapped[str] = mapped_column(String(24))
    indicators: Mapped[str | None] = mapped_column(String(400))  # codes of vocabulary.INDICATORS, comma-separated
    minor_involved: Mapped[bool] = mapped_column(default=False)
    immediate_danger: Mapped[bool] = mapped_column(default=False)
    actions: Mapped[str | None] = mapped_column(String(200))  # codes of vocabulary.ACTIONS, comma-separated
    consent_to_share: Mapped[bool] = mapped_column(default=False)
    # Why a report to the police was allowed: "consent", or an override ("minor", "imminent_danger").
    police_report_basis: Mapped[str | None] = mapped_column(String(24))
    summary: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    caller_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    caller_phone: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # A contact that belongs to no case has no case data key: its fields are sealed under a key of its own, wrapped
    # by the KEK and kept here. Attaching the contact to a case moves them under the case's key (intake.sealing),
    # so erasing the case shreds them too.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_version: Mapped[int | None]
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    linked_as: Mapped[str | None] = mapped_column(String(16))  # "opened" (this contact opened the case) or "attached"
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    organisation = relationship("Organisation")
    taken_by = relationship("User", foreign_keys=[taken_by_id])
    handled_by = relationship("User", foreign_keys=[handled_by_id])
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        # The intake queue (newest first) and the crisis work list (unhandled crisis contacts) of an organisation.
        Index("ix_contacts_org_occurred", "organisation_id", "occurred_at"),
        Index("ix_contacts_org_call_handled", "organisation_id", "call_type", "handled_at"),
        Index("ix_contacts_case", "case_id", "occurred_at"),
    )

    @property
    def encryption_case_id(self) -> str | None:
        return self.case_id

    @property
    def is_crisis(self) -> bool:
        return self.call_type == "crisis"

    @property
    def waiting(self) -> bool:
        """A crisis nobody has acted on yet: it stays on top of the queue. Opening a case from it or attaching it to
        one is acting on it (the case carries it on), like marking it handled (intake.queries.waiting_condition)."""
        return self.is_crisis and self.handled_at is None and self.case_id is None and self.deleted_at is None

    @property
    def indicator_list(self) -> list[str]:
        return split_codes(self.indicators)

    @property
    def action_list(self) -> list[str]:
        return split_codes(self.actions)


class Screening(db.Model):
    """A screening interview: consent, interpreter, indicators observed and the HTCDS finding with who decided."""

    __tablename__ = "screenings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    screened_on: Mapped[date]
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The consent record (with the interview point) the interview relied on; or the person declined.
    consent_record_id: Mapped[str | None] = mapped_column(ForeignKey("consent_records.id", ondelete="SET NULL"))
    consent_declined: Mapped[bool] = mapped_column(default=False)
    interpreter_used: Mapped[bool] = mapped_column(default=False)
    interpreter_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    language: Mapped[str | None] = mapped_column(String(8))  # ISO 639-1
    indicators: Mapped[str | None] = mapped_column(String(400))
    finding: Mapped[str | None] = mapped_column(String(40))  # HTCDS TraffickingStatus
    decided_by: Mapped[str | None] = mapped_column(String(40))  # HTCDS TraffickingStatusDecidedBy
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("Case")
    screened_by = relationship("User")
    consent_record = relationship("ConsentRecord")

    __table_args__ = (Index("ix_screenings_case", "case_id", "screened_on"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def indicator_list(self) -> list[str]:
        return split_codes(self.indicators)
