"""Counseling in the journey: timeline entries without notes, follow-ups on the work list, demo sessions."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from casemgmt.cases.models import StageChange, new_uuid
from casemgmt.counseling import demo, timeline, worklist
from casemgmt.counseling.models import CounselingSession
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from tests import factories
from tests.counseling.support import TODAY, session

NOTE = "Llanto al recordar el taller; se trabajó respiración."


def test_timeline_shows_that_sessions_took_place_and_never_their_notes(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    first = session(w.caseworker, case, NOTE, held_on=TODAY - timedelta(days=9), duration_minutes=60)
    session(w.supervisor, case, NOTE, session_type="medical", provider="Centro de Salud Lince")
    entries = timeline.entries(w.supervisor, case)
    assert [(e.kind, e.title, e.actor) for e in entries] == [
        ("session", "Psychosocial session", "Caseworker"),
        ("session", "Medical session", "Supervisor"),
    ]
    assert entries[0].detail == "60 minutes with Lic. Rosa Paredes"
    assert entries[0].url == f"/cases/{case.id}/counseling/{first.id}"
    assert "taller" not in repr(entries)
    # Referred-in mission staff and other organisations see no counseling at all.
    factories.accepted_referral(case, w.mission_org, w.mission)
    db.session.commit()
    assert timeline.entries(w.mission, case) == []
    assert timeline.entries(w.caseworker2, case) == []


def test_follow_ups_due_within_a_week_wait_for_the_assigned_caseworker(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    overdue = session(w.caseworker, case, held_on=TODAY - timedelta(days=20), follow_up_on=TODAY - timedelta(days=3),
                      session_type="legal")
    soon = session(w.supervisor, case, held_on=TODAY - timedelta(days=1), follow_up_on=TODAY + timedelta(days=6))
    session(w.caseworker, case, held_on=TODAY - timedelta(days=1), follow_up_on=TODAY + timedelta(days=8),
            session_type="medical")  # beyond the week
    items = worklist.items(w.caseworker)
    assert [(i.section, i.title, i.due, i.overdue) for i in items] == [
        ("tasks", f"Legal follow-up: {case.reference}", overdue.follow_up_on, True),
        ("tasks", f"Psychosocial follow-up: {case.reference}", soon.follow_up_on, False),
    ]
    assert items[0].url == f"/cases/{case.id}/counseling"
    # Nobody else gets them: not the supervisor who wrote one, not another caseworker.
    assert worklist.items(w.supervisor) == [] and worklist.items(w.caseworker_b) == []
    # A later legal session is the follow-up: the overdue item goes away.
    session(w.caseworker, case, session_type="legal", held_on=TODAY)
    assert [i.title for i in worklist.items(w.caseworker)] == [f"Psychosocial follow-up: {case.reference}"]


def _demo_case(actor, stage_path):
    case = factories.case(actor)
    for stage in stage_path:
        db.session.add(StageChange(id=new_uuid(), case_id=case.id, from_stage=case.stage, to_stage=stage,
                                   changed_by_id=actor.id))
        case.stage = stage
    db.session.commit()
    return case


def test_demo_populate_writes_one_to_four_sessions_with_spanish_notes_once(app, ctx):
    w = factories.world()
    people = {"caseworker": w.caseworker, "supervisor": w.supervisor, "hotline": w.hotline,
              "caseworker2": w.caseworker2, "mission": w.mission}
    rng = random.Random(11)
    counseling = _demo_case(w.caseworker, ["shelter", "counseling"])
    closed = _demo_case(w.caseworker, ["shelter", "counseling", "closed"])
    other_ngo = _demo_case(w.caseworker2, ["counseling"])
    shelter_only = _demo_case(w.caseworker, ["shelter"])
    mission = _demo_case(w.mission, ["counseling"])
    for case in (counseling, closed, other_ngo, shelter_only, mission, counseling):
        demo.populate(case, people, rng)
    db.session.commit()

    def of(case):
        # A session the demo recorded twice by mistake and then deleted (issue 12, item 6) is not one of the case's.
        return db.session.scalars(select(CounselingSession).where(CounselingSession.case_id == case.id,
                                                                  CounselingSession.live())
                                  .order_by(CounselingSession.held_on)).all()

    for case in (counseling, closed, other_ngo):
        sessions = of(case)
        assert 1 <= len(sessions) <= 4
        assert all(s.held_on <= TODAY and 1 <= s.duration_minutes <= 600 for s in sessions)
        assert all(s.follow_up_on is None or s.follow_up_on >= s.held_on for s in sessions)
        assert all(unseal(s, "notes") in sum(demo.NOTES.values(), ()) for s in sessions)
    assert all(s.follow_up_on is None for s in of(closed))
    assert of(counseling)[-1].follow_up_on is not None
    assert of(shelter_only) == [] and of(mission) == []
    assert db.session.scalar(select(func.count()).where(CounselingSession.live())) == sum(
        len(of(c)) for c in (counseling, closed, other_ngo))
