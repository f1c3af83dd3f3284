"""Stages follow the work (issue 12, item 2): the recorded events in journey/automatic.AUTOMATIC_MOVES move a case's
stage forward by themselves, through the guards of a manual change, and say so in the stage history and timeline."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casemgmt.audit.models import AuditEvent
from casemgmt.cases import operations as cases
from casemgmt.cases import stages
from casemgmt.cases.models import Case, StageChange
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.journey import automatic
from casemgmt.journey import demo as journey_demo
from casemgmt.journey import operations as journey
from casemgmt.journey import queries as journey_queries
from casemgmt.journey.models import ClosureRequest
from casemgmt.returns import operations as returns
from casemgmt.shelter import operations as shelter
from casemgmt.shelter.models import Placement
from tests import factories
from tests.returns.support import DAYS, TODAY, approved_plan
from tests.shelter.support import admit, facility

FACILITY = "Casa Refugio Lima"


def _history(case) -> list[StageChange]:
    return list(db.session.scalars(
        select(StageChange).where(StageChange.case_id == case.id).order_by(StageChange.changed_at, StageChange.id)))


def _followed(event: str) -> list[AuditEvent]:
    return [e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.stage_followed"))
            if f'"event":"{event}"' in e.details]


def test_the_table_lists_only_forward_moves_the_journey_allows():
    assert set(automatic.AUTOMATIC_MOVES) == {"placement.admit", "return.depart", "return.arrive", "closure.approve"}
    for event, (sources, target) in automatic.AUTOMATIC_MOVES.items():
        for source in sources:
            assert stages.is_forward(source, target), (event, source)
            assert target in stages.TRANSITIONS[source], (event, source)


def test_a_shelter_admission_moves_a_case_at_intake_to_shelter_naming_the_event(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, FACILITY)
    case = factories.case(w.caseworker)
    admit(w.caseworker, case, place.id, TODAY - 2 * DAYS)
    case = db.session.get(Case, case.id)
    assert case.stage == "shelter"
    history = cases.stage_history(case, reveal_reasons=True)
    assert history[-1]["reason"].startswith("Shelter admission on ")
    timeline = journey_queries.timeline(w.caseworker, case, newest_first=False)
    [moved] = [e for e in timeline if e.kind == "stage" and "Shelter" in e.title and "Intake" in e.title]
    assert moved.detail.startswith("Shelter admission on ") and moved.actor == w.caseworker.display_name
    assert len(_followed("placement.admit")) == 1


def test_an_admission_never_moves_a_case_backwards(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, FACILITY)
    case = factories.case(w.caseworker)
    cases.change_stage(w.caseworker, case, "counseling", None)
    db.session.commit()
    before = len(_history(case))
    admit(w.caseworker, case, place.id)
    assert db.session.get(Case, case.id).stage == "counseling"
    assert len(_history(case)) == before and not _followed("placement.admit")
    at_intake = factories.case(w.caseworker)  # the same event does move a case that is before the target
    admit(w.caseworker, at_intake, place.id)
    assert db.session.get(Case, at_intake.id).stage == "shelter"


def test_departure_ends_the_placement_frees_the_bed_and_moves_to_return_then_arrival_to_reintegration(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, FACILITY, beds=1)
    case = factories.case(w.caseworker)
    admit(w.caseworker, case, place.id, TODAY - 20 * DAYS)
    assert shelter.open_count(place.id) == 1
    plan = approved_plan(w, case)
    plan.approved_at = utcnow() - timedelta(days=5)
    returns.confirm_departure(w.caseworker, plan, TODAY - 3 * DAYS)
    db.session.commit()
    [placement] = db.session.scalars(select(Placement).where(Placement.case_id == case.id)).all()
    assert (placement.discharged_on, placement.discharge_reason) == (TODAY - 3 * DAYS, "returned_home")
    assert placement.discharged_by_id == w.caseworker.id
    assert shelter.open_count(place.id) == 0  # the bed is free for the next person
    assert db.session.get(Case, case.id).stage == "return"
    returns.confirm_arrival(w.caseworker, plan, TODAY - 2 * DAYS)
    db.session.commit()
    case = db.session.get(Case, case.id)
    assert case.stage == "reintegration"
    reasons = [h["reason"] for h in cases.stage_history(case, reveal_reasons=True)]
    assert any(r and r.startswith("Departure for the return confirmed") for r in reasons)
    assert reasons[-1].startswith("Arrival in the country of origin confirmed")
    assert [c.to_stage for c in _history(case)][-3:] == ["shelter", "return", "reintegration"]


def test_a_departure_before_the_admission_is_refused_and_nothing_is_written(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, FACILITY)
    case = factories.case(w.caseworker)
    admit(w.caseworker, case, place.id, TODAY - 2 * DAYS)
    plan = approved_plan(w, case)
    plan.approved_at = utcnow() - timedelta(days=10)
    with pytest.raises(returns.ReturnError, match="before the admission to Casa Refugio Lima"):
        returns.confirm_departure(w.caseworker, plan, TODAY - 5 * DAYS)
    db.session.rollback()
    assert shelter.open_count(place.id) == 1 and db.session.get(Case, case.id).stage == "shelter"


def test_a_guard_refusing_the_move_keeps_the_event_and_the_stage_and_says_why(app, ctx, monkeypatch):
    w = factories.world()
    place = facility(w.supervisor, FACILITY)
    case = factories.case(w.caseworker)
    monkeypatch.setitem(stages.GUARDS, "shelter", [lambda c: "The intake interview is not finished."])
    placement = shelter.admit(w.caseworker, case, place.id, TODAY, None)
    db.session.commit()
    assert db.session.get(Placement, placement.id) is not None  # the admission stands
    assert db.session.get(Case, case.id).stage == "intake"
    refused = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "case.stage_not_followed"))
    assert refused == 1


def test_an_arrival_does_not_jump_a_case_that_never_reached_return(app, ctx, monkeypatch):
    w = factories.world()
    case = factories.case(w.caseworker)
    plan = approved_plan(w, case)
    plan.approved_at = utcnow() - timedelta(days=5)
    monkeypatch.setitem(stages.GUARDS, "return", [lambda c: "Not yet."])
    returns.confirm_departure(w.caseworker, plan, TODAY - DAYS)
    monkeypatch.undo()
    result = automatic.follow(w.caseworker, case, "return.arrive", TODAY)
    assert result.change is None and "by itself only from" in result.refusal
    assert case.stage == "intake"


def _closure_blocked_by_a_bed(app):
    with app.app_context():
        w = factories.world()
        place = facility(w.supervisor, FACILITY)
        case = factories.case(w.caseworker)
        admit(w.caseworker, case, place.id, TODAY - 5 * DAYS)
        journey.request_closure(w.caseworker, case, "completed", "Assistance completed.")
        db.session.commit()
        return case.id


def test_a_closure_blocked_by_an_open_placement_offers_the_discharge_in_place(app, web):
    case_id = _closure_blocked_by_a_bed(app)
    web.login("supervisor")
    page = web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert f"Discharge from {FACILITY}" in page
    assert "Approve and close the case" not in page  # never offer what the guard will refuse
    with app.app_context():
        placement_id = db.session.scalar(select(Placement.id).where(Placement.case_id == case_id))
    done = web.post(f"/cases/{case_id}/shelter/{placement_id}/discharge",
                    {"discharged_on": TODAY.isoformat(), "discharge_reason": "independent_living", "back": "closure"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{case_id}/closure")
    page = web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert "Discharge from" not in page and "Approve and close the case" in page
    with app.app_context():
        request_id = db.session.scalar(select(ClosureRequest.id).where(ClosureRequest.case_id == case_id))
    approved = web.post(f"/closures/{request_id}/approve", {"note": ""}, follow_redirects=True)
    assert "Closure approved: the case is closed." in approved.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Case, case_id).stage == "closed"
        assert len(_followed("closure.approve")) == 1  # through the same table


def test_the_pages_say_what_the_stage_did(app, web):
    with app.app_context():
        w = factories.world()
        place_id = facility(w.supervisor, FACILITY).id
        case_id = factories.case(w.caseworker).id
    web.login("caseworker")
    shown = web.post(f"/cases/{case_id}/shelter/admit",
                     {"facility_id": str(place_id), "admitted_on": TODAY.isoformat()}, follow_redirects=True)
    text = shown.get_data(as_text=True)
    assert "Admission recorded." in text and "The case moved to “Shelter”." in text


class _AlwaysLow(random.Random):
    def random(self):
        return 0.01


def test_the_demo_pending_closure_of_a_sheltered_person_can_be_approved(app, ctx):
    w = factories.world()
    place = facility(w.supervisor, FACILITY)
    case = factories.case(w.caseworker)
    admit(w.caseworker, case, place.id, TODAY - 9 * DAYS)
    people = {"caseworker": w.caseworker, "supervisor": w.supervisor}
    journey_demo.populate(case, people, _AlwaysLow(3))
    db.session.commit()
    pending = journey.pending_request(case)
    assert pending is not None and shelter.current_placement(case.id) is None  # she left before it was asked
    journey.approve_closure(w.supervisor, pending)
    db.session.commit()
    assert db.session.get(Case, case.id).stage == "closed"
