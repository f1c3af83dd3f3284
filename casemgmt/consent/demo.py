"""Demo consent records, through the real operations: one record per case, with the consent to share and to return
that a case in the return or reintegration stage needs; now and then a consent that was later withdrawn."""

from __future__ import annotations

import random
from datetime import timedelta

from casemgmt.access import Action, allowed
from casemgmt.cases import age
from casemgmt.consent import operations, queries

INTERPRETERS = ("Jean-Baptiste Pierre", "Rose-Marie Joseph", "Wilner Étienne", "Nadège Louis")
NOTES = (
    "Se explicó la hoja informativa en voz alta; la persona hizo preguntas sobre la confidencialidad.",
    "Consentimiento explicado con apoyo de la hoja ilustrada; se entregó una copia.",
    "La persona pidió tiempo para pensar el compartir datos; se volverá a conversar.",
)
# Who consents with a child's assent: a parent, a legal guardian, or a representative appointed for the child.
GUARDIANS = (
    ("María Quispe Mamani", "parent"), ("Roselène Pierre", "parent"),
    ("Carmen Rojas Villanueva", "legal_guardian"), ("Lic. Ana Torres (DEMUNA)", "representative"),
)
LATER_STAGES = ("return", "reintegration")
# Who usually documents consent, in order of preference.
PREFERRED = ("caseworker", "hotline", "supervisor", "caseworker2", "mission")


def actor_for(case, people: dict, action: Action):
    """The first demo user of the case's organisation whom the policy allows to do `action` to the case."""
    for username in PREFERRED:
        user = people.get(username)
        if user is not None and user.organisation_id == case.organisation_id and allowed(user, action, case):
            return user
    return None


def _for_a_child(case, day, guardian: tuple[str, str] | None) -> dict:
    """A child on the day of consent (cases.age) assents, and a parent, guardian or representative consents."""
    child = age.is_child(case, day)
    name, relationship = guardian if child and guardian else (None, None)
    return {"is_child_assent": child, "guardian_name": name, "guardian_relationship": relationship}


def populate(case, people: dict, rng: random.Random) -> None:
    if any(r.active for r in queries.records_of(case.id)):
        return  # the intake demo may already have documented consent for its screening
    actor = actor_for(case, people, Action.CONSENT_RECORD)
    if actor is None:
        return
    languages = [code for code in (case.person.languages or "").split(",") if code] if case.person else []
    language = languages[0] if languages else "es"
    interpreter = language not in ("es", "qu")  # the demo NGOs work in Spanish
    later = case.stage in LATER_STAGES
    obtained_on = case.created_at.date()
    guardian = rng.choice(GUARDIANS) if age.is_child(case, obtained_on - timedelta(days=1)) else None
    values = {
        "obtained_on": obtained_on,
        "language": language,
        "interpreter_used": interpreter,
        "interpreter_name": rng.choice(INTERPRETERS) if interpreter else None,
        **_for_a_child(case, obtained_on, guardian),
        **{point: True for point in (
            "point_interview", "point_purpose", "point_data_uses", "point_access_right", "point_retention",
            "point_withdrawal",
        )},
        "point_research": rng.random() < 0.8,
        "consents_to_share": later or rng.random() < 0.6,
        "consents_to_return": later,
        "consents_to_police_report": rng.random() < 0.3,
        "notes": rng.choice(NOTES),
    }
    if rng.random() < 0.15:
        # An earlier consent to a police report, withdrawn when the person feared for their family.
        earlier_on = obtained_on - timedelta(days=1)
        earlier = operations.record_consent(actor, case, {
            **values, "obtained_on": earlier_on, "consents_to_police_report": True,
            "consents_to_share": False, "consents_to_return": False, **_for_a_child(case, earlier_on, guardian),
        })
        operations.withdraw_consent(actor, earlier, "La persona teme represalias contra su familia.")
        values["consents_to_police_report"] = False
    operations.record_consent(actor, case, values)
