"""Projects (grants), their donors, budget lines, implementing organisations and countries; the cases enrolled in
them; the work on a case attributed to one of them; and the monthly exchange rates finance keeps.

Nothing here is about a person except through case_id: a project, its budget and its rates are the organisation's
own facts, so they are plain columns. Amounts are Numeric with an ISO 4217 currency (casemgmt/core/money.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

DONOR_KINDS = ValueSet("DonorKind", {
    "government": _l("Government agency"),
    "foreign_ministry": _l("Foreign ministry or development fund"),
    "un_agency": _l("UN agency"),
    "multilateral": _l("Multilateral or regional body"),
    "foundation": _l("Foundation or private donor"),
    "own_funds": _l("Own funds"),
})

# The kinds of work on a case that can be charged to a project (ProjectAttribution.record_kind); each is read by
# programmes/attributable.py from its feature's table.
RECORD_KINDS = ValueSet("AttributedRecord", {
    "placement": _l("Shelter stay"),
    "counseling": _l("Counseling session"),
    "return": _l("Assisted return"),
    "reintegration_service": _l("Reintegration service"),
})


class Donor(db.Model):
    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The organisation that recorded the donor; its projects name it.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_donors_org_name", "organisation_id", "name", unique=True),)


class Project(db.Model):
    """A grant: a donor's money for a period, in one currency, spent by line, implemented by one or more
    organisations. The lead organisation (organisation_id) manages it; every implementer sees it, each with its own
    cases only."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    eligibility: Mapped[str | None] = mapped_column(Text)
    # The fund's delegation: a request up to this amount (in the project's currency) needs one approver, above it
    # two different ones.
    single_approval_limit: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    donor = relationship("Donor")
    organisation = relationship("Organisation")
    lines: Mapped[list[BudgetLine]] = relationship(order_by="BudgetLine.position", cascade="all, delete-orphan",
                                                   back_populates="project")
    implementers: Mapped[list[ProjectOrganisation]] = relationship(cascade="all, delete-orphan")
    countries: Mapped[list[ProjectCountry]] = relationship(cascade="all, delete-orphan")
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_projects_org_code", "organisation_id", "code", unique=True),
        CheckConstraint("ends_on >= starts_on", name="project_period"),
        CheckConstraint("single_approval_limit >= 0", name="approval_limit_not_negative"),
    )

    @property
    def organisation_ids(self) -> frozenset[int]:
        """Who implements it (the lead included): the access policies read this, knowing nothing of projects."""
        return frozenset({self.organisation_id, *(i.organisation_id for i in self.implementers)})

    @property
    def country_codes(self) -> list[str]:
        return sorted(c.country for c in self.countries)


class ProjectOrganisation(db.Model):
    __tablename__ = "project_organisations"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)

    organisation = relationship("Organisation")

    # The projects an organisation implements (the project filter, the enrolment form).
    __table_args__ = (Index("ix_project_organisations_org", "organisation_id", "project_id"),)


class ProjectCountry(db.Model):
    __tablename__ = "project_countries"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)


class BudgetLine(db.Model):
    """A line of the project's budget. A line with a category funds the emergency fund's requests of that category
    (one line per category and project); a line without one (staff, travel, overheads) is spent outside casemgmt."""

    __tablename__ = "budget_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(32))  # a fund.models.CATEGORIES code, or None
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # Touched by the fund under a row lock (core.invariants.lock_row) so requests for its last funds queue.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    project = relationship("Project", back_populates="lines")

    __table_args__ = (
        Index("ix_budget_lines_project", "project_id", "position"),
        Index("ix_budget_lines_project_category", "project_id", "category", unique=True,
              postgresql_where=text("category IS NOT NULL"), sqlite_where=text("category IS NOT NULL")),
        CheckConstraint("amount >= 0", name="budget_line_not_negative"),
    )


class Enrolment(db.Model):
    """A case taking part in a project, from a date (to a date). The enrolling organisation (one of the
    implementers) owns the row: each implementer sees its own enrolments."""

    __tablename__ = "project_enrolments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    enrolled_on: Mapped[date]
    ended_on: Mapped[date | None]
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    project = relationship("Project")
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        # One open enrolment per case and project: enrolling twice is refused by the database too.
        Index("ix_project_enrolments_open", "case_id", "project_id", unique=True,
              postgresql_where=text("ended_on IS NULL"), sqlite_where=text("ended_on IS NULL")),
        Index("ix_project_enrolments_case", "case_id", "enrolled_on"),
        # A project's cases for one organisation, by date (the project page, the donor report's cohort).
        Index("ix_project_enrolments_project_org", "project_id", "organisation_id", "enrolled_on", "case_id"),
        CheckConstraint("ended_on IS NULL OR ended_on >= enrolled_on", name="enrolment_period"),
    )


class ProjectAttribution(db.Model):
    """A piece of work on a case (a shelter stay, a session, a return, a reintegration service) charged to one
    project the case is enrolled in. Fund requests name their project themselves."""

    __tablename__ = "project_attributions"

    record_kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    attributed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    attributed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_project_attributions_project", "project_id", "record_kind", "record_id"),
        Index("ix_project_attributions_case", "case_id"),
    )


class ExchangeRate(db.Model):
    """One unit of `currency` is worth `rate` units of `quote_currency` during `month` (its first day), as the
    organisation's finance recorded it. Conversions use the rate of the month the money moved in."""

    __tablename__ = "exchange_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    month: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    source: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_exchange_rates_pair_month", "organisation_id", "currency", "quote_currency", "month", unique=True),
        CheckConstraint("rate > 0", name="rate_positive"),
    )
