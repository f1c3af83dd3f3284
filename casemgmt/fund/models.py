"""The emergency assistance fund's records.

A request asks for an amount in some currency for a case, charged to a project's budget line (the line of the
request's category). Its amount in the project's currency, and the rate used, are fixed when it is made, so the
budget's arithmetic never changes under it. Life of a request (STATUSES):

    requested --(enough approvals)--> approved --(disbursement)--> disbursed --(refunds)--> refunded (in full)
        |                                |
        +--> declined (an approver)      +--> cancelled (before payment)
        +--> cancelled (the requester or a supervisor)
    refused: a request that would have exceeded the line's remaining funds; kept with the figures, never approved.

Free text (the payee's name, the justification, reasons) is encrypted under the case's key like every other note
about a person; the finance officer's pages never show the justification or a person payee's name.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

# The classes the requests' relationships name: imported here, so the mappers can be configured whatever imports the
# fund's models first (a module that builds a loader option at import time configures every mapper then).
from casemgmt.programmes.models import BudgetLine, Project

CATEGORIES = ValueSet("AssistanceCategory", {
    "emergency_shelter": _l("Emergency shelter"),
    "medical": _l("Medical care"),
    "legal": _l("Legal assistance"),
    "travel_return": _l("Travel and return"),
    "family_reunification_travel": _l("Family reunification travel"),
    "subsistence": _l("Subsistence"),
    "education_livelihood": _l("Education or livelihood grant"),
    "other": _l("Other assistance"),
})

PAYEE_KINDS = ValueSet("PayeeKind", {
    "person": _l("The person assisted"),
    "vendor": _l("A vendor or service provider"),
    "clinic": _l("A clinic or hospital"),
})

METHODS = ValueSet("DisbursementMethod", {
    "cash": _l("Cash"),
    "voucher": _l("Voucher"),
    "bank_transfer": _l("Bank transfer"),
    "in_kind": _l("In kind"),
})

STATUSES = ValueSet("FundRequestStatus", {
    "requested": _l("Waiting for approval"),
    "approved": _l("Approved"),
    "disbursed": _l("Disbursed"),
    "refunded": _l("Refunded"),
    "declined": _l("Declined"),
    "cancelled": _l("Cancelled"),
    "refused": _l("Refused: over the remaining budget"),
})
# Statuses whose amount still counts against the budget line (waiting, approved or paid); refunds are subtracted.
HOLDING = ("requested", "approved", "disbursed", "refunded")
OPEN = ("requested", "approved")


class FundRequest(db.Model):
    __tablename__ = "fund_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # The organisation that asked (the case's owner, or an organisation the case is referred to).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("budget_lines.id"))
    category: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    # The amount in the project's currency, at `rate` (units of the project's currency per unit of `currency`) of
    # `rate_month`; rate and month are NULL when the request is in the project's currency.
    project_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(20, 10))
    rate_month: Mapped[date | None]
    payee_kind: Mapped[str] = mapped_column(String(16))
    payee_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    justification: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    needed_by: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="requested")
    approvals_needed: Mapped[int] = mapped_column(default=1)
    # What the line had left when a request was refused for budget, in the project's currency.
    remaining_when_refused: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    # Why it was declined or cancelled: encrypted, it may say something about the person.
    reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    refunded_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0), server_default="0")
    refunded_project_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0), server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    project = relationship(Project)
    budget_line = relationship(BudgetLine)
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    approvals: Mapped[list[FundApproval]] = relationship(order_by="FundApproval.approved_at",
                                                         cascade="all, delete-orphan")
    disbursement: Mapped[Disbursement | None] = relationship(uselist=False, cascade="all, delete-orphan")
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.refunded_on", cascade="all, delete-orphan")
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        Index("ix_fund_requests_case", "case_id", "requested_at"),
        # The budget's arithmetic: what each line holds, by status (project page, the check before a request).
        Index("ix_fund_requests_line_status", "budget_line_id", "status", "project_amount", "refunded_project_amount"),
        # The fund's lists for one organisation: waiting for approval, by project and month.
        Index("ix_fund_requests_org_status", "organisation_id", "status", "requested_at"),
        # The fund's list unfiltered, newest first: its first page read in index order, not after sorting every
        # request of the organisation (fund/queries.py list_query orders by requested_at, id).
        Index("ix_fund_requests_org_requested", "organisation_id", "requested_at", "id"),
        Index("ix_fund_requests_project_org", "project_id", "organisation_id", "requested_at"),
        CheckConstraint("amount > 0", name="fund_amount_positive"),
        CheckConstraint("approvals_needed IN (1, 2)", name="fund_approvals_needed"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="fund_refund_within_amount"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id

    @property
    def approver_ids(self) -> frozenset[int]:
        """Who approved it so far: the access policy refuses them a second approval (two different people)."""
        return frozenset(a.approver_id for a in self.approvals)

    @property
    def net_project_amount(self) -> Decimal:
        return self.project_amount - (self.refunded_project_amount or Decimal(0))


class FundApproval(db.Model):
    __tablename__ = "fund_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("fund_requests.id", ondelete="CASCADE"))
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approver_role: Mapped[str] = mapped_column(String(32))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)

    approver = relationship("User")

    # Two approvals by one person are refused by the database as well as by the policy.
    __table_args__ = (Index("ix_fund_approvals_request_approver", "request_id", "approver_id", unique=True),)


class Disbursement(db.Model):
    __tablename__ = "fund_disbursements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    request_id: Mapped[str] = mapped_column(ForeignKey("fund_requests.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(16))
    paid_on: Mapped[date]
    reference: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    # The receipt: a document of the case (encrypted like every document), kind "receipt".
    receipt_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_fund_disbursements_request", "request_id", unique=True),
        Index("ix_fund_disbursements_paid_on", "paid_on"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id


class Refund(db.Model):
    """Money given back (unused, or paid by mistake), in the request's currency; its project amount is at the
    request's own rate, so a request's parts always add up."""

    __tablename__ = "fund_refunds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    request_id: Mapped[str] = mapped_column(ForeignKey("fund_requests.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    project_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    refunded_on: Mapped[date]
    reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_fund_refunds_request", "request_id"),
        CheckConstraint("amount > 0", name="refund_amount_positive"),
    )

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
