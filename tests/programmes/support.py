"""Builders for programmes tests. Call them inside an app context."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.fund.models import Disbursement, FundRequest
from casemgmt.programmes import operations

TODAY = date.today()
DAYS = timedelta(days=1)
START = TODAY - 200 * DAYS
END = TODAY + 500 * DAYS


def project_values(**overrides) -> dict:
    values = {
        "donor_id": None, "donor_name": "Global Affairs Canada", "donor_kind": "foreign_ministry",
        "donor_country": "CA", "code": "HT-AVR-01", "title": "Assisted voluntary return", "starts_on": START,
        "ends_on": END, "currency": "USD", "eligibility": "Haitian survivors abroad.",
        "single_approval_limit": "500", "organisation_ids": [], "countries": ["HT", "PE"],
        "lines": [{"name": "Medical care", "category": "medical", "amount": "1000.00"},
                  {"name": "Travel and return", "category": "travel_return", "amount": "3000"},
                  {"name": "Staff", "category": None, "amount": "5000"}],
    }
    values.update(overrides)
    return values


def make_project(actor, **overrides):
    project = operations.save_project(actor, None, project_values(**overrides))
    db.session.commit()
    return project


def edit_values(project, **overrides) -> dict:
    """The project's current values as the edit form sends them."""
    values = project_values(
        donor_id=project.donor_id, code=project.code, title=project.title, starts_on=project.starts_on,
        ends_on=project.ends_on, currency=project.currency, single_approval_limit=str(project.single_approval_limit),
        organisation_ids=sorted(project.organisation_ids), countries=project.country_codes,
        lines=[{"id": line.id, "name": line.name, "category": line.category, "amount": str(line.amount)}
               for line in project.lines])
    values.update(overrides)
    return values


def line_of(project, category):
    return next(line for line in project.lines if line.category == category)


def fund_request(case, project, category, amount, status="requested", organisation_id=None, currency=None,
                 rate=None, rate_month=None, paid_on=None, refunded="0", requested_by=None):
    """A request written directly (the fund feature has its own operations and tests): the budget's figures read
    only these columns."""
    line = line_of(project, category)
    amount = Decimal(amount)
    project_amount = (amount * rate).quantize(Decimal("0.01")) if rate else amount
    request = FundRequest(
        case_id=case.id, organisation_id=organisation_id or case.organisation_id, project_id=project.id,
        budget_line_id=line.id, category=category, amount=amount, currency=currency or project.currency,
        project_amount=project_amount, rate=rate, rate_month=rate_month, payee_kind="vendor", status=status,
        refunded_amount=Decimal(refunded), refunded_project_amount=Decimal(refunded), requested_at=utcnow(),
        requested_by_id=requested_by.id if requested_by else None)
    db.session.add(request)
    db.session.flush()
    if status in ("disbursed", "refunded"):
        db.session.add(Disbursement(request_id=request.id, case_id=case.id, method="cash",
                                    paid_on=paid_on or TODAY, recorded_at=utcnow()))
    db.session.commit()
    return request
