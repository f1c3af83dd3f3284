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

REFERRAL_STATUSES = ("pending", "accepted", "declined", "revoked")
# A referral in one of these states blocks a second one to the same organisation for the same case.
OPEN_REFERRAL_STATUSES = ("pending", "accepted")
# requested: waits for a supervisor of the owning organisation; approved: waits for the receiving organisation's
# answer (its supervisors hold a review grant to read the case); accepted: the case changed owner; declined: the
# receiving organisation said no and the case stays; rejected: the owning organisation's supervisor said no.
TRANSFER_STATUSES = ("requested", "approved", "accepted", "declined", "rejected", "cancelled")
# A transfer in one of these states is still to be decided: another one of the case is refused.
OPEN_TRANSFER_STATUSES = ("requested", "approved")

# Why a case is shared: a referral someone sends, or the hand-off a return plan makes to its receiving organisation.
REFERRAL_KINDS = ValueSet("ReferralKind", {
    "referral": _l("Referral"),
    "return_handoff": _l("Return hand-off"),
})

REFERRAL_REASONS = ValueSet("ReferralReason", {
    "AdditionalServicesRequired": _l("Additional services required"),
    "MigrationOrChangeOfLocation": _l("Migration or change of location"),
    "Other": _l("Other"),
})

# How sharing the case with another organisation is justified. Without the person's consent, only a minor or a
# person in imminent danger may be referred, and the reason is written down and audited on its own.
CONSENT_BASES = ValueSet("ConsentBasis", {
    "consent": _l("The person consented to sharing"),
    "minor": _l("Without consent: the person is a minor"),
    "imminent_danger": _l("Without consent: the person is in imminent danger"),
})
OVERRIDE_BASES = ("minor", "imminent_danger")

REFERRAL_STATUS_LABELS = ValueSet("ReferralStatus", {
    "pending": _l("Waiting for an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "revoked": _l("Revoked"),
})

TRANSFER_STATUS_LABELS = ValueSet("TransferStatus", {
    "requested": _l("Waiting for a supervisor"),
    "approved": _l("Approved, waiting for the receiving organisation"),
    "accepted": _l("Accepted: the case changed owner"),
    "declined": _l("Declined by the receiving organisation"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
})


class Referral(db.Model):
    """A case shared with another organisation: a referral someone sends, or the hand-off of a return plan to its
    receiving organisation (kind). Accepting it gives the receiving organisation a grant (access/grants.py) of the
    limited access access/scope.py describes (identity and what the return needs; never counseling notes), which
    revoking it ends."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # HTCDS ReferralReason: AdditionalServicesRequired, MigrationOrChangeOfLocation, Other
    reason: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24), default="referral", server_default="referral")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # How sharing was justified: "consent", or an override ("minor", "imminent_danger") with a recorded reason.
    consent_basis: Mapped[str] = mapped_column(String(24), default="consent")
    note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    override_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None]
    # Why the receiver declined (optional); free text about the case, so encrypted.
    decline_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    case = relationship("Case")
    from_organisation = relationship("Organisation", foreign_keys=[from_organisation_id])
    to_organisation = relationship("Organisation", foreign_keys=[to_organisation_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    responded_by = relationship("User", foreign_keys=[responded_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])

    __table_args__ = (
        Index("ix_referrals_to_org_status", "to_organisation_id", "status"),
        Index("ix_referrals_from_org_created", "from_organisation_id", "created_at"),
        Index("ix_referrals_case", "case_id"),
        # One open referral per case and receiving organisation, even when two people click at the same time.
        Index(
            "uq_referrals_open_per_org", "case_id", "to_organisation_id", unique=True,
            postgresql_where=text("status IN ('pending', 'accepted')"),
            sqlite_where=text("status IN ('pending', 'accepted')"),
        ),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class Transfer(db.Model):
    """A request to hand a case over to another organisation: a supervisor of the owning organisation approves it,
    then a supervisor of the receiving organisation accepts it (the case changes owner) or declines it. Unlike a
    referral it moves the case: the sender keeps no access of its own."""

    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    consent_basis: Mapped[str] = mapped_column(String(24), default="consent")
    override_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # Keep the sending organisation involved after the hand-over, through an accepted referral back to it.
    keep_access: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # The receiving organisation's answer, once the owning organisation has approved.
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]
    answer_note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)

    case = relationship("Case")
    from_organisation = relationship("Organisation", foreign_keys=[from_organisation_id])
    to_organisation = relationship("Organisation", foreign_keys=[to_organisation_id])
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    answered_by = relationship("User", foreign_keys=[answered_by_id])

    __table_args__ = (
        Index("ix_transfers_case", "case_id"),
        Index("ix_transfers_from_org_status", "from_organisation_id", "status"),
        # The receiving organisation's transfers waiting for its answer (home page, referrals inbox).
        Index("ix_transfers_to_org_status", "to_organisation_id", "status"),
        # At most one transfer still to be decided per case, by either organisation.
        Index(
            "uq_transfers_open_per_case", "case_id", unique=True,
            postgresql_where=text("status IN ('requested', 'approved')"),
            sqlite_where=text("status IN ('requested', 'approved')"),
        ),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
