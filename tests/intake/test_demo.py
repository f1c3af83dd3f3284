"""The demo fills intake and consent through the real operations, for cases in every stage and organisation."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.cases import operations as case_ops
from casemgmt.cases import stages
from casemgmt.consent import demo as consent_demo
from casemgmt.consent.models import ConsentRecord
from casemgmt.consent.queries import has_consent
from casemgmt.extensions import db
from casemgmt.intake import demo as intake_demo
from casemgmt.intake.models import Contact, Screening
from tests import factories

CHILD_DOB = date.today().replace(year=date.today().year - 15) - timedelta(days=40)
PATHS = {"intake": [], "shelter": ["shelter"], "return": ["counseling", "return"],
         "reintegration": ["shelter", "return", "reintegration"], "closed": ["counseling", "closed"]}


def _people(world) -> dict:
    return {"caseworker": world.caseworker, "supervisor": world.supervisor, "hotline": world.hotline,
            "caseworker2": world.caseworker2, "mission": world.mission}


def test_populate_adds_contacts_screenings_and_consent_for_every_stage(ctx, world, monkeypatch):
    # As in casemgmt.demo: the stage history is written first (guards off), then each feature's records.
    monkeypatch.setattr(stages, "GUARDS", {})
    people = _people(world)
    rng = random.Random(7)
    cases = []
    for creator in (world.caseworker, world.hotline, world.caseworker2, world.mission):
        for stage, path in PATHS.items():
            # The case that returns is a child by the date of birth alone.
            born = {"date_of_birth": CHILD_DOB} if stage == "return" else {}
            case = factories.case(creator, **born,
                                  assigned_to_id=world.caseworker.id if creator is world.hotline else None)
            for step in path:
                case_ops.change_stage(world.supervisor if case.organisation_id == world.ngo.id else creator, case,
                                      step, "Done." if step == "closed" else None)
            cases.append((stage, case))
    db.session.commit()
    for i, (_stage, case) in enumerate(cases):
        # The lead may call the features in either order; both end with one active consent per case.
        if i % 2:
            consent_demo.populate(case, people, rng)
            intake_demo.populate(case, people, rng)
        else:
            intake_demo.populate(case, people, rng)
            consent_demo.populate(case, people, rng)
        db.session.commit()
    for stage, case in cases:
        opened = db.session.scalars(select(Contact).where(Contact.case_id == case.id)).all()
        assert [c.linked_as for c in opened] == ["opened"], stage
        assert opened[0].organisation_id == case.organisation_id
        screenings = db.session.scalars(select(Screening).where(Screening.case_id == case.id)).all()
        assert len(screenings) == (0 if stage == "intake" else 1), stage
        active = [r for r in db.session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id))
                  if r.active]
        assert len(active) == 1, stage
        assert active[0].is_child_assent == (stage == "return"), stage
        # A child's assent goes with a guardian's consent (consent.operations), both recorded.
        assert (active[0].guardian_name is not None) == (stage == "return"), stage
        if stage in ("return", "reintegration"):
            assert has_consent(case.id, "share") and has_consent(case.id, "return"), stage
    assert db.session.scalars(select(Contact).where(Contact.call_type == "crisis")).first() is not None
