"""Demo sessions: one to four psychosocial, legal or medical sessions for cases in counseling or a later stage,
with the kind of notes a counselor writes (invented, in Spanish). Now and then one is corrected afterwards, or a
session recorded twice is deleted with a reason (issue 12, item 6), so their histories show."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.counseling import corrections, operations
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db

STAGES = ("counseling", "return", "reintegration", "closed")

# How often a session is corrected afterwards, or recorded twice and the copy deleted (here and in casemgmt/synth).
CORRECTED_SHARE = 0.04
DELETED_SHARE = 0.01
CORRECTION_REASONS = (
    "La duración se registró mal: la sesión duró más.",
    "Se corrigió la duración según el registro de asistencia.",
)
DELETION_REASONS = (
    "Sesión registrada dos veces por error.",
    "Registrada en el caso equivocado.",
)

PROVIDERS = {
    "psychosocial": ("Lic. Rosa Paredes, psicóloga", "Ps. Martín Quiroga", "Equipo psicosocial Casa Esperanza"),
    "legal": ("Dra. Carmen Vela, abogada", "Defensoría del Pueblo, oficina Lima Centro", "Clínica jurídica PUCP"),
    "medical": ("Centro de Salud Lince", "Dr. Julio Salas, médico general", "Hospital Arzobispo Loayza"),
}

NOTES = {
    "psychosocial": (
        "Primera entrevista de acogida. Refiere insomnio y miedo a salir sola. Se trabajó respiración y rutina de "
        "sueño. Acordamos una sesión semanal.",
        "Se muestra más tranquila. Habló por primera vez de su familia en Pucallpa y de la deuda que le impusieron. "
        "Llanto al recordar el taller. Se refuerzan redes de apoyo en el albergue.",
        "Evaluación de riesgo emocional: sin ideación suicida. Persisten pesadillas. Se deriva a psiquiatría para "
        "valoración y se mantiene acompañamiento.",
        "Trabajamos el plan de vida: quiere terminar la secundaria y aprender repostería. Buena adherencia a las "
        "actividades del grupo de mujeres.",
    ),
    "legal": (
        "Orientación sobre sus derechos como víctima y sobre el periodo de reflexión. No desea denunciar por ahora; "
        "se respeta su decisión.",
        "Revisión de su situación migratoria: el empleador retuvo su pasaporte. Se prepara solicitud de "
        "duplicado ante el consulado.",
        "Acompañamiento a la fiscalía especializada para su declaración. Se solicitaron medidas de protección.",
    ),
    "medical": (
        "Control médico general: anemia leve, se indica sulfato ferroso y dieta. Vacunas al día.",
        "Consulta por dolor lumbar crónico relacionado con jornadas de trabajo excesivas. Se indica fisioterapia.",
        "Control de seguimiento: presión arterial normal; se entregan resultados de laboratorio sin hallazgos.",
    ),
}


def populate(case, people: dict, rng: random.Random) -> None:
    if case.stage not in STAGES:
        return
    if db.session.scalar(select(CounselingSession.id).where(CounselingSession.case_id == case.id).limit(1)):
        return
    candidates = (case.assigned_to, people.get("supervisor"), people.get("caseworker2"))
    authors = [u for u in candidates if u is not None and allowed(u, Action.COUNSELING_RECORD, case)]
    if not authors:
        return  # e.g. a mission case: mission staff do not record counseling
    today = date.today()
    count = rng.randint(1, 4)
    held = today - timedelta(days=rng.randint(20, 120))
    recorded = []
    for i in range(count):
        session_type = "psychosocial" if i == 0 else rng.choice(["psychosocial", "psychosocial", "legal", "medical"])
        last = i == count - 1
        # The latest session of an open case plans a follow-up: some already overdue, some in the coming days.
        follow_up = held + timedelta(days=rng.randint(7, 30)) if last and case.stage != "closed" else None
        values = {
            "session_type": session_type,
            "provider": rng.choice(PROVIDERS[session_type]),
            "held_on": held,
            "duration_minutes": rng.choice([30, 45, 50, 60, 90]),
            "follow_up_on": follow_up,
            "notes": rng.choice(NOTES[session_type]),
        }
        recorded.append((operations.record_session(authors[0] if rng.random() < 0.8 else authors[-1], case, values),
                         values))
        held = min(today, held + timedelta(days=rng.randint(5, 25)))
    # A generator of its own, seeded from the demo's without drawing from it: the rest of the demo stays as it was.
    _correct_some(case, recorded, random.Random(hash(rng.getstate())))  # noqa: S311 - demo data


def _correct_some(case, recorded: list, rng: random.Random) -> None:
    """The first session's duration corrected by its author (in a case out of three), and in another case out of
    three a session recorded a second time by mistake, then deleted with the reason."""
    session, values = recorded[0]
    author = session.author
    if rng.random() < 0.35:
        longer = {**values, "duration_minutes": min(values["duration_minutes"] + 30, 120)}
        corrections.correct_session(author, session, longer, None, rng.choice(CORRECTION_REASONS))
    if rng.random() < 0.35:
        twice = operations.record_session(author, case, values)
        corrections.delete_session(author, twice, rng.choice(DELETION_REASONS), None)
