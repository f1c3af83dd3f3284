"""Demo closures: an approved request behind every closed case, and a pending request on a few open ones."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.extensions import db
from casemgmt.journey import operations
from casemgmt.journey.models import ClosureRequest
from casemgmt.shelter import operations as shelter_operations

PENDING_SHARE = 0.06  # about three of the demo's fifty cases wait for a supervisor's decision

REASONS = {
    "completed": "Assistance completed; follow-up not needed.",
    "declined": "She thanked the team and said she wants no further contact for now.",
    "lost_contact": "No answer on the safe number for six weeks; the community contact has not seen him either.",
    "referred": "Referred to the partner organisation near her family, which accepted the case.",
}


def _first(people: dict[str, User], names: tuple[str, ...], action: Action, case) -> User | None:
    for name in names:
        user = people.get(name)
        if user is not None and allowed(user, action, case):
            return user
    return None


def populate(case, people: dict[str, User], rng: random.Random) -> None:
    if case.stage == "closed":
        approver = _first(people, ("supervisor",), Action.CLOSURE_APPROVE, case)
        approved = db.session.scalar(
            select(ClosureRequest.id).where(ClosureRequest.case_id == case.id, ClosureRequest.status == "approved")
            .limit(1)
        )
        if approver is not None and approved is None:
            code = "completed" if case.status != "ClosedReferred" else "referred"
            operations.record_earlier_closure(approver, case, code, REASONS[code])
        return
    if case.stage in ("shelter", "counseling", "reintegration") and rng.random() < PENDING_SHARE:
        requester = _first(people, ("caseworker", "caseworker2", "mission", "supervisor"),
                           Action.CASE_CHANGE_STAGE, case)
        if requester is not None:
            code = rng.choice(("completed", "declined", "lost_contact"))
            _leave_shelter(case, people, code)
            operations.request_closure(requester, case, code, REASONS[code])


# Why someone whose closure is asked for left the shelter: a pending closure a supervisor cannot approve (the person
# still holds a bed, so the shelter's closure guard refuses) is not what a demo should show.
LEFT_SHELTER = {"completed": "independent_living", "declined": "independent_living",
                "lost_contact": "left_without_notice"}


def _leave_shelter(case, people: dict[str, User], code: str) -> None:
    placement = shelter_operations.current_placement(case.id)
    if placement is None:
        return
    actor = _first(people, ("caseworker", "caseworker2", "supervisor", "supervisor2"), Action.PLACEMENT_MANAGE,
                   placement)
    if actor is not None:
        shelter_operations.discharge(actor, placement, date.today(), LEFT_SHELTER[code])
