from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

# Why a case is closed. "referred" closes it with the HTCDS status ClosedReferred; every other code with Closed.
CLOSURE_CODES = ValueSet("ClosureReason", {
    "completed": _l("Assistance completed"),
    "declined": _l("The person declined further assistance"),
    "lost_contact": _l("Contact lost"),
    "referred": _l("Referred to another organisation"),
    "deceased": _l("The person died"),
    "other": _l("Other"),
})

# "withdrawn": the requester (or a supervisor) took the request back before a decision; decided_by/decided_at say
# who and when, decision_note why.
CLOSURE_STATUSES = ("requested", "approved", "rejected", "withdrawn")


def status_for(code: str) -> str:
    """The HTCDS case status a closure with this code leaves the case in."""
    return "ClosedReferred" if code == "referred" else "Closed"


class ClosureRequest(db.Model):
    """A caseworker asks to close a case; a supervisor of the case's organisation approves (which closes it through
    the stage machine) or rejects (it stays open)."""

    __tablename__ = "closure_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    status: Mapped[str] = mapped_column(String(12), default="requested")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # The stage change that carried out an approval: an approval closes the case once, and never again after a
    # reopening (see journey.guards).
    stage_change_id: Mapped[str | None] = mapped_column(ForeignKey("stage_changes.id", ondelete="SET NULL"))

    case = relationship("Case")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    stage_change = relationship("StageChange")

    __table_args__ = (
        Index("ix_closure_requests_case", "case_id", "requested_at"),
        Index("ix_closure_requests_status", "status", "case_id"),
        # One request waiting for a supervisor per case (docs/invariants.md), even when two are sent at once.
        Index("uq_closure_requests_case_pending", "case_id", unique=True,
              postgresql_where=text("status = 'requested'"), sqlite_where=text("status = 'requested'")),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
