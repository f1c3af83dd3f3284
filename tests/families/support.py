"""Builders for the family tests: a 14-year-old's case of the first NGO, referred (accepted) to the IOM mission, with
a transfer to the second NGO waiting for its answer (so the second NGO's supervisor reviews it), and a finance
officer. Call them inside an app context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.extensions import db
from casemgmt.families import operations
from casemgmt.families.models import FamilyMember, TracingRequest
from casemgmt.referrals import operations as referrals
from tests import factories
from tests.conftest import Web, new_client

TODAY = date.today()
DAYS = timedelta(days=1)
CHILD_DOB = TODAY.replace(year=TODAY.year - 14) - 30 * DAYS

MOTHER = {"relationship_code": "mother", "given_name": "Mirlande", "family_name": "Jean-Louis",
          "date_of_birth": date(1985, 3, 2), "phone": "+509 3456 7890", "address": "Rue Capois 12, Jacmel",
          "country": "HT", "whereabouts": "unknown", "notes": "Last seen at the market in Jacmel."}
FATHER = {"relationship_code": "father", "given_name": "Wilfrid", "family_name": "Baptiste", "country": "HT",
          "whereabouts": "known", "possibly_involved": True, "notes": "Took her to the recruiter."}
AUNT = {"relationship_code": "aunt_uncle", "given_name": "Mireille", "family_name": "Joseph", "country": "HT",
        "whereabouts": "known", "safe_contact": True, "may_be_told_location": True}


@dataclass
class Scene:
    case_id: str
    adult_case_id: str
    other_org_case_id: str


def consent(case: Case, actor) -> ConsentRecord:
    record = ConsentRecord(id=new_uuid(), case_id=case.id, obtained_on=TODAY - 10 * DAYS, obtained_by_id=actor.id,
                           language="fr", point_interview=True, consents_to_share=True, consents_to_return=True)
    db.session.add(record)
    db.session.flush()
    return record


def build(w) -> Scene:
    """Inside an app context; w is tests.factories.world() (reloaded in this session)."""
    child = factories.case(w.caseworker, date_of_birth=CHILD_DOB, unaccompanied_or_separated=True, citizenship="HT")
    consent(child, w.caseworker)
    factories.accepted_referral(child, w.mission_org, w.mission)
    factories.user(w.ngo, "finance_officer", "finance")
    factories.user(w.mission_org, "supervisor", "missionlead")
    db.session.commit()
    transfer = referrals.request_transfer(w.caseworker, child, w.ngo2.id, "She may move to Bogotá.")
    db.session.commit()
    referrals.approve_transfer(w.supervisor, transfer)
    adult = factories.case(w.caseworker)
    other = factories.case(w.caseworker2)
    db.session.commit()
    return Scene(case_id=child.id, adult_case_id=adult.id, other_org_case_id=other.id)


@pytest.fixture
def scene(app):
    with app.app_context():
        w = factories.world()
        built = build(w)
        db.session.remove()
        return built


def as_user(app, username: str) -> Web:
    web = Web(new_client(app))
    web.login(username)
    return web


def user(username: str):
    from casemgmt.accounts.models import User

    return db.session.scalar(select(User).where(User.username == username))


def add(case_id: str, values: dict, by: str = "caseworker") -> FamilyMember:
    member = operations.add_member(user(by), db.session.get(Case, case_id), values)
    db.session.commit()
    return member


def open_request(member: FamilyMember, reason: str = "unaccompanied", by: str = "caseworker") -> TracingRequest:
    found = operations.open_request(user(by), member, {"reason": reason, "description": "Tall, limps."})
    db.session.commit()
    return found


def events(prefix: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.like(prefix + "%"))
                                   .order_by(AuditEvent.seq)))


def form_data(values: dict) -> dict:
    """Operation values as a browser posts them (booleans as "y" or left out, dates as ISO strings)."""
    out = {}
    for key, value in values.items():
        if value is True:
            out[key] = "y"
        elif value is False or value is None:
            continue
        else:
            out[key] = value.isoformat() if isinstance(value, date) else value
    return out
