"""Builders for the fund's tests: a project with budget lines, an enrolment, an exchange rate. The programmes
feature has its own tests; here its rows are written directly so the fund's tests depend only on its models."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from casemgmt.extensions import db
from casemgmt.fund import operations
from casemgmt.programmes.models import BudgetLine, Donor, Enrolment, ExchangeRate, Project, ProjectOrganisation
from casemgmt.programmes.rates import month_start

TODAY = date.today()
JUSTIFICATION = "Needs urgent dental surgery after the beating in the workshop in Gamarra"
PERSON = {"given_name": "Yesenia", "family_name": "Huamanchumo Ccori"}

_n = {"n": 0}


def project(org, *, currency: str = "USD", limit: str = "500.00", lines: dict | None = None,
            code: str | None = None, others=()) -> Project:
    _n["n"] += 1
    donor = Donor(organisation_id=org.id, name=f"Bureau of Population {_n['n']}", kind="government", country="US")
    db.session.add(donor)
    db.session.flush()
    made = Project(organisation_id=org.id, donor_id=donor.id, code=code or f"PRJ-{_n['n']}",
                   title=f"Emergency assistance {_n['n']}", starts_on=TODAY - timedelta(days=200),
                   ends_on=TODAY + timedelta(days=200), currency=currency, single_approval_limit=Decimal(limit))
    made.implementers = [ProjectOrganisation(organisation_id=o.id) for o in (org, *others)]
    lines = lines if lines is not None else {"medical": "1000.00", "emergency_shelter": "300.00"}
    made.lines = [BudgetLine(position=i, name={"medical": "Medical care", "emergency_shelter": "Emergency shelter"}
                             .get(cat, cat.title()), category=cat, amount=Decimal(amount))
                  for i, (cat, amount) in enumerate(lines.items())]
    made.lines.append(BudgetLine(position=99, name="Staff", category=None, amount=Decimal("5000.00")))
    db.session.add(made)
    db.session.commit()
    return made


def enrol(case, prj: Project, org, by) -> Enrolment:
    row = Enrolment(case_id=case.id, project_id=prj.id, organisation_id=org.id,
                    enrolled_on=TODAY - timedelta(days=30), enrolled_by_id=by.id)
    db.session.add(row)
    db.session.commit()
    return row


def rate(org, currency: str, quote: str, value: str, day: date = TODAY) -> ExchangeRate:
    row = ExchangeRate(organisation_id=org.id, month=month_start(day), currency=currency, quote_currency=quote,
                       rate=Decimal(value))
    db.session.add(row)
    db.session.commit()
    return row


def values(prj: Project, **overrides) -> dict:
    out = {"project_id": prj.id, "category": "medical", "amount": "100.00", "currency": prj.currency,
           "payee_kind": "clinic", "payee_name": "Clínica San Juan de Dios", "justification": JUSTIFICATION,
           "needed_by": None}
    out.update(overrides)
    return out


def ask(actor, case, prj: Project, **overrides):
    made = operations.request_assistance(actor, case, values(prj, **overrides))
    db.session.commit()
    return made


def form(prj: Project, **overrides) -> dict:
    """The request form as a browser posts it."""
    data = values(prj, **overrides)
    data["project_id"] = str(data["project_id"])
    data["needed_by"] = data["needed_by"] or ""
    return data
