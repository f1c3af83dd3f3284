"""The demo's T-visa holder: in "stay", Continued Presence then a T visa granted with work authorisation, reunified
with her two children (T-3, documents issued, travel paid by the fund, arrival), reception and school enrolment; the
children's father, possibly involved, is not offered."""

from __future__ import annotations

import random
from datetime import date

from casemgmt.extensions import db
from casemgmt.fund.models import FundRequest
from casemgmt.residence import demo, queries
from casemgmt.residence.models import ProtectionStatus, Reunification
from tests import factories
from tests.fund import support as fund_support


def test_the_demo_makes_a_t_visa_holder_reunified_with_two_children(world):
    finance = factories.user(world.ngo, "finance_officer", "finance")
    case = factories.case(world.caseworker, date_of_birth=date(1990, 3, 4), gender="Feminine")
    prj = fund_support.project(world.ngo, lines={"family_reunification_travel": "3000.00"}, limit="1000.00")
    people = {"caseworker": world.caseworker, "supervisor": world.supervisor, "finance": finance}
    demo.finish(people, random.Random(1))
    db.session.commit()
    assert case.stage == "stay"
    statuses = {s.kind: s for s in queries.statuses_of(case.id)}
    assert statuses["continued_presence"].state == "granted"
    assert statuses["t_visa"].state == "granted" and statuses["t_visa"].work_authorisation
    (reunification,) = queries.reunifications_of(case.id)
    assert reunification.status == "reunified" and len(reunification.members) == 2
    assert {m.derivative_kind for m in reunification.members} == {"t3"}
    request = db.session.get(FundRequest, reunification.members[0].fund_request_id)
    assert request.category == "family_reunification_travel" and request.project_id == prj.id
    assert request.status == "disbursed"
    kinds = sorted(s.kind for s in queries.services_of(reunification.id))
    assert kinds == ["reception", "school", "school"]
    refused = [m for m in queries.live_members(case.id) if queries.join_refusal(m)]
    assert len(refused) == 1 and refused[0].possibly_involved
    # Run twice (finish() after a rebuild of the other features): still one.
    demo.finish(people, random.Random(1))
    assert db.session.query(Reunification).count() == 1


def test_without_a_project_for_the_travel_the_family_still_arrives(world):
    case = factories.case(world.caseworker, date_of_birth=date(1985, 1, 1), gender="Feminine")
    demo.finish({"caseworker": world.caseworker, "supervisor": world.supervisor}, random.Random(1))
    (reunification,) = queries.reunifications_of(case.id)
    assert reunification.status == "reunified"
    assert all(m.fund_request_id is None for m in reunification.members)
    assert db.session.query(ProtectionStatus).count() == 2
