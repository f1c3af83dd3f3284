"""Projects, enrolments, attributions and paid fund requests written directly with the models, for the donor
report's tests (the fund's own operations are tested elsewhere and are not needed to count what was paid)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from casemgmt.extensions import db
from casemgmt.fund.models import Disbursement, FundRequest
from casemgmt.programmes.models import BudgetLine, Donor, Enrolment, Project, ProjectAttribution, ProjectOrganisation


def project(org, code: str, currency: str = "USD", donor: Donor | None = None, implementers=()) -> Project:
    donor = donor or Donor(organisation_id=org.id, name=f"Donor {code}", kind="government")
    db.session.add(donor)
    db.session.flush()
    made = Project(organisation_id=org.id, donor_id=donor.id, code=code, title=f"Project {code}",
                   starts_on=date(2023, 1, 1), ends_on=date(2025, 12, 31), currency=currency,
                   single_approval_limit=Decimal("500.00"))
    db.session.add(made)
    db.session.flush()
    for implementer in (org, *implementers):
        db.session.add(ProjectOrganisation(project_id=made.id, organisation_id=implementer.id))
    db.session.flush()
    return made


def enrol(case, project_: Project, org, on: date, ended: date | None = None) -> Enrolment:
    row = Enrolment(case_id=case.id, project_id=project_.id, organisation_id=org.id, enrolled_on=on, ended_on=ended)
    db.session.add(row)
    db.session.flush()
    return row


def attribute(kind: str, record_id: str, case, project_: Project, org) -> None:
    db.session.add(ProjectAttribution(record_kind=kind, record_id=record_id, project_id=project_.id, case_id=case.id,
                                      organisation_id=org.id))
    db.session.flush()


def line(project_: Project, category: str) -> BudgetLine:
    found = next((x for x in project_.lines if x.category == category), None)
    if found is None:
        found = BudgetLine(project_id=project_.id, name=category, category=category, amount=Decimal("100000.00"))
        db.session.add(found)
        db.session.flush()
        db.session.refresh(project_)
    return found


def paid(case, project_: Project, org, category: str, amount: str, paid_on: date | None, status: str = "disbursed",
         refunded: str = "0") -> FundRequest:
    """A request of `amount` in the project's currency; paid on `paid_on` (None: approved, never paid)."""
    request = FundRequest(case_id=case.id, organisation_id=org.id, project_id=project_.id,
                          budget_line_id=line(project_, category).id, category=category, amount=Decimal(amount),
                          currency=project_.currency, project_amount=Decimal(amount), payee_kind="vendor",
                          status=status if paid_on else "approved", refunded_amount=Decimal(refunded),
                          refunded_project_amount=Decimal(refunded))
    db.session.add(request)
    db.session.flush()
    if paid_on:
        db.session.add(Disbursement(request_id=request.id, case_id=case.id, method="cash", paid_on=paid_on))
        db.session.flush()
    return request
