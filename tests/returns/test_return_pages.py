"""The return page: one form per step, refusals with their messages (422, nothing saved), who may see and do what."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.returns.models import ReturnPlan
from tests import factories
from tests.conftest import Web, new_client
from tests.returns.support import CHILD_DOB, DAYS, TODAY, approved_plan, complete_plan, consent, refer


def _case(app, w, **overrides) -> str:
    with app.app_context():
        return factories.case(w.caseworker, **overrides).id


def _plan(app, case_id: str) -> ReturnPlan | None:
    with app.app_context():
        plan = db.session.scalar(select(ReturnPlan).where(ReturnPlan.case_id == case_id,
                                                          ReturnPlan.status != "cancelled"))
        if plan is not None:
            db.session.expunge(plan)
        return plan


def _as(app, username: str) -> Web:
    web = Web(new_client(app))
    web.login(username)
    return web


def test_the_whole_return_through_the_pages(app, web, w):
    case_id = _case(app, w)
    with app.app_context():
        consent(factories_case(case_id), w.caseworker)
        db.session.commit()
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/return")
    assert page.status_code == 200 and "This case has no return plan" in page.get_data(as_text=True)
    started = web.post(f"/cases/{case_id}/return", {
        "receiving_organisation_id": str(w.mission_org.id), "destination_country": "HT",
        "destination_locality": "Limonade"})
    assert started.status_code == 302
    plan_id = _plan(app, case_id).id
    base = f"/cases/{case_id}/return/{plan_id}"
    steps = [
        ("risk", {"risk_level": "low", "risk_summary": "No known threat.", "risk_assessed_on": str(TODAY)}),
        ("family", {"family_outcome": "found_willing", "family_summary": "Mother waits.",
                    "family_assessed_on": str(TODAY)}),
        ("travel-document", {"travel_document_status": "issued", "travel_document_requested_on": str(TODAY),
                             "travel_document_issued_on": str(TODAY)}),
        ("consular", {"consular_contact_made": "y", "consular_contact_on": str(TODAY), "consular_note": "ok"}),
        ("itinerary", {"planned_departure_on": str(TODAY + DAYS), "route_details": "Flight 12"}),
        ("submit", {}),
    ]
    for step, data in steps:
        # Each step form carries the plan's version it was filled from (core/versions.py), as the page does.
        response = web.post(f"{base}/{step}", {**data, "version": str(_plan(app, case_id).version)})
        assert response.status_code == 302, (step, response.get_data(as_text=True))
    shown = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert "No known threat." in shown and "Limonade" in shown and "Waiting for a supervisor" in shown
    # A caseworker cannot approve (the route's policy says 403 before anything is loaded).
    assert web.post(f"{base}/approve").status_code == 403
    supervisor = _as(app, "supervisor")
    assert "Approve the return" in supervisor.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert supervisor.post(f"{base}/approve").status_code == 302
    assert "Confirm the departure" in web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert web.post(f"{base}/departure", {"departed_on": str(TODAY)}).status_code == 302
    departed = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert "Confirm the arrival" in departed and "Cancel the return" not in departed
    plan = _plan(app, case_id)
    assert (plan.status, plan.approved_by_id, plan.departure_confirmed_by_id) == (
        "departed", w.supervisor.id, w.caseworker.id)


def factories_case(case_id):
    from casemgmt.cases.models import Case

    return db.session.get(Case, case_id)


def test_refused_approval_says_why_and_saves_nothing(app, w):
    case_id = _case(app, w, date_of_birth=CHILD_DOB)
    with app.app_context():
        case = factories_case(case_id)
        plan = complete_plan(w.caseworker, case, w.mission_org, skip=("family", "itinerary"))
        plan.status = "submitted"
        plan_id = plan.id
        db.session.commit()
    supervisor = _as(app, "supervisor")
    response = supervisor.post(f"/cases/{case_id}/return/{plan_id}/approve")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    for message in ("consent to return is not documented", "No family assessment has been recorded.",
                    "they travel with an escort or a parent or legal guardian"):
        assert message in body
    assert "No risk assessment" not in body
    assert _plan(app, case_id).status == "submitted"


def test_departure_and_arrival_out_of_order_are_refused_on_the_page(app, web, w):
    case_id = _case(app, w)
    with app.app_context():
        plan = complete_plan(w.caseworker, factories_case(case_id), w.mission_org)
        plan_id = plan.id
        db.session.commit()
    web.login("caseworker")
    base = f"/cases/{case_id}/return/{plan_id}"
    early = web.post(f"{base}/departure", {"departed_on": str(TODAY)})
    assert early.status_code == 422
    assert "only after a supervisor has approved" in early.get_data(as_text=True)
    arrival = web.post(f"{base}/arrival", {"arrived_on": str(TODAY)})
    assert arrival.status_code == 422
    assert "only after the departure has been confirmed" in arrival.get_data(as_text=True)
    assert _plan(app, case_id).status == "draft"


def test_arrival_before_departure_is_refused(app, web, w):
    case_id = _case(app, w)
    with app.app_context():
        plan = approved_plan(w, factories_case(case_id))
        plan.approved_at = utcnow() - timedelta(days=5)
        plan.status, plan.departed_on = "departed", TODAY - 2 * DAYS
        plan_id = plan.id
        db.session.commit()
    web.login("caseworker")
    response = web.post(f"/cases/{case_id}/return/{plan_id}/arrival", {"arrived_on": str(TODAY - 3 * DAYS)})
    assert response.status_code == 422
    assert "cannot be before the departure date" in response.get_data(as_text=True)
    assert _plan(app, case_id).arrived_on is None


def test_bad_form_input_is_refused_with_a_message(app, web, w):
    case_id = _case(app, w)
    with app.app_context():
        plan_id = complete_plan(w.caseworker, factories_case(case_id), w.mission_org, skip=("risk",)).id
        db.session.commit()
    web.login("caseworker")
    base = f"/cases/{case_id}/return/{plan_id}"
    cases = [
        ("risk", {"risk_level": "low", "risk_summary": "x", "risk_assessed_on": str(TODAY + DAYS)},
         "This date is in the future."),
        ("risk", {"risk_level": "low", "risk_summary": "x", "risk_assessed_on": "31/02/2024"},
         "Not a valid date value."),
        ("risk", {"risk_level": "catastrophic", "risk_summary": "x", "risk_assessed_on": str(TODAY)},
         "Not a valid choice"),
        ("risk", {"risk_level": "low", "risk_assessed_on": str(TODAY)}, "This field is required."),
        ("itinerary", {"escort_required": "y", "escort_name": ""}, "Name the escort."),
        ("travel-document", {"travel_document_status": "issued", "travel_document_requested_on": str(TODAY),
                             "travel_document_issued_on": str(TODAY - DAYS)},
         "cannot be issued before it was requested"),
        ("consular", {"consular_contact_made": "y"}, "Give the date of the consular contact."),
        ("cancel", {"cancellation_reason": ""}, "This field is required."),
    ]
    for step, data, message in cases:
        response = web.post(f"{base}/{step}", {**data, "version": str(_plan(app, case_id).version)})
        assert response.status_code == 422, step
        assert message in response.get_data(as_text=True), (step, message)
    plan = _plan(app, case_id)
    assert plan.risk_level is None and plan.status == "draft"
    assert plan.travel_document_issued_on == TODAY - 5 * DAYS  # unchanged


def test_a_second_plan_and_an_unknown_organisation_are_refused(app, web, w):
    case_id = _case(app, w)
    web.login("caseworker")
    bad = web.post(f"/cases/{case_id}/return", {"receiving_organisation_id": "99999", "destination_country": "HT"})
    assert bad.status_code == 422 and "Not a valid choice" in bad.get_data(as_text=True)
    nonsense = web.post(f"/cases/{case_id}/return", {"receiving_organisation_id": "abc", "destination_country": "XX"})
    assert nonsense.status_code == 422
    assert _plan(app, case_id) is None
    data = {"receiving_organisation_id": str(w.mission_org.id), "destination_country": "HT"}
    assert web.post(f"/cases/{case_id}/return", data).status_code == 302
    again = web.post(f"/cases/{case_id}/return", data)
    assert again.status_code == 422 and "already has a return plan" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReturnPlan)) == 1


def test_referral_gives_the_receiving_mission_the_return_and_nobody_else(app, w):
    case_id = _case(app, w)
    with app.app_context():
        plan = approved_plan(w, factories_case(case_id))
        plan.approved_at = utcnow() - timedelta(days=5)
        plan.status, plan.departed_on = "departed", TODAY - DAYS
        plan_id = plan.id
        db.session.commit()
    mission = _as(app, "mission")
    assert mission.get(f"/cases/{case_id}/return").status_code == 404
    assert mission.post(f"/cases/{case_id}/return/{plan_id}/arrival", {"arrived_on": str(TODAY)}).status_code == 404
    other_ngo = _as(app, "caseworker2")
    assert other_ngo.get(f"/cases/{case_id}/return").status_code == 404
    with app.app_context():
        refer(factories_case(case_id), w.mission_org, w.mission)
        db.session.commit()
    page = mission.get(f"/cases/{case_id}/return")
    assert page.status_code == 200 and "Confirm the arrival" in page.get_data(as_text=True)
    assert mission.post(f"/cases/{case_id}/return/{plan_id}/arrival", {"arrived_on": str(TODAY)}).status_code == 302
    assert _plan(app, case_id).arrival_confirmed_by_id == w.mission.id
    assert other_ngo.get(f"/cases/{case_id}/return").status_code == 404
    # A plan id of another case answers 404 too.
    other_case = _case(app, w)
    assert mission.post(f"/cases/{other_case}/return/{plan_id}/arrival", {"arrived_on": str(TODAY)}).status_code \
        == 404


def test_the_page_view_is_audited(app, web, w):
    case_id = _case(app, w)
    web.login("caseworker")
    assert web.get(f"/cases/{case_id}/return").status_code == 200
    from casemgmt.audit.models import AuditEvent

    with app.app_context():
        seen = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "return.view")).all()
        assert [(e.case_id, e.actor_id) for e in seen] == [(case_id, w.caseworker.id)]


def test_a_cancelled_plan_stays_on_record_and_a_new_one_can_start(app, web, w):
    case_id = _case(app, w)
    with app.app_context():
        plan_id = complete_plan(w.caseworker, factories_case(case_id), w.mission_org).id
        db.session.commit()
    web.login("caseworker")
    cancelled = web.post(f"/cases/{case_id}/return/{plan_id}/cancel",
                         {"cancellation_reason": "She chose to stay in Lima."}, follow_redirects=True)
    body = cancelled.get_data(as_text=True)
    assert "Return plan cancelled." in body and "Earlier return plans" in body and "Start a return plan" in body
    assert "She chose to stay" not in body  # the reason stays in the record, not on the page
    assert "still in the return stage" not in body  # the case never moved to the return stage
    # The cancelled plan's forms are closed.
    again = web.post(f"/cases/{case_id}/return/{plan_id}/cancel", {"cancellation_reason": "Twice"})
    assert again.status_code == 422 and "Only a plan that has not departed" in again.get_data(as_text=True)
    refused = web.post(f"/cases/{case_id}/return/{plan_id}/risk", {
        "risk_level": "low", "risk_summary": "x", "risk_assessed_on": str(TODAY)})
    assert refused.status_code == 422 and "can no longer be changed" in refused.get_data(as_text=True)


def test_cancelling_the_plan_of_a_case_in_the_return_stage_says_the_stage_must_change(app, web, w):
    case_id = _case(app, w)
    with app.app_context():
        case = factories_case(case_id)
        plan_id = approved_plan(w, case).id
        from casemgmt.cases import operations as cases

        cases.change_stage(w.caseworker, case, "return", None)
        db.session.commit()
    web.login("caseworker")
    response = web.post(f"/cases/{case_id}/return/{plan_id}/cancel", {"cancellation_reason": "Risk too high now."},
                        follow_redirects=True)
    assert "still in the return stage" in response.get_data(as_text=True)
