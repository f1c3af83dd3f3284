"""Builders for the best-interests tests. Call them inside an app context."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.bestinterests import operations
from casemgmt.bestinterests.models import BestInterestsAssessment, BestInterestsDetermination
from casemgmt.cases.models import Case, new_uuid
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.families.models import FamilyMember
from tests import factories

TODAY = date.today()
DAYS = timedelta(days=1)
# A 15-year-old by the date of birth alone: a child on every day these tests act on.
CHILD_DOB = TODAY.replace(year=TODAY.year - 15) - 40 * DAYS

BIA = {"assessed_on": TODAY - 3 * DAYS, "child_views": "Quiere volver con su abuela en Jacmel.",
       "safety": "The recruiter was a neighbour; now in prison.", "family": "Grandmother willing, visited.",
       "health": "Good.", "education": "Grade 7, wants to go back to school.",
       "recommendations": "Return with monitoring."}
REASONS = "The grandmother's home is safe and the child wishes to return; school place confirmed."


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()


def child_case(w, **overrides) -> Case:
    values = {"date_of_birth": CHILD_DOB, "assigned_to_id": w.caseworker.id, "citizenship": "HT", **overrides}
    return factories.case(w.caseworker, **values)


def assessment(actor, case: Case, **overrides) -> BestInterestsAssessment:
    made = operations.record_assessment(actor, case, {**BIA, **overrides})
    db.session.commit()
    return made


def convene(w, case: Case, recommendation: str = "return_to_family", decision: str = "return", proposer=None,
            panel=None, bia: BestInterestsAssessment | None = None) -> BestInterestsDetermination:
    proposer = proposer or w.caseworker
    bia = bia or db.session.scalar(select(BestInterestsAssessment).where(BestInterestsAssessment.case_id == case.id)
                                   ) or assessment(proposer, case)
    members = panel if panel is not None else [w.caseworker.id, w.supervisor.id]
    made = operations.convene(proposer, case, {
        "assessment_id": bia.id, "decision": decision, "recommendation": recommendation, "reasons": REASONS,
        "conditions": "Monthly visit by the mission for six months.", "panel": members,
    })
    db.session.commit()
    return made


def determined(w, case: Case, recommendation: str = "return_to_family", decision: str = "return"):
    made = convene(w, case, recommendation, decision)
    for actor in (w.caseworker, w.supervisor):
        operations.sign(actor, made, "concur")
        db.session.commit()
    assert made.status == "determined"
    return made


def family_member(case: Case, *, possibly_involved: bool = False, given_name: str = "Mireille",
                  relationship: str = "aunt_uncle") -> FamilyMember:
    member = FamilyMember(id=new_uuid(), case_id=case.id, relationship_code=relationship,
                          possibly_involved=possibly_involved, whereabouts="known")
    seal(member, "given_name", given_name)
    seal(member, "family_name", "Jean-Louis")
    db.session.add(member)
    db.session.commit()
    return member


def events(prefix: str) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.seq)))
