"""Demo placements: two facilities per organisation (made once, reused), a current stay for cases in the shelter
or counseling stage, and a finished stay for cases that went through the shelter and moved on."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.cases.models import StageChange
from casemgmt.extensions import db
from casemgmt.shelter import operations
from casemgmt.shelter.models import Facility, Placement

# name, type, beds, whom it takes (models.AGE_GROUPS), address (a safe house's address is not written down)
FACILITIES = (
    ("Casa Refugio Lima", "shelter", 12, "adults", "Av. Arequipa 1450, Lince, Lima"),
    ("Hogar de Acogida Santa Rosa", "safe_house", 8, "both", None),
)
STAYING = ("shelter", "counseling")
MOVED_ON = ("return", "reintegration", "closed")
NOTES = {
    "returned_home": (
        "Regresó con su familia tras el retorno asistido; se coordinó el acompañamiento con la misión.",
        "Salió del albergue el día del viaje de retorno, acompañada por personal de la OIM.",
    ),
    "independent_living": (
        "Consiguió empleo formal en una panadería y alquila una habitación con apoyo del fondo de emergencia.",
        "Se mudó a un departamento compartido; seguimiento semanal por teléfono.",
    ),
    "other_facility": ("Trasladada a un centro especializado en salud mental por indicación médica.",),
    "left_without_notice": ("No regresó al albergue después de una salida autorizada; se informó a la supervisora.",),
}


def _facilities(organisation_id: int, supervisor) -> list[Facility]:
    existing = {
        f.name: f for f in db.session.scalars(select(Facility).where(Facility.organisation_id == organisation_id))
    }
    for name, kind, beds, takes, address in FACILITIES:
        if name not in existing:
            existing[name] = operations.create_facility(supervisor, {
                "name": name, "facility_type": kind, "bed_capacity": beds, "age_group": takes,
                "active": True, "address": address,
            })
    return [existing[spec[0]] for spec in FACILITIES]


def _went_through_shelter(case) -> bool:
    return db.session.scalar(
        select(StageChange.id).where(StageChange.case_id == case.id, StageChange.to_stage == "shelter").limit(1)
    ) is not None


def populate(case, people: dict, rng: random.Random) -> None:
    if case.stage not in STAYING + MOVED_ON or not _went_through_shelter(case):
        return
    supervisor = people.get("supervisor")
    if supervisor is None or supervisor.organisation_id != case.organisation_id:
        return  # facilities are created by a supervisor of the case's organisation
    if db.session.scalar(select(Placement.id).where(Placement.case_id == case.id).limit(1)) is not None:
        return
    actor = next(
        (u for u in (case.assigned_to, supervisor) if u is not None and allowed(u, Action.PLACEMENT_MANAGE, case)),
        None,
    )
    if actor is None:
        return
    facilities = _facilities(case.organisation_id, supervisor)
    today = date.today()
    admitted = today - timedelta(days=rng.randint(3, 75) if case.stage in STAYING else rng.randint(90, 300))
    # Children go to a facility that takes them (their age on the admission date); adults fill the shelter first and
    # overflow into the safe house.
    facilities = [f for f in facilities if operations.age_refusal(case, f, admitted) is None]
    for facility in facilities:
        try:
            if case.stage in STAYING:
                reflection = admitted + timedelta(days=rng.choice([30, 60, 90]))
                operations.admit(actor, case, facility.id, admitted, reflection)
            else:
                stayed = timedelta(days=rng.randint(14, 80))
                reason = "returned_home" if case.stage != "closed" else rng.choice(list(NOTES))
                operations.record_past_placement(
                    actor, case, facility.id, admitted, min(admitted + stayed, today), reason,
                    rng.choice(NOTES[reason]), reflection_period_until=admitted + timedelta(days=30),
                )
        except operations.PlacementError:
            continue  # this facility is full: try the next one
        return
