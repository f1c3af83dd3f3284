"""Demo referrals: cases on their way home are referred to the IOM mission, which has accepted them (each acceptance a
grant of access); one case of the first NGO waits for the second NGO's answer, another's transfer to the second NGO
waits for its answer, and a third has a return plan whose hand-off waits in the mission's inbox."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.consent.queries import has_consent
from casemgmt.extensions import db
from casemgmt.referrals import operations
from casemgmt.referrals.models import Referral, Transfer
from casemgmt.returns import operations as returns

RETURN_NOTES = (
    "Voluntary return requested. Please start travel documents and the family assessment.",
    "The person wishes to go home; reception and reintegration support needed on arrival.",
    "Return agreed with the person; consular contact made, itinerary pending.",
)
SERVICES_NOTE = "Needs specialised legal assistance that your organisation offers."


def _sender(case: Case, people: dict[str, User]) -> User | None:
    for name in ("caseworker", "supervisor", "caseworker2", "mission", "hotline"):
        user = people.get(name)
        if user is not None and allowed(user, Action.REFERRAL_CREATE, case):
            return user
    return None


def _ensure_consent(case: Case, actor: User, rng: random.Random, to_return: bool = False) -> None:
    """Demo consent to share, and to return if asked (the consent feature's own demo may add a fuller record)."""
    if has_consent(case.id, "share") and (not to_return or has_consent(case.id, "return")):
        return
    language = ((case.person.languages if case.person else None) or "es").split(",")[0]
    db.session.add(ConsentRecord(
        id=new_uuid(), case_id=case.id, obtained_on=date.today() - timedelta(days=rng.randint(20, 90)),
        obtained_by_id=actor.id, language=language, point_interview=True, point_purpose=True, point_data_uses=True,
        point_research=rng.random() < 0.5, point_access_right=True, point_retention=True, point_withdrawal=True,
        consents_to_share=True, consents_to_return=to_return,
    ))
    db.session.flush()


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    mission = people["mission"]
    first_ngo = people["caseworker"].organisation_id
    second_ngo = people["caseworker2"].organisation_id
    if case.erased_at is not None:
        return
    if case.stage in ("return", "reintegration") and case.organisation_id != mission.organisation_id:
        sender = _sender(case, people)
        if sender is None:
            return
        _ensure_consent(case, sender, rng)
        referral = operations.create_referral(
            sender, case, mission.organisation_id, "MigrationOrChangeOfLocation", rng.choice(RETURN_NOTES),
        )
        operations.accept_referral(mission, referral)
        return
    if case.stage in ("intake", "shelter", "counseling") and case.organisation_id == first_ngo:
        already = db.session.scalar(
            select(Referral.id).where(
                Referral.from_organisation_id == first_ngo, Referral.to_organisation_id == second_ngo,
                Referral.status == "pending",
            ).limit(1)
        )
        sender = _sender(case, people)
        if sender is None or operations.is_minor(case):
            return
        # One of each, on the first cases that fit: what waits for the second NGO and for the mission.
        if already is None and case.stage != "intake":
            _ensure_consent(case, sender, rng)
            operations.create_referral(sender, case, second_ngo, "AdditionalServicesRequired", SERVICES_NOTE)
        elif db.session.scalar(select(Referral.id).where(Referral.kind == "return_handoff").limit(1)) is None:
            _waiting_handoff(case, people, rng)
        elif db.session.scalar(select(Transfer.id).limit(1)) is None:
            _waiting_transfer(case, people, rng)


def _waiting_transfer(case: Case, people: dict[str, User], rng: random.Random) -> None:
    """A transfer to the second NGO, approved by the first NGO's supervisor: its supervisor (supervisor2) finds it
    on the home page and in the referrals inbox, reads the case, and accepts or declines it."""
    requester, approver = people["caseworker"], people["supervisor"]
    if not allowed(requester, Action.TRANSFER_REQUEST, case) or not allowed(approver, Action.TRANSFER_APPROVE, case):
        return
    _ensure_consent(case, requester, rng)
    transfer = operations.request_transfer(
        requester, case, people["caseworker2"].organisation_id,
        "She is moving to Bogotá to live with her sister; Camino Seguro can follow her there.",
    )
    operations.approve_transfer(approver, transfer, "Agreed with the family; the case goes with her.")


def _waiting_handoff(case: Case, people: dict[str, User], rng: random.Random) -> None:
    """A return plan started for a person who decided to go home: naming the IOM mission as the receiving
    organisation sent it the hand-off, which waits on the mission's home page and in its referrals inbox."""
    actor, mission = people["caseworker"], people["mission"]
    if not allowed(actor, Action.RETURN_MANAGE, case):
        return
    _ensure_consent(case, actor, rng, to_return=True)
    country = (case.person.citizenship if case.person else None) or mission.organisation.country
    returns.create_plan(actor, case, {"receiving_organisation_id": mission.organisation_id,
                                      "destination_country": country})
