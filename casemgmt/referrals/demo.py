"""Demo referrals: cases on their way home are referred to the IOM mission, which has accepted them; one case of the
first NGO waits for the second NGO's answer."""

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
from casemgmt.referrals.models import Referral

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


def _ensure_consent(case: Case, actor: User, rng: random.Random) -> None:
    """Demo consent to share (the consent feature's own demo may add a fuller record)."""
    if has_consent(case.id, "share"):
        return
    language = ((case.person.languages if case.person else None) or "es").split(",")[0]
    db.session.add(ConsentRecord(
        id=new_uuid(), case_id=case.id, obtained_on=date.today() - timedelta(days=rng.randint(20, 90)),
        obtained_by_id=actor.id, language=language, point_interview=True, point_purpose=True, point_data_uses=True,
        point_research=rng.random() < 0.5, point_access_right=True, point_retention=True, point_withdrawal=True,
        consents_to_share=True,
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
    if case.stage in ("shelter", "counseling") and case.organisation_id == first_ngo:
        already = db.session.scalar(
            select(Referral.id).where(
                Referral.from_organisation_id == first_ngo, Referral.to_organisation_id == second_ngo,
                Referral.status == "pending",
            ).limit(1)
        )
        sender = _sender(case, people)
        if already is None and sender is not None:
            _ensure_consent(case, sender, rng)
            operations.create_referral(sender, case, second_ngo, "AdditionalServicesRequired", SERVICES_NOTE)
