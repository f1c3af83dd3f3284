"""The shelter's part in the journey: timeline entries, work list items, the closure guard and demo data."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casemgmt.cases import operations as cases
from casemgmt.cases import stages
from casemgmt.cases.models import StageChange, new_uuid
from casemgmt.extensions import db
from casemgmt.shelter import demo, guards, operations, timeline, worklist
from casemgmt.shelter.models import Facility, Placement
from tests import factories
from tests.shelter.support import TODAY, admit, facility, placements


def test_timeline_shows_admission_and_discharge_and_hides_the_facility_from_outsiders(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, "Casa Refugio")
    case = factories.case(w.caseworker)
    placement = admit(w.caseworker, case, place.id, TODAY - timedelta(days=10), TODAY + timedelta(days=20))
    operations.discharge(w.caseworker, placement, TODAY, "returned_home", "Viajó con su hermana a Cusco.")
    db.session.commit()
    mine = timeline.entries(w.caseworker, case)
    assert [(e.kind, e.title, e.actor) for e in mine] == [
        ("placement", "Admitted to Casa Refugio", "Caseworker"),
        ("placement", "Discharged from Casa Refugio", "Caseworker"),
    ]
    assert mine[1].detail == "Returned home" and "Cusco" not in repr(mine)
    assert mine[0].url == f"/cases/{case.id}/shelter"
    # The IOM mission, once the case is referred to it, learns that there was a shelter stay, not where.
    factories.accepted_referral(case, w.mission_org, w.mission)
    db.session.commit()
    outsider = timeline.entries(w.mission, case)
    assert [e.title for e in outsider] == ["Admitted to Shelter", "Discharged from Shelter"]
    assert all(e.url is None for e in outsider)
    assert timeline.entries(w.caseworker2, case) == []


def test_the_work_list_shows_reflection_periods_ending_within_a_week_to_the_assignee(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, beds=5)
    soon = factories.case(w.caseworker)
    late = factories.case(w.caseworker)
    past = factories.case(w.caseworker)
    admit(w.caseworker, soon, place.id, TODAY - timedelta(days=25), TODAY + timedelta(days=5))
    admit(w.caseworker, late, place.id, TODAY - timedelta(days=5), TODAY + timedelta(days=60))
    admit(w.caseworker, past, place.id, TODAY - timedelta(days=40), TODAY - timedelta(days=2))
    items = worklist.items(w.caseworker)
    assert [(i.section, i.title, i.overdue) for i in items] == [
        ("tasks", f"Reflection period ends: {past.reference}", True),
        ("tasks", f"Reflection period ends: {soon.reference}", False),
    ]
    assert items[1].due == TODAY + timedelta(days=5) and items[1].url == f"/cases/{soon.id}/shelter"
    assert worklist.items(w.caseworker_b) == [] and worklist.items(w.supervisor) == []


def test_a_case_is_not_closed_while_the_person_holds_a_bed(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, "Casa Refugio")
    case = factories.case(w.caseworker)
    assert guards.no_open_placement in stages.GUARDS["closed"]
    assert guards.no_open_placement(case) is None
    placement = admit(w.caseworker, case, place.id)
    assert "still placed in Casa Refugio" in guards.no_open_placement(case)
    with pytest.raises(cases.CaseError):  # whichever guard speaks first, the case stays open
        cases.change_stage(w.caseworker, case, "closed", "Assistance completed.")
    db.session.rollback()
    assert db.session.get(type(case), case.id).stage == "shelter"  # the admission moved it (journey/automatic.py)
    operations.discharge(w.caseworker, placement, TODAY, "independent_living")
    db.session.commit()
    assert guards.no_open_placement(case) is None


def _demo_case(actor, stage_path):
    """A case moved along a path as the demo does, without the other features' guards (consent, approvals)."""
    case = factories.case(actor)
    for stage in stage_path:
        db.session.add(StageChange(id=new_uuid(), case_id=case.id, from_stage=case.stage, to_stage=stage,
                                   changed_by_id=actor.id))
        case.stage = stage
    db.session.commit()
    return case


def test_demo_populate_places_people_reuses_facilities_and_is_idempotent(app, ctx):
    w = factories.world()
    people = {"caseworker": w.caseworker, "supervisor": w.supervisor, "hotline": w.hotline,
              "caseworker2": w.caseworker2, "mission": w.mission}
    rng = random.Random(7)
    staying = _demo_case(w.caseworker, ["shelter"])
    moved_on = _demo_case(w.caseworker, ["shelter", "return"])
    never = _demo_case(w.caseworker, ["counseling"])
    intake = _demo_case(w.caseworker, [])
    other_org = _demo_case(w.caseworker2, ["shelter"])  # no supervisor of that organisation among the people
    for case in (staying, moved_on, never, intake, other_org, staying):
        demo.populate(case, people, rng)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Facility)) == len(demo.FACILITIES)
    assert db.session.scalar(select(Facility.bed_capacity).where(Facility.name == "Casa Refugio Lima")) == 12
    [open_stay] = placements(case_id=staying.id)
    assert open_stay.discharged_on is None and open_stay.reflection_period_until > open_stay.admitted_on
    [finished] = placements(case_id=moved_on.id)
    assert finished.discharge_reason == "returned_home" and finished.discharged_on <= TODAY
    assert placements(case_id=never.id) == placements(case_id=intake.id) == placements(case_id=other_org.id) == []
    assert db.session.scalar(select(func.count()).select_from(Placement)) == 2
