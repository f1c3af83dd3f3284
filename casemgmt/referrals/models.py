from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db

REFERRAL_STATUSES = ("pending", "accepted", "declined", "revoked")


class Referral(db.Model):
    """A case shared with another organisation. Accepted and not revoked, it gives the receiving organisation the
    limited access that access.policies describes (identity and what the return needs; never counseling notes)."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # HTCDS ReferralReason: AdditionalServicesRequired, MigrationOrChangeOfLocation, Other
    reason: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # How sharing was justified: "consent", or an override ("minor", "imminent_danger") with a recorded reason.
    consent_basis: Mapped[str] = mapped_column(String(24), default="consent")
    note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    override_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    case = relationship("Case")
    from_organisation = relationship("Organisation", foreign_keys=[from_organisation_id])
    to_organisation = relationship("Organisation", foreign_keys=[to_organisation_id])

    __table_args__ = (
        Index("ix_referrals_to_org_status", "to_organisation_id", "status"),
        Index("ix_referrals_case", "case_id"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
