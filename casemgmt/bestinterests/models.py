"""A child's best interests: the assessment (BIA), the panel's determination (BID), the guardian or legal
representative, and the care arrangement (issue 15; UNHCR's Best Interests Procedure, as Primero records it).

- A BIA is recorded throughout: the child's views, safety, family, health, education and recommendations (all
  encrypted: they are about the child).
- A BID is decided by a panel before a durable decision (a return, a long-term placement, a reunification, staying
  in the destination country). Whoever proposes it names the panel: at least two people of the organisation, not
  the case's caseworker alone. Each member signs for themselves (concurs or dissents with a reason); the
  determination stands when every member has concurred, and fails ("not agreed") at the first dissent. The stage
  guards read the latest determined BID: a child's return needs one that recommends it (bestinterests.guards).
- Guardians and care arrangements have dates; an arrangement marked long-term needs a BID recommending it.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

# The BIA's sections, in the order the form and the page show them (each an encrypted column).
BIA_SECTIONS = ("child_views", "safety", "family", "health", "education", "recommendations")

DECISIONS = ValueSet("BestInterestsDecision", {
    "return": _l("Return to the country of origin"),
    "placement": _l("Long-term care placement"),
    "reunification": _l("Family reunification"),
    "stay": _l("Staying in the destination country"),
})

RECOMMENDATIONS = ValueSet("BestInterestsRecommendation", {
    "return_to_family": _l("Return to the family in the country of origin"),
    "reunification_destination": _l("Reunification with family in the destination country"),
    "local_integration": _l("Stay and integrate in the destination country"),
    "alternative_care": _l("Long-term alternative care"),
    "third_country": _l("Resettlement in a third country"),
    "against_return": _l("Do not return: not in the child's best interests"),
})

# What each durable step needs the latest determined BID to recommend (the guards and the pages read this).
RECOMMENDED_FOR = {
    "return": frozenset({"return_to_family"}),
    "stay": frozenset({"local_integration", "reunification_destination", "alternative_care"}),
    "reunification": frozenset({"reunification_destination"}),
    "placement": frozenset({"alternative_care", "local_integration"}),
}

BID_STATUSES = ValueSet("BestInterestsDeterminationStatus", {
    "convened": _l("Waiting for the panel"),
    "determined": _l("Determined"),
    "not_agreed": _l("Not agreed"),
    "withdrawn": lazy_pgettext("best interests determination status", "Withdrawn"),
})

PANEL_VOTES = ValueSet("PanelVote", {
    "pending": _l("Not signed yet"),
    "concur": _l("Concurs"),
    "dissent": _l("Dissents"),
})

MIN_PANEL = 2

GUARDIAN_KINDS = ValueSet("GuardianKind", {
    "parent": _l("Parent"),
    "legal_guardian": _l("Legal guardian"),
    "legal_representative": _l("Legal representative"),
    "guardian_ad_litem": _l("Guardian ad litem"),
    "other": _l("Other"),
})

CARE_KINDS = ValueSet("CareArrangementKind", {
    "family": _l("Family-based care"),
    "kinship": _l("Kinship care"),
    "foster": _l("Foster care"),
    "residential": _l("Residential care"),
    "supervised_independent": _l("Supervised independent living"),
})


class BestInterestsAssessment(db.Model):
    __tablename__ = "best_interests_assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    assessed_on: Mapped[date]
    child_views: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    safety: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    family: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    health: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    education: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    recommendations: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_best_interests_assessments_case", "case_id", "assessed_on"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class BestInterestsDetermination(db.Model):
    __tablename__ = "best_interests_determinations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    assessment_id: Mapped[str | None] = mapped_column(ForeignKey("best_interests_assessments.id"))
    decision: Mapped[str] = mapped_column(String(16))  # DECISIONS: what the panel decides about
    recommendation: Mapped[str] = mapped_column(String(32))  # RECOMMENDATIONS
    reasons: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    conditions: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    status: Mapped[str] = mapped_column(String(12), default="convened")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    determined_on: Mapped[date | None]
    closed_at: Mapped[datetime | None]  # determined, not agreed or withdrawn
    # Why the proposer withdrew it (only the proposer may: bestinterests.operations.withdraw); encrypted, it may say
    # something about the child.
    withdrawal_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    panel: Mapped[list[PanelMember]] = relationship(back_populates="determination", cascade="all, delete-orphan",
                                                    order_by="PanelMember.position")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_best_interests_determinations_case", "case_id", "status", "determined_on"),
        # Reports count determinations by recommendation per organisation and period.
        Index("ix_best_interests_determinations_org", "organisation_id", "status", "determined_on"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def member_ids(self) -> set[int]:
        return {m.user_id for m in self.panel}

    @property
    def pending_member_ids(self) -> set[int]:
        """The panel members who have not signed yet (access.policies: only they may sign)."""
        return {m.user_id for m in self.panel if m.vote == "pending"}


class PanelMember(db.Model):
    __tablename__ = "bid_panel_members"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    determination_id: Mapped[str] = mapped_column(ForeignKey("best_interests_determinations.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    position: Mapped[int] = mapped_column(default=0)
    vote: Mapped[str] = mapped_column(String(8), default="pending")  # PANEL_VOTES
    dissent_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    signed_at: Mapped[datetime | None]

    determination: Mapped[BestInterestsDetermination] = relationship(back_populates="panel")
    user = relationship("User")

    __table_args__ = (
        # Nobody sits twice on one panel: two members means two people.
        UniqueConstraint("determination_id", "user_id", name="uq_bid_panel_members_person"),
        # A member's waiting signatures, for their home page.
        Index("ix_bid_panel_members_user_vote", "user_id", "vote"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class Guardian(db.Model):
    """A guardian or legal representative of a child, with dates."""

    __tablename__ = "guardians"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # GUARDIAN_KINDS
    family_member_id: Mapped[str | None] = mapped_column(ForeignKey("family_members.id"))
    name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    contact: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    appointed_by: Mapped[Sealed | None] = mapped_column(EncryptedBytes)  # court or authority, and its reference
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_guardians_case", "case_id", "started_on"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class CareArrangement(db.Model):
    __tablename__ = "care_arrangements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # CARE_KINDS
    long_term: Mapped[bool] = mapped_column(default=False)
    family_member_id: Mapped[str | None] = mapped_column(ForeignKey("family_members.id"))
    carer: Mapped[Sealed | None] = mapped_column(EncryptedBytes)  # who cares for the child, and where
    notes: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_care_arrangements_case", "case_id", "started_on"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
