"""Correcting or deleting a monitoring visit moves the case's next visit due (issue 12, item 6): it is always the
plan of the latest visit that remains, which the home page's work list and the dashboard read."""

from __future__ import annotations

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.reintegration import corrections, operations, worklist
from tests import factories
from tests.returns.support import DAYS, TODAY


def _visit(actor, case, visited_on, next_due):
    return operations.record_visit(actor, case, {
        "visited_on": visited_on, "visited_by_id": actor.id, "economic_score": 3, "social_score": 3,
        "psychosocial_score": 3, "next_visit_due": next_due})


def test_deleting_the_latest_visit_brings_back_the_plan_of_the_one_before(ctx, w):
    caseworker = db.session.merge(w.caseworker)
    case = factories.case(caseworker, assigned_to_id=caseworker.id)
    _visit(caseworker, case, TODAY - 40 * DAYS, TODAY - 3 * DAYS)
    latest = _visit(caseworker, case, TODAY - 2 * DAYS, TODAY + 60 * DAYS)
    db.session.commit()
    assert db.session.get(Case, case.id).next_visit_due == TODAY + 60 * DAYS
    assert worklist.items(caseworker) == []
    corrections.delete_visit(caseworker, latest, "Recorded on the wrong case.", latest.version)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Case, case.id).next_visit_due == TODAY - 3 * DAYS
    assert [(item.overdue, case.reference in item.title) for item in worklist.items(caseworker)] == [(True, True)]


def test_correcting_the_next_visit_due_moves_the_case_s(ctx, w):
    caseworker = db.session.merge(w.caseworker)
    case = factories.case(caseworker, assigned_to_id=caseworker.id)
    visit = _visit(caseworker, case, TODAY - 2 * DAYS, TODAY + 60 * DAYS)
    db.session.commit()
    values = {**corrections.visit_snapshot(visit), "next_visit_due": TODAY + 3 * DAYS}
    assert corrections.correct_visit(caseworker, visit, values, visit.version, "Agreed a sooner visit.") == [
        "next_visit_due"]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Case, case.id).next_visit_due == TODAY + 3 * DAYS
