"""Demo tasks: a few follow-ups per open case, fitting its stage; some overdue, some done."""

from __future__ import annotations

import random
from datetime import date, timedelta

from casemgmt.access import Action, allowed
from casemgmt.access.policies import CASE_ROLES, CASE_WORKERS
from casemgmt.accounts.models import User
from casemgmt.tasks import operations

# Titles are plaintext, so they name no one; the details go in the encrypted description.
TITLES = {
    "intake": (
        ("Call back to finish the screening interview", "Agreed to talk again after her shift; use the safe number."),
        ("Find an interpreter for the next interview", "Quechua interpreter, female if possible."),
        ("Check whether a shelter bed is free", None),
    ),
    "shelter": (
        ("Book a medical check-up", "Complains of headaches since arrival."),
        ("Review the reflection period", None),
        ("Plan the next counseling session", None),
    ),
    "counseling": (
        ("Follow up on the legal consultation", "Ask the lawyer about the labour claim against the workshop."),
        ("Prepare the psychosocial assessment", None),
        ("Ask about contact with the family", "Wants to call her mother but fears the recruiter is nearby."),
    ),
    "return": (
        ("Check travel document status", "Consulate promised the laissez-passer within ten days."),
        ("Confirm the itinerary with the mission", None),
        ("Arrange the escort", None),
    ),
    "reintegration": (
        ("Schedule the next monitoring visit", None),
        ("Follow up on the small-business grant", "Sewing machine purchase pending a second quote."),
        ("Check school enrolment", None),
    ),
}


def _actor(case, people: dict[str, User]) -> User | None:
    candidates = [u for u in people.values() if u.id == case.assigned_to_id]
    candidates += [people[n] for n in ("supervisor", "caseworker", "caseworker2", "mission") if n in people]
    for user in candidates:
        if user.role in CASE_WORKERS and allowed(user, Action.TASK_MANAGE, case):
            return user
    return None


def populate(case, people: dict[str, User], rng: random.Random) -> None:
    if case.stage not in TITLES:
        return
    actor = _actor(case, people)
    if actor is None:
        return
    colleagues = [u.id for u in people.values()
                  if u.organisation_id == actor.organisation_id and u.role in CASE_ROLES and u.active]
    today = date.today()
    for title, description in rng.sample(TITLES[case.stage], k=rng.randint(0, 3)):
        assignee = case.assigned_to_id if case.assigned_to_id in colleagues else rng.choice(colleagues)
        task = operations.create_task(actor, case, {
            "title": title,
            "description": description if rng.random() < 0.7 else None,
            "due_on": today + timedelta(days=rng.randint(-10, 21)),
            "priority": rng.choice(("normal", "normal", "high", "low")),
            "assignee_id": assignee,
        })
        if rng.random() < 0.3:
            operations.complete_task(actor, task)
