"""Nothing is offered that will be refused: a return plan is submitted for approval, and approved, only when it meets
the conditions; until then the page lists what is missing instead of the button, and no supervisor gets an approval
they cannot give."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.returns import guards, operations, worklist
from casemgmt.returns.models import ReturnPlan
from casemgmt.returns.operations import ReturnError
from tests import factories
from tests.conftest import Web, new_client
from tests.returns.support import complete_plan, consent, events, new_plan

SUBMIT = "Submit for approval"
APPROVE = "Approve the return"


def test_an_incomplete_plan_is_not_submitted_and_the_refusal_says_what_is_missing(world):
    w = world
    case = factories.case(w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org, skip=("family", "travel"))
    missing = guards.missing_for_submission(plan)
    assert len(missing) == 3  # consent, family assessment, travel document
    with pytest.raises(ReturnError) as refused:
        operations.submit_plan(w.caseworker, plan)
    for sentence in missing:
        assert sentence in str(refused.value)
    assert plan.status == "draft" and plan.submitted_at is None
    assert events("return.submit") == []


def test_the_same_conditions_let_a_complete_plan_through(world):
    w = world
    case = factories.case(w.caseworker)
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org)
    assert guards.missing_for_submission(plan) == []
    operations.submit_plan(w.caseworker, plan)
    operations.approve_plan(w.supervisor, plan)
    assert plan.status == "approved"


def _as(app, username: str) -> Web:
    web = Web(new_client(app))
    web.login(username)
    return web


def _draft(app, w, with_consent: bool) -> tuple[str, str]:
    with app.app_context():
        case = factories.case(w.caseworker)
        if with_consent:
            consent(case, w.caseworker)
        plan = complete_plan(w.caseworker, case, w.mission_org) if with_consent else new_plan(
            w.caseworker, case, w.mission_org)
        db.session.commit()
        return case.id, plan.id


def test_the_page_lists_what_is_missing_instead_of_the_submit_button(app, w):
    case_id, plan_id = _draft(app, w, with_consent=False)
    web = _as(app, "caseworker")
    body = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert SUBMIT not in body and "Before the plan can be submitted for approval:" in body
    for sentence in ("No risk assessment has been recorded.", "No family assessment has been recorded.",
                     "consent to return is not documented"):
        assert sentence in body
    # Posting anyway (an old page, a crafted request) is refused with the same reasons, and nothing changes.
    response = web.post(f"/cases/{case_id}/return/{plan_id}/submit")
    assert response.status_code == 422
    assert "No risk assessment has been recorded." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ReturnPlan, plan_id).status == "draft"

    complete_id, _ = _draft(app, w, with_consent=True)
    body = web.get(f"/cases/{complete_id}/return").get_data(as_text=True)
    assert SUBMIT in body and "Before the plan can be submitted" not in body


def test_a_plan_that_can_no_longer_be_approved_reaches_no_supervisor(app, w):
    """Consent withdrawn after submission: the supervisor is not offered the approval (neither on the page nor on the
    home page); the caseworker who submitted it is told to complete it."""
    with app.app_context():
        case = factories.case(w.caseworker)
        given = consent(case, w.caseworker)
        plan = complete_plan(w.caseworker, case, w.mission_org)
        operations.submit_plan(w.caseworker, plan)
        db.session.commit()
        case_id, url = case.id, f"/cases/{case.id}/return"
        supervisor = db.session.get(type(w.supervisor), w.supervisor.id)
        caseworker = db.session.get(type(w.caseworker), w.caseworker.id)
        with app.test_request_context():
            assert [i.url for i in worklist.items(supervisor) if i.section == "approvals"] == [url]
            assert [i for i in worklist.items(caseworker) if i.section == "tasks"] == []
        given.withdrawn_at = utcnow()
        db.session.commit()
        with app.test_request_context():
            assert [i for i in worklist.items(supervisor) if i.section == "approvals"] == []
            reminders = [i for i in worklist.items(caseworker) if i.section == "tasks"]
        reference = db.session.scalar(select(Case.reference).where(Case.id == case_id))
        assert [i.url for i in reminders] == [url] and reference in reminders[0].title

    body = _as(app, "supervisor").get(url).get_data(as_text=True)
    assert APPROVE not in body and "The plan cannot be approved until this is done:" in body
    assert "consent to return is not documented" in body
    home = _as(app, "supervisor").get("/").get_data(as_text=True)
    assert "Approve the return plan" not in home


def test_departure_is_not_offered_once_a_condition_fails_after_approval(app, w):
    with app.app_context():
        case = factories.case(w.caseworker)
        given = consent(case, w.caseworker)
        plan = complete_plan(w.caseworker, case, w.mission_org)
        operations.submit_plan(w.caseworker, plan)
        operations.approve_plan(w.supervisor, plan)
        db.session.commit()
        case_id, plan_id = case.id, plan.id
        web = _as(app, "caseworker")
        assert "Confirm departure" in web.get(f"/cases/{case_id}/return").get_data(as_text=True)
        given.withdrawn_at = utcnow()
        db.session.commit()
        assert guards.missing_for_departure(db.session.get(ReturnPlan, plan_id))
    body = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert "Confirm departure" not in body and "The person cannot depart until this is done:" in body
    sentence = "consent to return is not documented (or has been withdrawn): the person cannot depart."
    assert sentence in body
    refused = web.post(f"/cases/{case_id}/return/{plan_id}/departure", {"departed_on": str(utcnow().date())})
    assert refused.status_code == 422 and sentence in refused.get_data(as_text=True)
