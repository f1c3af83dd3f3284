"""Demo best interests (issue 15), through the operations (encryption, audit, notices):

- every child whose case is in the return or reintegration stage gets an assessment and a determination
  recommending return, decided by a panel of two who both concurred (the caseworker and a supervisor where the case
  is Casa Esperanza's). This runs before the returns feature's demo (core.journey.FEATURES), whose approval of a
  child's return plan needs that determination (bestinterests.guards): every approved child return in the demo has
  a determination recommending it;
- finish(): one child (not on the way home) with a determination recommending against return, and one whose panel
  waits for the demo supervisor's signature, so their home page shows it.

prepare(case, "return", people, rng) makes the determination for a demo that walks a case to "return" itself (the
returns feature's own prepare() needs it for a child).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.bestinterests import operations, queries
from casemgmt.bestinterests.models import BestInterestsDetermination
from casemgmt.cases.models import Case
from casemgmt.extensions import db

ASSESSMENTS = (
    {"child_views": "Says she misses her grandmother and her younger brothers and wants to go back to school.",
     "safety": "The recruiter was a neighbour; he was arrested. The family moved to another district.",
     "family": "Grandmother and an aunt are willing to care for her; both were visited by the partner mission.",
     "health": "Treated for malnutrition on arrival; now well. Follows counselling sessions.",
     "education": "Left school in grade 6; a place is offered in the district school.",
     "recommendations": "Return to the grandmother, with school enrolment and monthly follow-up visits."},
    {"child_views": "Does not want to see his father; asks to stay with his older sister.",
     "safety": "The father arranged the 'job' that led to the exploitation and still owes the network money.",
     "family": "The sister lives in the capital with her husband; the home visit found them supportive.",
     "health": "Back pain from the work; physiotherapy twice a week.",
     "education": "Enrolled in an accelerated learning programme.",
     "recommendations": "No return to the father's home; consider care by the sister, and a new assessment."},
    {"child_views": "Wants to stay with her aunt, who looked after her before she left, and to go back to school.",
     "safety": "Her father may have handed her to the recruiter; her mother has not been found yet.",
     "family": "The aunt is a safe contact, lives with her own two children and is willing to care for her.",
     "health": "Sleeps badly; weekly sessions with the psychologist.",
     "education": "Missed a school year; the aunt's neighbourhood school can take her.",
     "recommendations": "Kinship care with the aunt while tracing for the mother continues."},
    {"child_views": "Asks every week when she can go home to her mother and her little brother.",
     "safety": "The recruiter was a stranger met at the bus station; the mother was not involved and reported her "
               "missing.",
     "family": "The mother was traced and visited by the receiving mission: a safe home, willing to receive her.",
     "health": "Healthy; follows counselling sessions.",
     "education": "Her old school has kept her place.",
     "recommendations": "Return to the mother, with monitoring visits by the receiving mission."},
)
RETURN_REASONS = ("The family was traced and visited: a safe home with the grandmother, who is willing and able to "
                  "care for the child; the child wishes to return; the recruiter is in custody.")
RETURN_CONDITIONS = "Monthly visits by the receiving mission for six months; school enrolment before the return."
AGAINST_REASONS = ("The family assessment visit found that the father organised the recruitment; the child does "
                   "not wish to return to him. A return is not in the child's best interests now.")
REUNIFY_REASONS = ("The mother was traced and visited by the receiving mission: a safe home, willing to receive the "
                   "child, who wishes to return; the recruiter was a stranger.")
PENDING_REASONS = "The aunt's home is safe and the child wishes to live with her and go back to school."


def _at(day: date) -> datetime:
    return datetime.combine(day, time(11, 0))


def _panel(case: Case, people: dict[str, User]) -> tuple[User, list[User]] | None:
    """A proposer and a panel of two from the demo's people: the case's caseworker (or whoever may record) with a
    supervisor (or another colleague who is neither the caseworker nor the proposer), as panel.py asks."""
    demo_ids = {user.id for user in people.values()}
    candidates = [u for u in queries.panel_candidates(case) if u.id in demo_ids
                  and allowed(u, Action.BEST_INTERESTS_RECORD, case)]
    if len(candidates) < 2:
        return None
    proposer = next((u for u in candidates if u.id == case.assigned_to_id), None) or next(
        (u for u in candidates if u.role == "caseworker"), candidates[0])
    others = sorted((u for u in candidates if u.id not in (proposer.id, case.assigned_to_id)),
                    key=lambda u: u.role != "supervisor")
    if not others:
        return None
    return proposer, [proposer, others[0]]


def _decide(case: Case, people: dict[str, User], rng: random.Random, recommendation: str, decision: str,
            reasons: str, days_ago: int, *, sign_all: bool = True,
            assessment: dict | None = None) -> BestInterestsDetermination | None:
    found = _panel(case, people)
    if found is None:
        return None
    proposer, members = found
    opened = case.created_at.date() if case.created_at else date.today()
    day = max(opened, date.today() - timedelta(days=days_ago))
    text = assessment or {"against_return": ASSESSMENTS[1], "alternative_care": ASSESSMENTS[2]}.get(
        recommendation, ASSESSMENTS[0])
    assessment = operations.record_assessment(proposer, case, {"assessed_on": day, **text})
    determination = operations.convene(proposer, case, {
        "assessment_id": assessment.id, "decision": decision, "recommendation": recommendation, "reasons": reasons,
        "conditions": RETURN_CONDITIONS if recommendation == "return_to_family" else None,
        "panel": [m.id for m in members],
    })
    for member in members if sign_all else members[:1]:
        operations.sign(member, determination, "concur")
    # The operations stamp today; a demo determination was made in the weeks before the return.
    determination.proposed_at = _at(day + timedelta(days=1))
    for member in determination.panel:
        if member.signed_at is not None:
            member.signed_at = _at(day + timedelta(days=rng.randint(2, 4)))
    if determination.status == "determined":
        determination.determined_on = day + timedelta(days=5)
        determination.closed_at = _at(day + timedelta(days=5))
    db.session.flush()
    return determination


def _needs_return_determination(case: Case) -> bool:
    # The returns demo approves its plans today (their dates set back afterwards), so a child today is the one whose
    # approval needs a determination; and only a child today can have one recorded.
    return queries.is_child(case) and not queries.recommends(case.id, "return")


def prepare(case: Case, to_stage: str, people: dict[str, User], rng: random.Random) -> bool:
    """What a child's move to `to_stage` needs from best interests (a determination recommending return). False
    when the demo has nobody to convene the panel."""
    if to_stage != "return" or not _needs_return_determination(case):
        return True
    return _decide(case, people, rng, "return_to_family", "return", RETURN_REASONS, rng.randint(45, 60)) is not None


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    if case.erased_at is not None or case.stage not in ("return", "reintegration"):
        return
    if _needs_return_determination(case):
        _decide(case, people, rng, "return_to_family", "return", RETURN_REASONS,
                rng.randint(170, 190) if case.stage == "reintegration" else rng.randint(45, 60))


def _children_without_determination(people: dict[str, User]) -> list[Case]:
    """Children of the demo caseworker's organisation, not on the way home, with no determination yet."""
    caseworker = people.get("caseworker")
    if caseworker is None:
        return []
    decided = select(BestInterestsDetermination.case_id)
    found = db.session.scalars(
        select(Case).where(Case.organisation_id == caseworker.organisation_id, Case.erased_at.is_(None),
                           Case.stage.in_(("intake", "shelter", "counseling")), Case.id.not_in(decided))
        .order_by(Case.created_at, Case.id)
    )
    return [case for case in found if queries.is_child(case)
            and allowed(caseworker, Action.BEST_INTERESTS_RECORD, case)]


def finish(people: dict[str, User], rng: random.Random) -> None:
    # The children whose families the families demo recorded (it runs first), so that each determination reads the
    # family it is about: against return where the visit found the father involved, a placement with the aunt (a
    # safe contact) while the mother is traced, a return where the visit found the mother willing. Other children
    # stand in when those are absent.
    from casemgmt.families.demo import demo_children

    known = demo_children()
    spare = iter(c for c in _children_without_determination(people) if c not in known.values())
    decided = select(BestInterestsDetermination.case_id)
    for role, recommendation, decision, reasons, days, assessment in (
        ("against", "against_return", "return", AGAINST_REASONS, rng.randint(20, 30), ASSESSMENTS[1]),
        ("tracing", "alternative_care", "placement", PENDING_REASONS, rng.randint(3, 6), ASSESSMENTS[2]),
        ("reunify", "return_to_family", "return", REUNIFY_REASONS, rng.randint(8, 12), ASSESSMENTS[3]),
    ):
        case = known.get(role) or next(spare, None)
        if case is None or db.session.scalar(decided.where(BestInterestsDetermination.case_id == case.id).limit(1)):
            continue
        # The placement is convened by the caseworker, who has signed; the demo supervisor's signature waits.
        _decide(case, people, rng, recommendation, decision, reasons, days, sign_all=role != "tracing",
                assessment=assessment)
