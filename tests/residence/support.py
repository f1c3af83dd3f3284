"""Builders for the stay tests. Family members are written directly (the families feature has its own tests), with
their names encrypted as the families feature does; fund requests go through the fund's operation on a project
written directly (tests/fund/support.py)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.families.models import FamilyMember
from casemgmt.residence import operations
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember
from tests.fund import support as fund_support

TODAY = date.today()
DAYS = timedelta(days=1)


def family_member(case, relationship: str = "child", given: str = "Lucía", family: str = "Quispe",
                  involved: bool = False, told: bool = True, whereabouts: str = "known") -> FamilyMember:
    member = FamilyMember(id=new_uuid(), case_id=case.id, relationship_code=relationship, whereabouts=whereabouts,
                          possibly_involved=involved, may_be_told_location=told and not involved,
                          safe_contact=not involved, country="PE", created_at=utcnow(), updated_at=utcnow())
    seal(member, "given_name", given)
    seal(member, "family_name", family)
    db.session.add(member)
    db.session.flush()
    return member


def t_visa(actor, case, applied_on: date = TODAY - 200 * DAYS, state: str = "applied", **more) -> ProtectionStatus:
    values = {"country": "US", "kind": "t_visa", "state": state, "applied_on": applied_on,
              "certifying_agency": "HHS Office on Trafficking in Persons", "reference": "EAC-26-123-45678"}
    values.update(more)
    return operations.record_status(actor, case, values)


def travel_request(actor, case, org, prj=None):
    """A fund request for family reunification travel of `case` (its project and enrolment made if not given)."""
    prj = prj or fund_support.project(org, lines={"family_reunification_travel": "3000.00"})
    fund_support.enrol(case, prj, org, actor)
    return fund_support.ask(actor, case, prj, category="family_reunification_travel", payee_kind="vendor",
                            payee_name="Avianca", amount="400.00"), prj


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def journey(member: ReunificationMember, **more) -> dict:
    """A member's documents issued, travel and arrival, as update_member takes them."""
    values = {"derivative_kind": "t3", "document_status": "issued", "document_applied_on": TODAY - 60 * DAYS,
              "document_issued_on": TODAY - 20 * DAYS, "travel_on": None, "fund_request_id": None,
              "arrived_on": None}
    values.update(more)
    return values


def reunification_with(actor, case, *members) -> tuple[Reunification, list[ReunificationMember]]:
    made = operations.open_reunification(actor, case)
    joined = [operations.add_member(actor, made, {"family_member_id": m.id, "derivative_kind": "t3"})
              for m in members]
    return made, joined
