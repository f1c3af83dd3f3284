from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

RETURN_STATUSES = ValueSet("ReturnPlanStatus", {
    "draft": lazy_pgettext("return plan status", "Draft"),
    "submitted": _l("Submitted for approval"),
    "approved": lazy_pgettext("return plan status", "Approved"),
    "departed": _l("Departed"),
    "arrived": _l("Arrived"),
    "cancelled": lazy_pgettext("return plan status", "Cancelled"),
})

# Statuses in which the plan's details may still change (a change after approval withdraws the approval).
EDITABLE = frozenset({"draft", "submitted", "approved"})
# Statuses that count as "approved" for the stage guard: the approval stays true once the person has travelled.
APPROVED_OR_LATER = frozenset({"approved", "departed", "arrived"})

# A context of its own: Spanish needs "Alto/Bajo" for a risk level but "Alta/Baja" for a task priority.
RISK_LEVELS = ValueSet("ReturnRiskLevel", {
    "low": lazy_pgettext("risk level", "Low"),
    "medium": lazy_pgettext("risk level", "Medium"),
    "high": lazy_pgettext("risk level", "High"),
})

FAMILY_OUTCOMES = ValueSet("FamilyAssessmentOutcome", {
    "found_willing": _l("Family found and willing to receive the person"),
    "found_not_willing": _l("Family found, not willing"),
    "not_found": _l("Family not found"),
    "not_applicable": _l("Not applicable"),
})

TRAVEL_DOCUMENT_STATUSES = ValueSet("TravelDocumentStatus", {
    "none": _l("None yet"),
    "requested": _l("Requested"),
    "issued": _l("Issued"),
    "not_needed": _l("Not needed"),
})


class ReturnPlan(db.Model):
    """An assisted voluntary return. The sending organisation (the case's) and the receiving organisation in the
    country of origin both work on it; a supervisor approves it before the person travels."""

    __tablename__ = "return_plans"

    # A UUID known before INSERT, because the encrypted columns bind the row id (see crypto.fields).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    receiving_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    destination_country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    destination_locality: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # Risk assessment: is the place of origin safe, how far does the trafficker reach?
    risk_level: Mapped[str | None] = mapped_column(String(8))
    risk_summary: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    risk_assessed_on: Mapped[date | None]
    risk_assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Family assessment
    family_outcome: Mapped[str | None] = mapped_column(String(24))
    family_summary: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    family_assessed_on: Mapped[date | None]
    family_assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Travel document
    travel_document_status: Mapped[str] = mapped_column(String(16), default="none")
    travel_document_requested_on: Mapped[date | None]
    travel_document_issued_on: Mapped[date | None]
    # Consular contact
    consular_contact_made: Mapped[bool] = mapped_column(default=False)
    consular_contact_on: Mapped[date | None]
    consular_note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # Itinerary and escort
    planned_departure_on: Mapped[date | None]
    route_details: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    escort_required: Mapped[bool] = mapped_column(default=False)
    escort_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # A child may travel with a parent or legal guardian instead of an escort: who (encrypted) and how related (a
    # code of cases.age.GUARDIAN_RELATIONSHIPS, encrypted too: with the name it says who the family is).
    guardian_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    guardian_relationship: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # The steps
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    departed_on: Mapped[date | None]
    departure_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    departure_confirmed_at: Mapped[datetime | None]
    arrived_on: Mapped[date | None]
    arrival_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    arrival_confirmed_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    receiving_organisation = relationship("Organisation", foreign_keys=[receiving_organisation_id])

    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_return_plans_case_created", "case_id", "created_at"),
        # The supervisors' approval list: submitted plans, oldest first.
        Index("ix_return_plans_status_submitted", "status", "submitted_at"),
        Index("ix_return_plans_receiving_org_status", "receiving_organisation_id", "status"),
        # The dashboard's returns pipeline: every plan's status and case, from the index alone.
        Index("ix_return_plans_status_case", "status", "case_id"),
        # One plan per case that is not cancelled (docs/invariants.md): two "start return plan" at the same instant
        # must not make two. An arrived plan stays the case's plan (reintegration reads its arrival).
        Index("uq_return_plans_case_active", "case_id", unique=True,
              postgresql_where=text("status <> 'cancelled'"), sqlite_where=text("status <> 'cancelled'")),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def requested_by_id(self) -> int | None:
        # Submitting the plan asks for its approval: the submitter may not approve it (access.policies).
        return self.submitted_by_id

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE

    @property
    def risk_assessed(self) -> bool:
        return bool(self.risk_level and self.risk_assessed_on)

    @property
    def family_assessed(self) -> bool:
        return bool(self.family_outcome and self.family_assessed_on)

    @property
    def travel_document_ready(self) -> bool:
        return self.travel_document_status in ("issued", "not_needed")

    @property
    def has_escort(self) -> bool:
        return bool(self.escort_required and self.escort_name is not None)

    @property
    def has_guardian(self) -> bool:
        return self.guardian_name is not None and self.guardian_relationship is not None

    @property
    def accompanied(self) -> bool:
        """What a child's return needs: an escort, or a named parent or legal guardian travelling along."""
        return self.has_escort or self.has_guardian

    def user_ids(self) -> set[int]:
        return {
            uid for uid in (
                self.created_by_id, self.risk_assessed_by_id, self.family_assessed_by_id, self.submitted_by_id,
                self.approved_by_id, self.departure_confirmed_by_id, self.arrival_confirmed_by_id,
                self.cancelled_by_id,
            ) if uid is not None
        }
