"""Demo children in tracing, once every case is there (finish), on the first children (by case reference) of the two
NGOs whose cases are open:

- "tracing": an unaccompanied child whose mother's whereabouts are unknown, with an open tracing request and two
  actions; her father is marked as possibly involved in the trafficking, an aunt is a safe contact who may be told
  where the child is;
- "reunify": a child whose tracing found the mother, with a family assessment visit by the IOM mission (the receiving
  organisation, through an accepted referral) recommending reunification;
- "against": a child whose visit by the IOM mission recommends against reunification (the father possibly involved).

The demo has exactly the number of cases asked for, so these are cases it already made; with too few children some
are left out. demo_children() finds them again (for best interests' demo). Everything goes through the operations,
dated in the past weeks; nothing is drawn at random, so the demo stays the same for a seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.cases import age
from casemgmt.cases.models import Case
from casemgmt.consent.queries import has_consent
from casemgmt.extensions import db
from casemgmt.families import operations, queries
from casemgmt.families.models import FamilyAssessmentVisit, TracingRequest
from casemgmt.referrals import operations as referrals

ROLES = ("tracing", "reunify", "against")
MIN_CHILDREN_NOTE = "A child: the IOM mission traces and assesses the family in the country of origin."


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    """Nothing per case: the children are chosen once every case is there (finish)."""


def _days_ago(days: int) -> date:
    return date.today() - timedelta(days=days)


def _owner(case: Case, people: dict[str, User]) -> User | None:
    for name in ("caseworker", "supervisor", "caseworker2", "supervisor2"):
        user = people.get(name)
        if user is not None and allowed(user, Action.FAMILY_MANAGE, case):
            return user
    return None


def _mission_reaches(case: Case, people: dict[str, User]) -> bool:
    """The IOM mission works on the case (an accepted referral or return hand-off), or it is referred to it now."""
    mission = people["mission"]
    if allowed(mission, Action.TRACING_MANAGE, case):
        return True
    sender = next((people[n] for n in ("caseworker", "supervisor", "caseworker2", "supervisor2")
                   if n in people and allowed(people[n], Action.REFERRAL_CREATE, case)), None)
    if sender is None or referrals.open_referral_to(case, mission.organisation_id) is not None:
        return False
    basis = "consent" if has_consent(case.id, "share") else "minor"
    referral = referrals.create_referral(sender, case, mission.organisation_id, "MigrationOrChangeOfLocation",
                                         MIN_CHILDREN_NOTE, consent_basis=basis,
                                         override_reason=MIN_CHILDREN_NOTE if basis == "minor" else None)
    referrals.accept_referral(mission, referral)
    return allowed(mission, Action.TRACING_MANAGE, case)


def _children(people: dict[str, User]) -> list[Case]:
    mission_org = people["mission"].organisation_id
    found = db.session.scalars(
        select(Case).where(Case.erased_at.is_(None), Case.stage != "closed", Case.organisation_id != mission_org)
        .order_by(Case.reference)
    )
    children = [case for case in found if age.is_child(case) and not queries.live_members(case.id)]
    # Children still before their return first: tracing and the family assessment come before a decision to return.
    return sorted(children, key=lambda case: case.stage in ("return", "reintegration"))


def _backdate(found: TracingRequest, days: int) -> None:
    found.opened_on = _days_ago(days)


def _tracing(case: Case, owner: User, mission: User | None) -> None:
    mother = operations.add_member(owner, case, {
        "relationship_code": "mother", "given_name": "Mirlande", "family_name": "Jean-Louis",
        "date_of_birth": date(1986, 5, 14), "country": "HT", "whereabouts": "unknown",
        "address": "Last seen at the Marché de Fer, Port-au-Prince", "notes": "Sold vegetables at the market."})
    operations.add_member(owner, case, {
        "relationship_code": "father", "given_name": "Wilfrid", "family_name": "Baptiste", "country": "HT",
        "whereabouts": "known", "possibly_involved": True,
        "notes": "The child says he handed her to the recruiter. Do not contact without a safety plan."})
    operations.add_member(owner, case, {
        "relationship_code": "aunt_uncle", "given_name": "Mireille", "family_name": "Joseph", "country": "HT",
        "whereabouts": "known", "phone": "+509 3712 4455", "address": "Rue 17, Cap-Haïtien", "safe_contact": True,
        "may_be_told_location": True, "lives_with_person": True})
    found = operations.open_request(owner, mother, {
        "reason": "unaccompanied", "description": "About 38, small scar on the left hand; speaks Kreyòl only."})
    _backdate(found, 30)
    operations.record_action(owner, found, {
        "kind": "phone_call", "done_on": _days_ago(25), "outcome": "lead",
        "contacted": "Caseworker called the aunt", "place": "By phone",
        "notes": "The aunt heard the mother moved to Gonaïves last year.", "family_member_id": None})
    operations.record_action(mission or owner, found, {
        "kind": "community_inquiry", "done_on": _days_ago(10), "outcome": "no_information",
        "contacted": "Mission staff asked at the market and the parish", "place": "Gonaïves",
        "notes": "Nobody knew her under that name; the parish will ask at Sunday mass."})


def _found_and_visited(case: Case, owner: User, mission: User, recommend: bool) -> None:
    if recommend:
        sought = operations.add_member(owner, case, {
            "relationship_code": "mother", "given_name": "Roselène", "family_name": "Pierre", "country": "HT",
            "whereabouts": "unknown", "date_of_birth": date(1984, 9, 2)})
        operations.add_member(owner, case, {
            "relationship_code": "grandparent", "given_name": "Anne", "family_name": "Pierre", "country": "HT",
            "whereabouts": "known", "safe_contact": True, "may_be_told_location": True})
    else:
        sought = operations.add_member(owner, case, {
            "relationship_code": "father", "given_name": "Jean", "family_name": "Dorval", "country": "HT",
            "whereabouts": "unknown", "possibly_involved": True,
            "notes": "Neighbours say he took money from the recruiter."})
        operations.add_member(owner, case, {
            "relationship_code": "stepparent", "given_name": "Nadège", "family_name": "Dorval", "country": "HT",
            "whereabouts": "known"})
    found = operations.open_request(owner, sought, {"reason": "separated"})
    _backdate(found, 60)
    operations.record_action(mission, found, {
        "kind": "home_visit", "done_on": _days_ago(40), "outcome": "located",
        "contacted": "Mission staff met the family at home", "place": "Jacmel" if recommend else "Les Cayes"})
    operations.close_request(mission, found, "found", "Located by the mission at the family home.")
    found.closed_on = _days_ago(40)
    operations.record_visit(mission, case, found, {
        "visited_on": _days_ago(30), "place": "Jacmel" if recommend else "Les Cayes",
        "people_met": "The mother and the grandmother" if recommend else "The father and the stepmother",
        "findings": ("The mother looks for the child since she left; a room is ready and the school agreed to take "
                     "her back. No contact with the recruiter.") if recommend else
                    ("The father refused to say how she left; a neighbour reports he owes money to the recruiter. "
                     "The stepmother does not want the child back."),
        "family_willing": "yes" if recommend else "no", "safety": "safe" if recommend else "unsafe",
        "recommendation": "reunify" if recommend else "do_not_reunify"})


def finish(people: dict[str, User], rng: random.Random) -> None:
    mission = people.get("mission")
    if mission is None:
        return
    roles = list(ROLES)
    for case in _children(people):
        if not roles:
            break
        owner = _owner(case, people)
        if owner is None:
            continue
        role = roles[0]
        if role == "tracing":
            _tracing(case, owner, mission if _mission_reaches(case, people) else None)
        elif _mission_reaches(case, people):
            _found_and_visited(case, owner, mission, recommend=role == "reunify")
        else:
            continue
        roles.pop(0)
        db.session.flush()


def demo_children() -> dict[str, Case]:
    """The demo's children in tracing, by role ("tracing", "reunify", "against"): those present."""
    out: dict[str, Case] = {}
    for visit in db.session.scalars(select(FamilyAssessmentVisit).order_by(FamilyAssessmentVisit.visited_on)):
        role = {"reunify": "reunify", "do_not_reunify": "against"}.get(visit.recommendation)
        if role and role not in out:
            out[role] = visit.case
    tracing = db.session.scalar(select(TracingRequest).where(TracingRequest.status == "open")
                                .order_by(TracingRequest.opened_on).limit(1))
    if tracing is not None:
        out["tracing"] = tracing.case
    return out
