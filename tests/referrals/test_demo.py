"""The demo's referrals: cases heading home are referred to (and accepted by) the mission; one waits for the NGO's
answer, a return plan's hand-off for the mission's, and a transfer for the second NGO's."""

from __future__ import annotations

import random

from sqlalchemy import select

from casemgmt.access.grants import CaseGrant
from casemgmt.consent.queries import has_consent
from casemgmt.documents import demo as documents_demo
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from casemgmt.referrals import demo
from casemgmt.referrals.models import Referral, Transfer
from tests import factories


class _Always(random.Random):
    def random(self) -> float:
        return 0.9


def test_populate_refers_returning_cases_to_the_mission(app, ctx, world):
    people = {"caseworker": world.caseworker, "supervisor": world.supervisor, "hotline": world.hotline,
              "caseworker2": world.caseworker2, "mission": world.mission}
    returning = factories.case(world.caseworker)
    sheltered = [factories.case(world.caseworker) for _ in range(4)]
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
    assert [(r.case_id, r.to_organisation_id, r.kind, r.reason, r.status) for r in rows] == [
        (returning.id, world.mission_org.id, "referral", "MigrationOrChangeOfLocation", "accepted"),
        (sheltered[0].id, world.ngo2.id, "referral", "AdditionalServicesRequired", "pending"),
        (sheltered[1].id, world.mission_org.id, "return_handoff", "MigrationOrChangeOfLocation", "pending"),
    ]
    assert rows[0].responded_by_id == world.mission.id
    # The accepted referral gives the mission its grant; the transfer waits for the second NGO, which may read it.
    assert [(g.case_id, g.organisation_id, g.level) for g in db.session.scalars(
        select(CaseGrant).order_by(CaseGrant.granted_at))] == [
        (returning.id, world.mission_org.id, "referral"), (sheltered[2].id, world.ngo2.id, "review")]
    [transfer] = db.session.scalars(select(Transfer)).all()
    assert (transfer.case_id, transfer.to_organisation_id, transfer.status) == (sheltered[2].id, world.ngo2.id,
                                                                                "approved")
    assert sheltered[3].id not in {r.case_id for r in rows}  # one of each is enough
    assert has_consent(returning.id, "share")
    docs = db.session.scalars(select(Document)).all()
    assert {d.case_id for d in docs} == {returning.id, missions_own.id}
    assert all(d.content_type == "image/png" for d in docs)
