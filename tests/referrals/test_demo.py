"""The demo's referrals: cases heading home are referred to (and accepted by) the mission; one waits for the NGO."""

from __future__ import annotations

import random

from sqlalchemy import select

from casemgmt.consent.queries import has_consent
from casemgmt.documents import demo as documents_demo
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from casemgmt.referrals import demo
from casemgmt.referrals.models import Referral
from tests import factories


class _Always(random.Random):
    def random(self) -> float:
        return 0.9


def test_populate_refers_returning_cases_to_the_mission(app, ctx, world):
    people = {"caseworker": world.caseworker, "supervisor": world.supervisor, "hotline": world.hotline,
              "caseworker2": world.caseworker2, "mission": world.mission}
    returning = factories.case(world.caseworker)
    sheltered = [factories.case(world.caseworker), factories.case(world.caseworker)]
    missions_own = factories.case(world.mission)
    returning.stage = missions_own.stage = "return"
    for case in sheltered:
        case.stage = "shelter"
    rng = _Always(7)
    for case in (returning, *sheltered, missions_own):
        demo.populate(case, people, rng)
        documents_demo.populate(case, people, rng)
    db.session.commit()
    rows = db.session.scalars(select(Referral).order_by(Referral.created_at)).all()
    assert [(r.case_id, r.to_organisation_id, r.reason, r.status) for r in rows] == [
        (returning.id, world.mission_org.id, "MigrationOrChangeOfLocation", "accepted"),
        (sheltered[0].id, world.ngo2.id, "AdditionalServicesRequired", "pending"),
    ]
    assert rows[0].responded_by_id == world.mission.id
    assert has_consent(returning.id, "share")
    docs = db.session.scalars(select(Document)).all()
    assert {d.case_id for d in docs} == {returning.id, missions_own.id}
    assert all(d.content_type == "image/png" for d in docs)
