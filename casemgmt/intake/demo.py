"""Demo hotline contacts and screenings, through the real operations: the contact that opened each case (sometimes
a crisis), a few contacts that never became cases, and a screening for cases past intake."""

from __future__ import annotations

import random
from datetime import timedelta

from casemgmt.access import Action, allowed
from casemgmt.cases import age, identity
from casemgmt.consent import demo as consent_demo
from casemgmt.consent import queries as consent_queries
from casemgmt.intake import operations
from casemgmt.intake.vocabulary import CHANNELS, INDICATORS

SUMMARIES = (
    "Llama una tía: su sobrina trabaja en un taller textil, no le pagan y le quitaron el pasaporte.",
    "La persona dice que le ofrecieron trabajo de cocinera y ahora no la dejan salir del local.",
    "Vecino reporta a varias jóvenes que viven en el bar donde trabajan; una parece menor de edad.",
    "Escribe por chat: debe dinero al reclutador por el viaje y trabaja más de 14 horas diarias.",
    "Visita de una mujer que escapó de una casa donde trabajaba sin sueldo; pide albergue.",
)
CALLERS = ("Rosa", "Miguel", "Lucía", "Pedro", "Carmen")
INTERVIEW_NOTES = (
    "Relato coherente; presenta señales de control por deuda. Se acordó evaluación médica.",
    "Entrevista breve por cansancio; se retomará. Indicadores claros de retención de documentos.",
    "La persona describe amenazas contra su familia en el país de origen.",
)
PREFERRED_TAKERS = ("hotline", "caseworker", "caseworker2", "mission", "supervisor")


def _taker(case, people: dict):
    for username in PREFERRED_TAKERS:
        user = people.get(username)
        if user is not None and user.organisation_id == case.organisation_id and allowed(user, Action.CONTACT_LOG):
            return user
    return None


def _opening_contact(case, people: dict, rng: random.Random):
    taker = _taker(case, people)
    linker = consent_demo.actor_for(case, people, Action.CASE_VIEW)
    if taker is None or linker is None:
        return None
    crisis = rng.random() < 0.3
    languages = [c for c in (case.person.languages or "").split(",") if c] if case.person else []
    caller_type = rng.choice(["PotentialVictim", "PotentialVictim", "FamilyOrFriend", "CommunityMember", "Anonymous"])
    caller_name = None
    if caller_type == "PotentialVictim":
        caller_name = identity.read_identity(case.person).get("given_name")
    elif caller_type != "Anonymous":
        caller_name = rng.choice(CALLERS)
    actions = ["follow_up"] + (["emergency_coordination"] if crisis else []) + (
        ["referral"] if rng.random() < 0.4 else [])
    # The caller says a minor is involved when the person is a child that day (cases.age).
    minor = age.is_child(case, case.created_at.date())
    danger = crisis and rng.random() < 0.6
    if (minor or danger) and rng.random() < 0.5:
        actions.append("police_report")
    contact = operations.log_contact(taker, {
        "occurred_at": case.created_at - timedelta(minutes=rng.randint(10, 180)),
        "channel": rng.choice(list(CHANNELS)),
        "call_type": "crisis" if crisis else rng.choice(["tip", "referral", "general_information"]),
        "caller_type": caller_type,
        "language": languages[0] if languages else "es",
        "indicators": rng.sample(list(INDICATORS), k=rng.randint(1, 3)),
        "minor_involved": minor,
        "immediate_danger": danger,
        "actions": actions,
        "consent_to_share": rng.random() < 0.7,
        "caller_name": caller_name,
        "summary": rng.choice(SUMMARIES),
    })
    if not crisis or case.stage != "intake" or rng.random() < 0.5:
        operations.mark_handled(taker, contact)
    operations.attach_contact(linker, contact, case.reference)
    contact.linked_as = "opened"
    return contact


def _screening(case, people: dict, rng: random.Random) -> None:
    consents = consent_queries.interview_consents(case.id)
    if not consents:
        consent_demo.populate(case, people, rng)
        consents = consent_queries.interview_consents(case.id)
    screener = consent_demo.actor_for(case, people, Action.SCREENING_RECORD)
    if not consents or screener is None:
        return
    consent = consents[0]
    interpreter = consent.interpreter_used
    operations.record_screening(screener, case, {
        "screened_on": max(consent.obtained_on, case.created_at.date()),
        "consent": consent.id,
        "interpreter_used": interpreter,
        "interpreter_name": rng.choice(consent_demo.INTERPRETERS) if interpreter else None,
        "language": consent.language,
        "indicators": rng.sample(list(INDICATORS), k=rng.randint(2, 4)),
        "finding": case.trafficking_status or rng.choice(["PossibleVictimOfTrafficking", "ActualVictimOfTrafficking"]),
        "decided_by": case.status_decided_by or "NGO",
        "notes": rng.choice(INTERVIEW_NOTES),
    })


def _other_contact(case, people: dict, rng: random.Random) -> None:
    """Most contacts never become cases: a question, a training request."""
    taker = _taker(case, people)
    if taker is None:
        return
    operations.log_contact(taker, {
        "occurred_at": case.created_at - timedelta(hours=rng.randint(1, 72)),
        "channel": rng.choice(["phone", "email", "chat"]),
        "call_type": rng.choice(["general_information", "training_request"]),
        "caller_type": rng.choice(["Agency", "Business", "CommunityMember", "Anonymous"]),
        "language": "es",
        "actions": ["follow_up"],
        "summary": "Consulta sobre cómo identificar señales de trata en el lugar de trabajo.",
    })


def populate(case, people: dict, rng: random.Random) -> None:
    _opening_contact(case, people, rng)
    if rng.random() < 0.3:
        _other_contact(case, people, rng)
    if case.stage != "intake":
        _screening(case, people, rng)
