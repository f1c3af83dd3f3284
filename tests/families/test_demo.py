"""The demo's children in tracing: built through the operations, on the world's cases, the same every time."""

from __future__ import annotations

import random

from casemgmt.extensions import db
from casemgmt.families import demo, queries
from casemgmt.families.models import TracingAction
from tests import factories
from tests.families.support import CHILD_DOB


def _people(w) -> dict:
    return {"caseworker": w.caseworker, "supervisor": w.supervisor, "hotline": w.hotline,
            "caseworker2": w.caseworker2, "supervisor2": w.supervisor2, "mission": w.mission}


def test_finish_builds_the_three_children(world):
    w = world
    adult = factories.case(w.caseworker)
    children = [factories.case(w.caseworker, date_of_birth=CHILD_DOB, citizenship="HT",
                               unaccompanied_or_separated=True) for _ in range(3)]
    demo.finish(_people(w), random.Random(1))
    db.session.commit()
    found = demo.demo_children()
    assert set(found) == {"tracing", "reunify", "against"}
    assert {c.id for c in found.values()} == {c.id for c in children} and adult.id not in found
    tracing = found["tracing"]
    members = {m.relationship_code: m for m in queries.live_members(tracing.id)}
    assert members["mother"].whereabouts == "unknown" and members["father"].possibly_involved
    assert queries.may_learn_location(members["aunt_uncle"]) and not queries.may_learn_location(members["father"])
    request = queries.requests_of(tracing.id)[0]
    assert request.status == "open" and len(queries.actions_of(request.id)) == 2
    assert queries.latest_visit(found["reunify"].id).recommendation == "reunify"
    assert queries.latest_visit(found["reunify"].id).organisation_id == w.mission_org.id
    assert queries.requests_of(found["reunify"].id)[0].status == "found"
    assert queries.latest_visit(found["against"].id).recommendation == "do_not_reunify"
    assert db.session.query(TracingAction).filter_by(whereabouts_shared=True).count() == 0
    # Run again: the children who have a family already are left alone.
    demo.finish(_people(w), random.Random(1))
    assert len(queries.live_members(tracing.id)) == 3
