"""Victims who stay in the destination country: immigration and protection status, and family reunification
(issue 15).

Status: a T visa in the United States (T-1; "Continued Presence" requested by law enforcement before it; the health
department's certification for adults and eligibility letter for minors), or another country's equivalent (the EU's
reflection period and residence permit). Each record is one application or grant: applied, granted, refused,
withdrawn, expired, with dates, the certifying agency and work authorisation.

Family reunification: the family members (rows of families.FamilyMember) who join the person, each with their
documents (a T-2..T-6 derivative, or another country's family permit), travel (charged to the emergency fund's
"family reunification travel" where a project pays it: fund_request_id), arrival, and the services the family
receives after. A member who may be involved in the trafficking never joins: joining tells them where the person is.
The case's "stay" stage (cases.stages) is the journey's branch for all this, not a return with nobody travelling.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

STATUS_KINDS = ValueSet("ProtectionStatusKind", {
    "t_visa": _l("T visa (T-1, United States)"),
    "continued_presence": _l("Continued Presence (United States)"),
    "certification": _l("Certification letter (adult, United States)"),
    "eligibility_letter": _l("Eligibility letter (minor, United States)"),
    "reflection_period": _l("Reflection and recovery period"),
    "residence_permit": _l("Residence permit for victims"),
    "asylum": _l("Asylum or refugee status"),
    "other": _l("Other status"),
})

STATUS_STATES = ValueSet("ProtectionStatusState", {
    "applied": lazy_pgettext("protection status", "Applied"),
    "granted": lazy_pgettext("protection status", "Granted"),
    "refused": lazy_pgettext("protection status", "Refused"),
    "withdrawn": lazy_pgettext("protection status", "Withdrawn"),
    "expired": lazy_pgettext("protection status", "Expired"),
})

REUNIFICATION_STATUSES = ValueSet("ReunificationStatus", {
    "planning": _l("Planning"),
    "in_progress": _l("Documents and travel in progress"),
    "reunified": _l("Reunified"),
    "cancelled": lazy_pgettext("reunification status", "Cancelled"),
})
# A reunification still being worked on: one per case (uq_reunifications_case_open).
REUNIFICATION_OPEN = frozenset({"planning", "in_progress"})

DERIVATIVE_KINDS = ValueSet("DerivativeKind", {
    "t2": _l("T-2 (spouse)"),
    "t3": _l("T-3 (child)"),
    "t4": _l("T-4 (parent of a victim under 21)"),
    "t5": _l("T-5 (unmarried sibling under 18 of a victim under 21)"),
    "t6": _l("T-6 (adult or minor child of a derivative)"),
    "family_permit": _l("Family residence permit (other country)"),
    "other": _l("Other"),
})

DOCUMENT_STATUSES = ValueSet("ReunificationDocumentStatus", {
    "none": _l("None yet"),
    "applied": _l("Applied"),
    "issued": _l("Issued"),
    "refused": _l("Refused"),
})

SERVICE_KINDS = ValueSet("ReunificationServiceKind", {
    "reception": _l("Reception on arrival"),
    "housing": _l("Housing"),
    "medical": _l("Medical care"),
    "psychosocial": _l("Psychosocial support"),
    "school": _l("School enrolment"),
    "legal": _l("Legal assistance"),
    "language": _l("Language classes"),
    "livelihood": _l("Livelihood support"),
    "other": _l("Other"),
})


class ProtectionStatus(db.Model):
    __tablename__ = "protection_statuses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(24))  # STATUS_KINDS
    state: Mapped[str] = mapped_column(String(12))  # STATUS_STATES
    applied_on: Mapped[date | None]
    decided_on: Mapped[date | None]
    valid_until: Mapped[date | None]
    # An agency, not a person (e.g. "HHS Office on Trafficking in Persons", "FBI"): plaintext.
    certifying_agency: Mapped[str | None] = mapped_column(String(120))
    work_authorisation: Mapped[bool] = mapped_column(default=False)
    # The receipt or case number identifies the person: encrypted.
    reference: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_protection_statuses_case", "case_id", "applied_on"),
        # Reports count statuses granted per organisation and period.
        Index("ix_protection_statuses_org_state", "organisation_id", "state", "decided_on"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class Reunification(db.Model):
    __tablename__ = "reunifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[str] = mapped_column(String(12), default="planning")
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    opened_on: Mapped[date]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The day the last member still travelling arrived (status "reunified"): reports count families reunified by it.
    reunified_on: Mapped[date | None]
    cancelled_on: Mapped[date | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Why it was cancelled: it tells about the family (a refusal, a death, a threat), so it is encrypted.
    cancellation_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    members: Mapped[list[ReunificationMember]] = relationship(back_populates="reunification",
                                                              cascade="all, delete-orphan",
                                                              order_by="ReunificationMember.created_at")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_reunifications_case", "case_id", "opened_on"),
        Index("ix_reunifications_org_status", "organisation_id", "status", "reunified_on"),
        # One reunification being worked on per case: two "open" clicks at the same instant make one.
        Index("uq_reunifications_case_open", "case_id", unique=True,
              sqlite_where=text("status IN ('planning', 'in_progress')"),
              postgresql_where=text("status IN ('planning', 'in_progress')")),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def is_open(self) -> bool:
        return self.status in REUNIFICATION_OPEN


class ReunificationMember(db.Model):
    __tablename__ = "reunification_members"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    reunification_id: Mapped[str] = mapped_column(ForeignKey("reunifications.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    family_member_id: Mapped[str] = mapped_column(ForeignKey("family_members.id"))
    derivative_kind: Mapped[str | None] = mapped_column(String(16))  # DERIVATIVE_KINDS
    document_status: Mapped[str] = mapped_column(String(12), default="none")
    document_applied_on: Mapped[date | None]
    document_issued_on: Mapped[date | None]
    travel_on: Mapped[date | None]
    # The emergency fund's request that pays the travel (category family_reunification_travel), where one does.
    fund_request_id: Mapped[str | None] = mapped_column(ForeignKey("fund_requests.id"))
    arrived_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    reunification: Mapped[Reunification] = relationship(back_populates="members")
    family_member = relationship("FamilyMember")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("reunification_id", "family_member_id", name="uq_reunification_members_member"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class ReunificationService(db.Model):
    """A service the family receives after arriving (reception, housing, school...)."""

    __tablename__ = "reunification_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    reunification_id: Mapped[str] = mapped_column(ForeignKey("reunifications.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    family_member_id: Mapped[str | None] = mapped_column(ForeignKey("family_members.id"))  # None: the whole family
    kind: Mapped[str] = mapped_column(String(16))  # SERVICE_KINDS
    provided_on: Mapped[date]
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_reunification_services_reunification", "reunification_id", "provided_on"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
