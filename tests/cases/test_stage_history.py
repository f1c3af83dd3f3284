"""Each stage change records when the case entered the stage it leaves, so a stay is one row (see
StageChange.stay_started_at): the dashboard's median stays read it without replaying the history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casemgmt.cases import operations
from casemgmt.cases.models import StageChange
from casemgmt.extensions import db
from tests import factories


def _history(case_id: str) -> list[tuple[str | None, str, object, object]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(StageChange.from_stage, StageChange.to_stage, StageChange.changed_at, StageChange.stay_started_at)
        .where(StageChange.case_id == case_id).order_by(StageChange.changed_at)
    )
    return [tuple(row) for row in rows]


def test_a_stage_change_records_when_the_stay_it_ends_began(world):
    w = world
    case = factories.case(w.caseworker)
    db.session.commit()
    [(before, after, _created, started)] = _history(case.id)
    assert (before, after, started) == (None, "intake", None)  # creation ends no stay

    operations.change_stage(w.caseworker, case, "shelter", None)
    db.session.commit()
    operations.change_stage(w.caseworker, case, "counseling", None)
    db.session.commit()
    intake, shelter, counseling = _history(case.id)
    assert shelter[:2] == ("intake", "shelter") and shelter[3] == intake[2]
    assert counseling[:2] == ("shelter", "counseling") and counseling[3] == shelter[2]
    assert counseling[2] - counseling[3] >= timedelta(0)
