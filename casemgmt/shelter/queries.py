"""Reads for the shelter pages: facilities with their occupancy, a case's placements, who is in a facility now."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_scope_filter
from casemgmt.audit import record_event
from casemgmt.cases.models import Case
from casemgmt.cases.queries import names_for
from casemgmt.extensions import db
from casemgmt.shelter.models import Facility, Placement


def occupancy(facility_ids: list[int]) -> dict[int, int]:
    """Open placements per facility, with one query."""
    if not facility_ids:
        return {}
    rows = db.session.execute(
        select(Placement.facility_id, func.count(Placement.id))
        .where(Placement.facility_id.in_(facility_ids), Placement.holding_a_bed())
        .group_by(Placement.facility_id)
    )
    return {facility_id: count for facility_id, count in rows}


def facilities_of(actor) -> list[tuple[Facility, int]]:
    """The user's organisation's facilities (active first) with their current occupancy."""
    authorize(actor, Action.FACILITY_VIEW)
    facilities = db.session.scalars(
        select(Facility)
        .where(Facility.organisation_id == actor.organisation_id)
        .order_by(Facility.active.desc(), Facility.name)
    ).all()
    taken = occupancy([f.id for f in facilities])
    return [(f, taken.get(f.id, 0)) for f in facilities]


def admission_choices(case: Case) -> list[tuple[Facility, int]]:
    """Active facilities of the case's organisation, with how many beds are taken in each."""
    facilities = db.session.scalars(
        select(Facility)
        .where(Facility.organisation_id == case.organisation_id, Facility.active.is_(True))
        .order_by(Facility.name)
    ).all()
    taken = occupancy([f.id for f in facilities])
    return [(f, taken.get(f.id, 0)) for f in facilities]


def placements_of(case: Case) -> list[Placement]:
    return list(db.session.scalars(
        select(Placement)
        .where(Placement.case_id == case.id, Placement.live())
        .options(
            selectinload(Placement.facility), selectinload(Placement.created_by),
            selectinload(Placement.discharged_by),
        )
        .order_by(Placement.admitted_on.desc(), Placement.created_at.desc())
    ))


@dataclass
class Occupants:
    total: int
    # (placement, display name or "") for the cases the viewer may open
    known: list[tuple[Placement, str]] = field(default_factory=list)
    # how many occupants are on cases the viewer may not open: counted, never named
    others: int = 0


def occupants(actor, facility: Facility) -> Occupants:
    """Who is in the facility now. Names only for cases the viewer may open; the view is audited."""
    authorize(actor, Action.FACILITY_VIEW, facility)
    placements = list(db.session.scalars(
        select(Placement)
        .where(Placement.facility_id == facility.id, Placement.holding_a_bed())
        .options(selectinload(Placement.case).selectinload(Case.person))
        .order_by(Placement.admitted_on, Placement.id)
    ))
    case_ids = [p.case_id for p in placements]
    # The viewer's case scope as one SQL query, so a full facility does not cost one access check query per bed.
    in_scope = set(db.session.scalars(select(Case.id).where(Case.id.in_(case_ids), case_scope_filter(actor)))) \
        if case_ids else set()
    visible = [p for p in placements if p.case_id in in_scope and allowed(actor, Action.CASE_VIEW, p.case)]
    names = names_for(actor, [p.case for p in visible])
    result = Occupants(
        total=len(placements),
        known=[(p, names.get(p.case_id, "")) for p in visible],
        others=len(placements) - len(visible),
    )
    record_event("facility.view_occupants", object_type="facility", object_id=facility.id, actor=actor,
                 details={"occupants": result.total, "identified": len(result.known)})
    return result
