"""Builders for test data, going through the real operations so encryption and audit are exercised."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from casemgmt.access import grants
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit.events import SYSTEM
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.referrals.models import Referral

PASSWORD = "violet-harbor-copper-lantern-58"

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def organisation(name: str | None = None, org_type: str = "NGO", country: str = "PE") -> Organisation:
    org = accounts.create_organisation(SYSTEM, name or f"Org {_next()}", org_type, country)
    db.session.commit()
    return org


def user(org: Organisation, role: str, username: str | None = None, password: str = PASSWORD) -> User:
    username = username or f"{role.split('_')[0]}{_next()}"
    created = accounts.create_user(SYSTEM, username, username.title(), org.id, role, password)
    db.session.commit()
    return created


def case_values(**overrides) -> dict:
    values = {
        "given_name": "María José",
        "family_name": "Quispe Mamani",
        "aliases": "Majo",
        "date_of_birth": date(1999, 4, 12),
        "phone": "+51 987 654 321",
        "address": "Jr. Puno 123, Lima",
        "document_type": "Passport",
        "document_number": "PE-1234567",
        "gender": "Feminine",
        "citizenship": "PE",
        "languages": ["es", "qu"],
        "trafficking_status": "PossibleVictimOfTrafficking",
        "status_decided_by": "NGO",
        "exploitation": ["ForcedLabour"],
        "control": ["DebtBondage", "WithholdsDocuments"],
        "recruitment_method": "ThroughFriendsOrSocialEvents",
        "relationship_to_trafficker": "Acquainted",
        "recruitment_country": ["PE"],
        "exploitation_country": ["CL"],
        "unaccompanied_or_separated": False,
        "pregnant": False,
        "elderly": False,
        "ill": False,
        "narrative": "Recruited with a false job offer in a textile workshop.",
        "status": "Active",
    }
    values.update(overrides)
    return values


def case(actor: User, **overrides) -> Case:
    created = cases.create_case(actor, case_values(**overrides))
    db.session.commit()
    return created


@dataclass
class World:
    ngo: Organisation
    ngo2: Organisation
    mission_org: Organisation
    admin: User
    hotline: User
    caseworker: User
    caseworker_b: User  # a second caseworker of the first NGO
    supervisor: User
    caseworker2: User  # the second NGO's caseworker
    supervisor2: User
    mission: User


def world() -> World:
    ngo = organisation("Casa Esperanza", "NGO", "PE")
    ngo2 = organisation("Camino Seguro", "NGO", "CO")
    mission_org = organisation("IOM Haiti", "Intergovernmental", "HT")
    return World(
        ngo=ngo, ngo2=ngo2, mission_org=mission_org,
        admin=user(ngo, "administrator", "admin"),
        hotline=user(ngo, "hotline_operator", "hotline"),
        caseworker=user(ngo, "caseworker", "caseworker"),
        caseworker_b=user(ngo, "caseworker", "caseworkerb"),
        supervisor=user(ngo, "supervisor", "supervisor"),
        caseworker2=user(ngo2, "caseworker", "caseworker2"),
        supervisor2=user(ngo2, "supervisor", "supervisor2"),
        mission=user(mission_org, "mission_staff", "mission"),
    )


def detached_world() -> World:
    """The world with every object loaded and then detached from the session (call it inside an app context): its
    attributes stay readable after the context ends, and a thread loads its own copies by id."""
    built = world()
    for obj in vars(built).values():
        db.session.refresh(obj)
    db.session.expunge_all()
    return built


def accepted_referral(case: Case, to_org: Organisation, responded_by: User | None = None, status: str = "accepted",
                      consent_id: str | None = None):
    """A referral of `case` to `to_org` written directly (the referrals feature has its own tests), with the grant
    accepting it gives (access/grants.py), which is what the access policies read. Any other status gives none."""
    referral = Referral(
        id=new_uuid(), case_id=case.id, from_organisation_id=case.organisation_id, to_organisation_id=to_org.id,
        reason="MigrationOrChangeOfLocation", status=status, created_by_id=case.created_by_id, created_at=utcnow(),
        responded_by_id=responded_by.id if responded_by else None,
        responded_at=utcnow() if status != "pending" else None,
    )
    db.session.add(referral)
    db.session.flush()
    if status == "accepted":
        grants.grant(SYSTEM, case, to_org.id, "referral", "referral", referral.id, user=responded_by,
                     consent_id=consent_id)
    return referral
