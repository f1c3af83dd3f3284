from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.deletion import Deletable
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

# HTCDS 2.0 support-plan types, for both the plan's kinds of support and each service delivered.
SUPPORT_TYPES = ValueSet("SupportPlanType", {
    "Education": _l("Education"),
    "Financial": _l("Financial"),
    "Health": _l("Health"),
    "Legal": _l("Legal"),
    "Livelihood": _l("Livelihood"),
    "SocialCare": _l("Social care"),
    "RightsBasedTraining": _l("Rights-based training"),
    "Rehabilitation": _l("Rehabilitation"),
})

# The monitoring visits' scale, stated on the form and the page.
SUSTAINABILITY_SCALE = ValueSet("SustainabilityScore", {
    "1": _l("1 — not sustainable"),
    "2": _l("2 — barely sustainable"),
    "3": _l("3 — partly sustainable"),
    "4": _l("4 — mostly sustainable"),
    "5": _l("5 — fully sustainable"),
})
SCORE_MIN, SCORE_MAX = 1, 5
SCORE_DIMENSIONS = ("economic_score", "social_score", "psychosocial_score")


class ReintegrationPlan(db.Model):
    """The plan for the person's life after return, ideally made within one month of arrival. One per case."""

    __tablename__ = "reintegration_plans"

    # A UUID known before INSERT, because the encrypted objectives bind the row id (see crypto.fields).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    created_on: Mapped[date]
    objectives: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    planned_end_on: Mapped[date | None]
    actual_end_on: Mapped[date | None]
    responsible_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    responsible_organisation = relationship("Organisation")
    __mapper_args__ = {"version_id_col": version}
    supports: Mapped[list[ReintegrationSupport]] = relationship(
        cascade="all, delete-orphan", order_by="ReintegrationSupport.support_type"
    )

    __table_args__ = (
        Index("ix_reintegration_plans_case", "case_id", unique=True),
        Index("ix_reintegration_plans_responsible_org", "responsible_organisation_id"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def support_types(self) -> list[str]:
        return [s.support_type for s in self.supports]


class ReintegrationSupport(db.Model):
    """The plan's kinds of support (multi-valued HTCDS codes) as rows, so reports can count them with SQL."""

    __tablename__ = "reintegration_supports"

    plan_id: Mapped[str] = mapped_column(ForeignKey("reintegration_plans.id", ondelete="CASCADE"), primary_key=True)
    support_type: Mapped[str] = mapped_column(String(24), primary_key=True)

    __table_args__ = (Index("ix_reintegration_supports_type", "support_type"),)


class ServiceDelivered(Deletable, db.Model):
    __tablename__ = "reintegration_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    plan_id: Mapped[str] = mapped_column(ForeignKey("reintegration_plans.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    service_type: Mapped[str] = mapped_column(String(24))
    provider: Mapped[str] = mapped_column(String(200))  # an organisation or business, not the person
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217
    delivered_on: Mapped[date]
    implemented: Mapped[bool] = mapped_column(default=True)
    note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    plan = relationship("ReintegrationPlan")
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_reintegration_services_case_delivered", "case_id", "delivered_on"),
        Index("ix_reintegration_services_type", "service_type"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class MonitoringVisit(Deletable, db.Model):
    __tablename__ = "monitoring_visits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    visited_on: Mapped[date]
    visited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Sustainability on SUSTAINABILITY_SCALE: 1 = not sustainable ... 5 = fully sustainable.
    economic_score: Mapped[int]
    social_score: Mapped[int]
    psychosocial_score: Mapped[int]
    observations: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    next_visit_due: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        # A case's visits by date; with the scores, the dashboard's averages are read from the index alone.
        Index("ix_monitoring_visits_case_visited_scores", "case_id", "visited_on", *SCORE_DIMENSIONS),
        Index("ix_monitoring_visits_next_due", "next_visit_due"),
        *(
            CheckConstraint(f"{column} BETWEEN {SCORE_MIN} AND {SCORE_MAX}", name=column)
            for column in SCORE_DIMENSIONS
        ),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
