"""Facilities (shelters, safe houses...) with a bed capacity, and placements of a person in one of them."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.deletion import Deletable
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

FACILITY_TYPES = ValueSet("FacilityType", {
    "shelter": _l("Shelter"),
    "safe_house": _l("Safe house"),
    "transit_centre": _l("Transit centre"),
    "hospital": _l("Hospital"),
    "other": _l("Other"),
})

# Who a facility takes. A child (under 18 on the admission date, cases.age) is refused by an adults-only facility and
# an adult by a children-only one.
AGE_GROUPS = ValueSet("FacilityAgeGroup", {
    "adults": _l("Adults only"),
    "children": _l("Children only"),
    "both": _l("Adults and children"),
})

DISCHARGE_REASONS = ValueSet("DischargeReason", {
    "returned_home": _l("Returned home"),
    "other_facility": _l("Moved to another facility"),
    "independent_living": _l("Independent living"),
    "left_without_notice": _l("Left without notice"),
    "other": _l("Other"),
})


class Facility(db.Model):
    """A place with beds. Its address is the facility's, not the person's, so it stays plaintext; the link between
    a person and a facility lives in Placement and is shown only to staff of the facility's organisation."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    facility_type: Mapped[str] = mapped_column(String(24))
    bed_capacity: Mapped[int]
    # AGE_GROUPS; a facility that was never asked takes adults only (the safe default for a child).
    age_group: Mapped[str] = mapped_column(String(8), default="adults", server_default="adults")
    active: Mapped[bool] = mapped_column(default=True)
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    organisation = relationship("Organisation")
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        UniqueConstraint("organisation_id", "name", name="uq_facilities_org_name"),
        CheckConstraint("bed_capacity > 0", name="capacity_positive"),
        Index("ix_facilities_org_active", "organisation_id", "active"),
    )

    @property
    def takes_children(self) -> bool:
        return self.age_group in ("children", "both")

    @property
    def takes_adults(self) -> bool:
        return self.age_group in ("adults", "both")


class Placement(Deletable, db.Model):
    __tablename__ = "placements"

    # A UUID known before INSERT, because the encrypted discharge note binds the row id (see crypto.fields).
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    admitted_on: Mapped[date]
    # The reflection period: time to recover and decide whether to cooperate with the authorities, without pressure.
    reflection_period_until: Mapped[date | None]
    discharged_on: Mapped[date | None]
    discharge_reason: Mapped[str | None] = mapped_column(String(24))
    # Free text about the person's situation, so encrypted like every other note.
    discharge_note: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    discharged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discharged_at: Mapped[datetime | None]
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    facility: Mapped[Facility] = relationship()
    created_by = relationship("User", foreign_keys=[created_by_id])
    discharged_by = relationship("User", foreign_keys=[discharged_by_id])
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_placements_case_admitted", "case_id", "admitted_on"),
        # Occupancy: the open placements of a facility.
        Index("ix_placements_facility_open", "facility_id", "discharged_on"),
        # One person, one bed: at most one open placement per case, whatever races the application loses.
        Index(
            "uq_placements_case_open", "case_id", unique=True,
            postgresql_where=text("discharged_on IS NULL AND deleted_at IS NULL"),
            sqlite_where=text("discharged_on IS NULL AND deleted_at IS NULL"),
        ),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def is_open(self) -> bool:
        return self.discharged_on is None and self.deleted_at is None

    @classmethod
    def holding_a_bed(cls):
        """In SQL, what is_open says: a placement still going, not deleted. Every count of beds uses it (a deleted
        placement frees its bed)."""
        return and_(cls.discharged_on.is_(None), cls.deleted_at.is_(None))
