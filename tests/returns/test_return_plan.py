"""The return plan's operations: approval conditions, the order of the steps, dates, the stage guards, audit and
encryption at rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.cases import operations as cases
from casemgmt.cases.operations import CaseError
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.returns import operations, timeline, worklist
from casemgmt.returns.models import ReturnPlan
from casemgmt.returns.operations import ReturnError
from tests import factories
from tests.returns.support import (
    CHILD_DOB,
    DAYS,
    TODAY,
    approved_plan,
    arrived_plan,
    complete_plan,
    consent,
    events,
    new_plan,
    refer,
)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("consent", "consent to return is not documented"),
        ("risk", "No risk assessment has been recorded."),
        ("family", "No family assessment has been recorded."),
        ("travel", "The travel document has not been issued"),
        ("escort", "they travel with an escort or a parent or legal guardian"),
    ],
)
def test_each_approval_condition_is_refused_with_its_message(world, missing, message):
    w = world
    case = factories.case(w.caseworker, **({"date_of_birth": CHILD_DOB} if missing == "escort" else {}))
    if missing != "consent":
        consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org, skip=(missing,) if missing != "escort" else ())
    if missing == "escort":
        operations.record_itinerary(w.caseworker, plan, {"planned_departure_on": TODAY, "escort_required": False})
    # Submission asks for the approval, so it is refused for the same reason (test_submit_offers.py)...
    with pytest.raises(ReturnError, match=message):
        operations.submit_plan(w.caseworker, plan)
    # ...and a plan submitted before the condition failed is still refused its approval.
    plan.status = "submitted"
    with pytest.raises(ReturnError, match=message):
        operations.approve_plan(w.supervisor, plan)
    assert plan.status == "submitted" and plan.approved_by_id is None


def test_consent_that_does_not_cover_return_or_was_withdrawn_does_not_count(world):
    w = world
    case = factories.case(w.caseworker)
    consent(case, w.caseworker, to_return=False)
    withdrawn = consent(case, w.caseworker)
    withdrawn.withdrawn_at = utcnow()
    plan = complete_plan(w.caseworker, case, w.mission_org)
    with pytest.raises(ReturnError, match="consent to return is not documented"):
        operations.submit_plan(w.caseworker, plan)
    plan.status = "submitted"
    with pytest.raises(ReturnError, match="consent to return is not documented"):
        operations.approve_plan(w.supervisor, plan)


def test_travel_document_not_needed_is_enough(world):
    w = world
    case = factories.case(w.caseworker)
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org, skip=("travel",))
    operations.record_travel_document(w.caseworker, plan, {"travel_document_status": "not_needed"})
    operations.submit_plan(w.caseworker, plan)
    operations.approve_plan(w.supervisor, plan)
    assert (plan.status, plan.approved_by_id) == ("approved", w.supervisor.id)
    assert plan.approved_at is not None


def test_only_a_supervisor_approves_and_only_a_submitted_plan(world):
    w = world
    case = factories.case(w.caseworker)
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org)
    with pytest.raises(ReturnError, match="Only a plan submitted for approval"):
        operations.approve_plan(w.supervisor, plan)
    operations.submit_plan(w.caseworker, plan)
    db.session.commit()  # a denial is audited in its own transaction, which rolls back the session
    with pytest.raises(Forbidden):
        operations.approve_plan(w.caseworker, plan)
    with pytest.raises(NotFound):  # another organisation's supervisor does not learn the case exists
        operations.approve_plan(w.supervisor2, plan)
    operations.approve_plan(w.supervisor, plan)
    assert plan.status == "approved"


def test_departure_needs_approval_and_a_plausible_date(world):
    w = world
    case = factories.case(w.caseworker)
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org)
    operations.submit_plan(w.caseworker, plan)
    with pytest.raises(ReturnError, match="only after a supervisor has approved"):
        operations.confirm_departure(w.caseworker, plan, TODAY)
    operations.approve_plan(w.supervisor, plan)
    with pytest.raises(ReturnError, match="cannot be in the future"):
        operations.confirm_departure(w.caseworker, plan, TODAY + DAYS)
    with pytest.raises(ReturnError, match="cannot be before the approval"):
        operations.confirm_departure(w.caseworker, plan, TODAY - 3 * DAYS)
    operations.confirm_departure(w.caseworker, plan, TODAY)
    assert (plan.status, plan.departed_on, plan.departure_confirmed_by_id) == ("departed", TODAY, w.caseworker.id)


def test_arrival_needs_departure_and_a_date_not_before_it(world):
    w = world
    case = factories.case(w.caseworker)
    plan = approved_plan(w, case)
    with pytest.raises(ReturnError, match="only after the departure has been confirmed"):
        operations.confirm_arrival(w.caseworker, plan, TODAY)
    plan.approved_at = utcnow() - timedelta(days=10)
    operations.confirm_departure(w.caseworker, plan, TODAY - 5 * DAYS)
    with pytest.raises(ReturnError, match="cannot be before the departure date"):
        operations.confirm_arrival(w.caseworker, plan, TODAY - 6 * DAYS)
    with pytest.raises(ReturnError, match="cannot be in the future"):
        operations.confirm_arrival(w.caseworker, plan, TODAY + DAYS)
    operations.confirm_arrival(w.caseworker, plan, TODAY - 4 * DAYS)
    assert plan.status == "arrived"


def test_conditions_are_checked_again_at_departure(world):
    w = world
    case = factories.case(w.caseworker)
    plan = approved_plan(w, case)
    # The person turns out to be a child (the date of birth is corrected), and the escort was taken off the
    # itinerary by SQL.
    cases.update_case(w.caseworker, case, {"date_of_birth": CHILD_DOB}, case.version)
    plan.escort_required = False
    with pytest.raises(ReturnError, match="they travel with an escort or a parent or legal guardian"):
        operations.confirm_departure(w.caseworker, plan, TODAY)
    plan.escort_required = True
    for record in case_consents(case):
        record.withdrawn_at = utcnow()
    with pytest.raises(ReturnError, match="cannot depart"):
        operations.confirm_departure(w.caseworker, plan, TODAY)
    assert plan.status == "approved"


def case_consents(case):
    from casemgmt.consent.models import ConsentRecord

    return db.session.query(ConsentRecord).filter_by(case_id=case.id).all()


def test_a_change_after_approval_withdraws_the_approval(world):
    w = world
    case = factories.case(w.caseworker)
    plan = approved_plan(w, case)
    withdrawn = operations.record_itinerary(w.caseworker, plan, {
        "planned_departure_on": TODAY + 9 * DAYS, "route_details": "Rebooked", "escort_required": False})
    assert withdrawn is True
    assert (plan.status, plan.approved_by_id, plan.approved_at) == ("submitted", None, None)
    with pytest.raises(ReturnError, match="only after a supervisor has approved"):
        operations.confirm_departure(w.caseworker, plan, TODAY)
    assert events("return.itinerary")[-1].details == (
        '{"approval_withdrawn":true,"fields":["planned_departure_on","route_details","escort_required","escort_name",'
        '"guardian_name","guardian_relationship"]}')


def test_one_active_plan_per_case_and_cancelling_needs_a_reason(world):
    w = world
    case = factories.case(w.caseworker)
    plan = new_plan(w.caseworker, case, w.mission_org)
    with pytest.raises(ReturnError, match="already has a return plan"):
        new_plan(w.caseworker, case, w.mission_org)
    with pytest.raises(ReturnError, match="Say why"):
        operations.cancel_plan(w.caseworker, plan, "  ")
    operations.cancel_plan(w.caseworker, plan, "She decided to stay and apply for residence.")
    assert plan.status == "cancelled"
    with pytest.raises(ReturnError, match="can no longer be changed"):
        operations.record_risk_assessment(w.caseworker, plan, {"risk_level": "low", "risk_summary": "x",
                                                              "risk_assessed_on": TODAY})
    second = new_plan(w.caseworker, case, w.mission_org)
    assert second.status == "draft"


BAD_STEPS = [
        ("risk", {"risk_level": "extreme", "risk_summary": "x", "risk_assessed_on": TODAY}, "Choose the level"),
        ("risk", {"risk_level": "low", "risk_summary": " ", "risk_assessed_on": TODAY}, "Summarise"),
        ("risk", {"risk_level": "low", "risk_summary": "x", "risk_assessed_on": TODAY + DAYS}, "in the future"),
        ("family", {"family_outcome": "found_willing", "family_assessed_on": TODAY}, "Summarise"),
        ("family", {"family_outcome": "maybe", "family_assessed_on": TODAY}, "Choose the outcome"),
        ("travel", {"travel_document_status": "issued"}, "date the travel document was issued"),
        ("travel", {"travel_document_status": "requested"}, "date the travel document was requested"),
        ("travel", {"travel_document_status": "issued", "travel_document_requested_on": TODAY,
                    "travel_document_issued_on": TODAY - DAYS}, "cannot be issued before it was requested"),
        ("consular", {"consular_contact_made": True}, "date of the consular contact"),
        ("itinerary", {"escort_required": True, "escort_name": ""}, "Name the escort"),
        ("destination", {"receiving_organisation_id": 99999, "destination_country": "HT"}, "receiving organisation"),
        ("destination", {"receiving_organisation_id": None, "destination_country": "HT"}, "receiving organisation"),
]


def test_bad_step_values_are_refused(world):
    w = world
    case = factories.case(w.caseworker)
    plan = new_plan(w.caseworker, case, w.mission_org)
    verbs = {
        "risk": operations.record_risk_assessment, "family": operations.record_family_assessment,
        "travel": operations.record_travel_document, "consular": operations.record_consular_contact,
        "itinerary": operations.record_itinerary, "destination": operations.update_destination,
    }
    for step, values, message in BAD_STEPS:
        with pytest.raises(ReturnError, match=message):
            verbs[step](w.caseworker, plan, values)
    assert plan.risk_level is None and plan.travel_document_status == "none" and not plan.escort_required


def test_the_return_stage_needs_consent_a_risk_assessment_and_approval(world):
    w = world
    case = factories.case(w.caseworker)
    with pytest.raises(CaseError, match="documented consent to return"):
        cases.change_stage(w.caseworker, case, "return", None)
    consent(case, w.caseworker)
    with pytest.raises(CaseError, match="only after a risk assessment"):
        cases.change_stage(w.caseworker, case, "return", None)
    plan = complete_plan(w.caseworker, case, w.mission_org, skip=("risk",))
    with pytest.raises(CaseError, match="only after a risk assessment"):
        cases.change_stage(w.caseworker, case, "return", None)
    operations.record_risk_assessment(w.caseworker, plan, {"risk_level": "low", "risk_summary": "Safe.",
                                                          "risk_assessed_on": TODAY})
    with pytest.raises(CaseError, match="supervisor has approved the return plan"):
        cases.change_stage(w.caseworker, case, "return", None)
    operations.submit_plan(w.caseworker, plan)
    operations.approve_plan(w.supervisor, plan)
    cases.change_stage(w.caseworker, case, "return", None)
    assert case.stage == "return"


def test_the_reintegration_stage_needs_a_confirmed_arrival(world):
    w = world
    case = factories.case(w.caseworker)
    plan = approved_plan(w, case)
    cases.change_stage(w.caseworker, case, "return", None)
    with pytest.raises(CaseError, match="arrival in the country of origin has been confirmed"):
        cases.change_stage(w.caseworker, case, "reintegration", None)
    plan.approved_at = utcnow() - timedelta(days=3)
    operations.confirm_departure(w.caseworker, plan, TODAY - DAYS)
    with pytest.raises(CaseError, match="arrival in the country of origin has been confirmed"):
        cases.change_stage(w.caseworker, case, "reintegration", None)
    operations.confirm_arrival(w.caseworker, plan, TODAY)  # the arrival moves the stage by itself
    assert case.stage == "reintegration"


def test_the_receiving_mission_works_on_a_referred_return(world):
    w = world
    case = factories.case(w.caseworker)
    with pytest.raises(NotFound):
        operations.load_case(w.mission, case.id)
    plan = approved_plan(w, case)
    db.session.commit()  # a denial is audited in its own transaction, which rolls back the session
    with pytest.raises(NotFound):
        operations.load_plan(w.mission, case.id, plan.id)
    refer(case, w.mission_org, w.mission)
    assert operations.load_plan(w.mission, case.id, plan.id) is plan
    plan.approved_at = utcnow() - timedelta(days=3)
    operations.confirm_departure(w.caseworker, plan, TODAY - DAYS)
    operations.confirm_arrival(w.mission, plan, TODAY)
    assert plan.arrival_confirmed_by_id == w.mission.id
    db.session.commit()
    # The other NGO, without a referral, still gets nothing.
    with pytest.raises(NotFound):
        operations.load_plan(w.caseworker2, case.id, plan.id)


def test_free_text_is_encrypted_at_rest(world):
    w = world
    case = factories.case(w.caseworker)
    plan = approved_plan(w, case)
    operations.record_consular_contact(w.caseworker, plan, {"consular_contact_made": True,
                                                           "consular_contact_on": TODAY,
                                                           "consular_note": "Consul Duvalier-Mompremier called"})
    operations.cancel_plan(w.caseworker, plan, "Trafficker seen near Rue Pavée")
    db.session.commit()
    row = db.session.execute(text("SELECT * FROM return_plans")).mappings().one()
    raw = b"".join(bytes(v) for v in row.values() if isinstance(v, bytes | memoryview))
    for secret in ("Cap-Ha", "Recruiter still active", "Aunt Mireille", "CM 431", "Jean-Baptiste",
                   "Duvalier-Mompremier", "Rue Pav"):
        assert secret.encode() not in raw
        assert secret not in str(dict(row))
    from casemgmt.returns.queries import reveal

    revealed = reveal(db.session.get(ReturnPlan, plan.id))
    assert revealed["escort_name"] == "Jean-Baptiste Pierre"
    assert revealed["cancellation_reason"] == "Trafficker seen near Rue Pavée"


def test_every_step_is_audited_with_field_names_only(world):
    w = world
    case = factories.case(w.caseworker)
    arrived_plan(w, case)
    actions = [e.action for e in events("return.")]
    assert actions == [
        "return.plan_create", "return.risk_assessment", "return.family_assessment", "return.travel_document",
        "return.itinerary", "return.submit", "return.approve", "return.depart", "return.arrive",
    ]
    everything = " ".join(e.details for e in events("return."))
    assert "Jacmel" not in everything and "Jean-Baptiste" not in everything and "medium" not in everything
    approve = events("return.approve")[0]
    assert approve.actor_id == w.supervisor.id and approve.case_id == case.id


def test_timeline_and_approval_work_list(world, app):
    w = world
    case = factories.case(w.caseworker)
    consent(case, w.caseworker)
    plan = complete_plan(w.caseworker, case, w.mission_org)
    operations.submit_plan(w.caseworker, plan)
    waiting = worklist.items(w.supervisor)
    assert [(i.section, i.url) for i in waiting] == [("approvals", f"/cases/{case.id}/return")]
    assert case.reference in waiting[0].title and waiting[0].due == plan.planned_departure_on
    assert worklist.items(w.caseworker) == [] and worklist.items(w.supervisor2) == []
    operations.approve_plan(w.supervisor, plan)
    assert worklist.items(w.supervisor) == []
    titles = [e.title for e in timeline.entries(w.caseworker, case)]
    assert {"Return plan started", "Return risk assessment", "Family assessment",
            "Return plan submitted for approval", "Return plan approved"} <= set(titles)
    assert timeline.entries(w.caseworker2, case) == []
    assert timeline.entries(w.mission, case) == []
