"""Demo reintegration: for cases in the reintegration stage, a plan made after arrival (now and then late), one to
three services and one to three monitoring visits, recorded by the IOM mission when it has the case referred in."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from casemgmt.access import Action, allowed
from casemgmt.access.policies import case_access
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.reintegration import operations, queries
from casemgmt.reintegration.models import SUPPORT_TYPES
from casemgmt.returns import queries as returns_queries

OBJECTIVES = (
    "Start a small poultry business with a start-up grant and business training; school enrolment for the "
    "younger brother; monthly psychosocial support for six months.",
    "Complete secondary education through the evening programme; vocational course in hairdressing; medical "
    "follow-up at the district health centre.",
    "Reopen the family's market stall with stock and a solar freezer; legal help to recover identity documents; "
    "peer support group.",
)
PROVIDERS = {
    "Education": ("Lycée National du Cap", "Programa de Educación Básica Alternativa"),
    "Financial": ("Fonkoze microfinance", "Caja Rural Los Andes"),
    "Health": ("Hôpital Sacré-Cœur", "Centro de Salud Mental Comunitario"),
    "Legal": ("Bureau des Droits Humains", "Consultorio Jurídico Gratuito"),
    "Livelihood": ("Coopérative agricole du Nord", "Taller de Costura Manos Unidas"),
    "SocialCare": ("Partner NGO social worker", "Municipal DEMUNA office"),
    "RightsBasedTraining": ("Mission awareness workshop", "Escuela de Derechos"),
    "Rehabilitation": ("Centre de réhabilitation Saint-Vincent", "Centro de Rehabilitación Integral"),
}
OBSERVATIONS = (
    "Business running; income covers food and rent. Sleeps better, attends the support group.",
    "Some tension with relatives about the debt; referred to the social worker. School attendance regular.",
    "Stable. Wants to expand the stall; savings group member since last month.",
)


def _actor(case: Case, people: dict[str, User]) -> User | None:
    mission = people.get("mission")
    if mission is not None and allowed(mission, Action.REINTEGRATION_MANAGE, case):
        return mission
    for name in ("caseworker", "supervisor", "caseworker2"):
        user = people.get(name)
        if user is not None and case_access(user, case) == "full":
            return user
    return None


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    if case.erased_at is not None or case.stage != "reintegration" or queries.plan_of(case.id) is not None:
        return
    arrived = returns_queries.arrival_date(case.id)
    actor = _actor(case, people)
    if arrived is None or actor is None:
        return
    today = date.today()
    # Most plans are made within the month after arrival; one in five later (the page then shows it is late).
    made = min(today, arrived + timedelta(days=rng.randint(35, 50) if rng.random() < 0.2 else rng.randint(3, 28)))
    supports = rng.sample(list(SUPPORT_TYPES), k=rng.randint(2, 4))
    mission = people.get("mission")
    operations.save_plan(actor, case, {
        "created_on": made, "support_types": supports, "objectives": rng.choice(OBJECTIVES),
        "planned_end_on": made + timedelta(days=rng.randint(180, 365)), "actual_end_on": None,
        "responsible_organisation_id": mission.organisation_id if mission else actor.organisation_id,
    })
    currency = "HTG" if (case.person and case.person.citizenship == "HT") else "USD"
    span = max((today - made).days, 0)
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(supports)
        amount = Decimal(rng.randint(50, 1500)) * (Decimal(130) if currency == "HTG" else Decimal(1))
        operations.record_service(actor, case, {
            "service_type": kind, "provider": rng.choice(PROVIDERS[kind]), "amount": amount, "currency": currency,
            "delivered_on": made + timedelta(days=rng.randint(0, span)), "implemented": rng.random() < 0.85,
            "note": None,
        })
    dates, visited = [], made
    for _ in range(rng.randint(1, 3)):
        visited = visited + timedelta(days=rng.randint(20, 45))
        if visited > today:
            break
        dates.append(visited)
    scores = {"economic_score": rng.randint(1, 3), "social_score": rng.randint(2, 3),
              "psychosocial_score": rng.randint(1, 3)}
    for i, visit_on in enumerate(dates):
        if i + 1 < len(dates):
            next_due = dates[i + 1]
        else:
            # The last visit's next one: some fall due this week or are overdue, for the work lists.
            next_due = max(visit_on + timedelta(days=1), today + timedelta(days=rng.randint(-10, 40)))
        operations.record_visit(actor, case, {
            "visited_on": visit_on, "visited_by_id": actor.id, **scores, "observations": rng.choice(OBSERVATIONS),
            "next_visit_due": next_due,
        })
        scores = {k: min(5, v + rng.randint(0, 1)) for k, v in scores.items()}
