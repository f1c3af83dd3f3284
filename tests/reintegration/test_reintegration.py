"""Reintegration: the plan and its one-month deadline, services and their amounts, monitoring visits and their
scale, referral access for the mission, the work list of visits due, the timeline, audit and encryption at rest."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from werkzeug.exceptions import NotFound

from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.reintegration import operations, queries, timeline, worklist
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ServiceDelivered
from casemgmt.reintegration.operations import ReintegrationError
from tests import factories
from tests.conftest import Web, new_client
from tests.returns.support import DAYS, TODAY, arrived_plan, refer


def plan_values(w, **overrides) -> dict:
    values = {
        "created_on": TODAY - 30 * DAYS, "support_types": ["Livelihood", "Health"],
        "objectives": "Open a bakery stall in Jacmel market; trauma counselling twice a month.",
        "planned_end_on": TODAY + 200 * DAYS, "actual_end_on": None, "responsible_organisation_id": w.mission_org.id,
    }
    values.update(overrides)
    return values


def service_values(**overrides) -> dict:
    values = {"service_type": "Livelihood", "provider": "Coopérative du Nord", "amount": "250.50",
              "currency": "USD", "delivered_on": TODAY - 5 * DAYS, "implemented": True,
              "note": "Oven bought from Mme Laguerre"}
    values.update(overrides)
    return values


def visit_values(**overrides) -> dict:
    values = {"visited_on": TODAY - DAYS, "visited_by_id": None, "economic_score": 3, "social_score": 4,
              "psychosocial_score": 2, "observations": "Nightmares less frequent; uncle pressures her for money.",
              "next_visit_due": TODAY + 30 * DAYS}
    values.update(overrides)
    return values


def one_month_after(day: date) -> date:
    return queries.one_month_after(day)


def test_one_month_after_keeps_the_day_or_takes_the_months_last():
    assert one_month_after(date(2025, 1, 15)) == date(2025, 2, 15)
    assert one_month_after(date(2025, 1, 31)) == date(2025, 2, 28)
    assert one_month_after(date(2024, 1, 31)) == date(2024, 2, 29)
    assert one_month_after(date(2025, 12, 10)) == date(2026, 1, 10)


def test_a_plan_is_due_within_a_month_of_arrival_and_a_late_one_is_saved_with_a_warning(world):
    w = world
    case = factories.case(w.caseworker)
    arrived_plan(w, case, departed=TODAY - 60 * DAYS, arrived=TODAY - 59 * DAYS)
    deadline = queries.deadline(case.id)
    assert deadline.arrived_on == TODAY - 59 * DAYS and deadline.due_on == one_month_after(TODAY - 59 * DAYS)
    plan = operations.save_plan(w.caseworker, case, plan_values(w, created_on=TODAY - 10 * DAYS))
    assert deadline.late(plan.created_on)
    assert not deadline.late(TODAY - 50 * DAYS)
    assert sorted(plan.support_types) == ["Health", "Livelihood"]
    # Saving again updates the one plan of the case.
    operations.save_plan(w.caseworker, case, plan_values(w, support_types=["Education"], actual_end_on=TODAY,
                                                         plan_id=plan.id))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ReintegrationPlan)) == 1
    assert queries.plan_of(case.id).support_types == ["Education"]
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("reintegration.%"))
                                                 .order_by(AuditEvent.seq))] == \
        ["reintegration.plan_create", "reintegration.plan_update"]


def test_a_first_plan_saved_after_a_colleagues_first_plan_is_refused_not_saved_over_it(world):
    """Two caseworkers open the empty plan form; the second to save used to replace the first one's plan unseen."""
    w = world
    case = factories.case(w.caseworker)
    arrived_plan(w, case, departed=TODAY - 20 * DAYS, arrived=TODAY - 19 * DAYS)
    operations.save_plan(w.caseworker, case, plan_values(w, objectives="Bakery stall"))
    db.session.commit()
    with pytest.raises(operations.ReintegrationError, match="Someone else has just made"):
        operations.save_plan(w.caseworker, case, plan_values(w, objectives="Sewing workshop"))
    db.session.rollback()
    assert queries.revealed_objectives(queries.plan_of(case.id)) == "Bakery stall"


BAD_PLANS = [
    ({"created_on": TODAY + DAYS}, "cannot be in the future"),
    ({"created_on": None}, "Give the date the plan was made"),
    ({"planned_end_on": TODAY - 31 * DAYS}, "planned end cannot be before"),
    ({"actual_end_on": TODAY - 31 * DAYS}, "actual end cannot be before"),
    ({"actual_end_on": TODAY + DAYS}, "actual end cannot be in the future"),
    ({"support_types": []}, "at least one type of support"),
    ({"support_types": ["Vacation"]}, "from the list"),
    ({"objectives": "  "}, "objectives"),
    ({"responsible_organisation_id": 99999}, "responsible"),
]


def test_bad_plans_are_refused(world):
    w = world
    case = factories.case(w.caseworker)
    for overrides, message in BAD_PLANS:
        with pytest.raises(ReintegrationError, match=message):
            operations.save_plan(w.caseworker, case, plan_values(w, **overrides))
    assert queries.plan_of(case.id) is None


BAD_AMOUNTS = [
    ("-1", "cannot be negative"), ("abc", "must be a number"), ("", "must be a number"), ("NaN", "must be a number"),
    ("sNaN", "must be a number"), ("Infinity", "must be a number"), ("1.005", "two decimal places"),
    ("1e12", "too large"), ("1e999999999", "too large"),
]


def test_amounts_are_validated(world):
    w = world
    case = factories.case(w.caseworker)
    operations.save_plan(w.caseworker, case, plan_values(w))
    for amount, message in BAD_AMOUNTS:
        with pytest.raises(ReintegrationError, match=message):
            operations.record_service(w.caseworker, case, service_values(amount=amount))
    assert queries.services_of(case.id) == []


def test_services_need_a_plan_a_known_type_a_currency_and_a_past_date(world):
    w = world
    case = factories.case(w.caseworker)
    with pytest.raises(ReintegrationError, match="Make the reintegration plan"):
        operations.record_service(w.caseworker, case, service_values())
    operations.save_plan(w.caseworker, case, plan_values(w))
    for overrides, message in (
        ({"service_type": "Vacation"}, "type of service"),
        ({"currency": "DOLLARS"}, "ISO 4217"),
        ({"currency": "ZZZ"}, "ISO 4217"),
        ({"provider": " "}, "service provider"),
        ({"delivered_on": TODAY + DAYS}, "cannot be in the future"),
    ):
        with pytest.raises(ReintegrationError, match=message):
            operations.record_service(w.caseworker, case, service_values(**overrides))
    service = operations.record_service(w.caseworker, case, service_values(amount="0", currency="htg"))
    assert (service.amount, service.currency) == (Decimal("0.00"), "HTG")


def test_scores_outside_one_to_five_are_refused(world):
    w = world
    case = factories.case(w.caseworker)
    for dimension in ("economic_score", "social_score", "psychosocial_score"):
        for score in (0, 6, -1, "x", None, True):
            with pytest.raises(ReintegrationError, match=r"from 1 \(not sustainable\) to 5 \(fully sustainable\)"):
                operations.record_visit(w.caseworker, case, visit_values(**{dimension: score}))
    assert queries.visits_of(case.id) == []


def test_visit_dates_and_visitor_are_validated(world):
    w = world
    case = factories.case(w.caseworker)
    for overrides, message in (
        ({"visited_on": TODAY + DAYS}, "in the future"),
        ({"visited_on": None}, "date of the visit"),
        ({"next_visit_due": TODAY - DAYS}, "due after this one"),
        ({"next_visit_due": TODAY - 2 * DAYS}, "due after this one"),
        ({"visited_by_id": w.caseworker2.id}, "colleague of your organisation"),
        ({"visited_by_id": w.hotline.id}, "colleague of your organisation"),
    ):
        with pytest.raises(ReintegrationError, match=message):
            operations.record_visit(w.caseworker, case, visit_values(**overrides))
    visit = operations.record_visit(w.caseworker, case, visit_values(visited_by_id=w.caseworker_b.id))
    assert (visit.visited_by_id, visit.recorded_by_id, visit.economic_score) == (w.caseworker_b.id, w.caseworker.id, 3)


def test_free_text_is_encrypted_at_rest_and_audit_records_names_only(world):
    w = world
    case = factories.case(w.caseworker)
    operations.save_plan(w.caseworker, case, plan_values(w))
    operations.record_service(w.caseworker, case, service_values())
    operations.record_visit(w.caseworker, case, visit_values())
    db.session.commit()
    for table, secret in (("reintegration_plans", "bakery stall"), ("reintegration_services", "Laguerre"),
                          ("monitoring_visits", "Nightmares")):
        row = db.session.execute(text(f"SELECT * FROM {table}")).mappings().one()  # noqa: S608 (fixed names)
        raw = b"".join(bytes(v) for v in row.values() if isinstance(v, bytes | memoryview))
        assert secret.encode() not in raw and secret not in str(dict(row))
    # The provider is the name of a business, kept in plaintext for reports.
    assert db.session.execute(text("SELECT provider FROM reintegration_services")).scalar_one() == "Coopérative du Nord"
    details = " ".join(db.session.scalars(select(AuditEvent.details).where(AuditEvent.action.like("reintegration.%"))))
    assert "bakery" not in details and "250" not in details and "Nightmares" not in details
    assert '"economic_score"' in details
    service = db.session.scalars(select(ServiceDelivered)).one()
    visit = db.session.scalars(select(MonitoringVisit)).one()
    assert queries.revealed_notes([service, visit]) == {
        service.id: "Oven bought from Mme Laguerre",
        visit.id: "Nightmares less frequent; uncle pressures her for money.",
    }


def test_the_mission_works_on_a_referred_case_and_other_organisations_get_404(world):
    w = world
    case = factories.case(w.caseworker)
    with pytest.raises(NotFound):
        operations.load_case(w.mission, case.id)
    refer(case, w.mission_org, w.mission)
    db.session.commit()
    assert operations.load_case(w.mission, case.id) is case
    operations.save_plan(w.mission, case, plan_values(w))
    operations.record_visit(w.mission, case, visit_values())
    db.session.commit()
    with pytest.raises(NotFound):
        operations.load_case(w.caseworker2, case.id)


def _visit(w, case, visited: date, next_due: date | None):
    return operations.record_visit(w.caseworker, case, visit_values(visited_on=visited, next_visit_due=next_due))


def test_visits_due_within_a_week_or_overdue_are_tasks(world, app):
    w = world
    soon = factories.case(w.caseworker)
    overdue = factories.case(w.caseworker)
    later = factories.case(w.caseworker)
    superseded = factories.case(w.caseworker)
    finished = factories.case(w.caseworker)
    _visit(w, soon, TODAY - 20 * DAYS, TODAY + 7 * DAYS)
    _visit(w, overdue, TODAY - 40 * DAYS, TODAY - 3 * DAYS)
    _visit(w, later, TODAY - 10 * DAYS, TODAY + 8 * DAYS)
    # Only the latest visit counts: its next due date replaces the earlier visit's.
    _visit(w, superseded, TODAY - 60 * DAYS, TODAY - 30 * DAYS)
    _visit(w, superseded, TODAY - 2 * DAYS, TODAY + 60 * DAYS)
    _visit(w, finished, TODAY - 5 * DAYS, None)
    db.session.commit()
    tasks = worklist.items(w.caseworker)
    assert [(t.url, t.overdue, t.section) for t in tasks] == [
        (f"/cases/{overdue.id}/reintegration", True, "tasks"),
        (f"/cases/{soon.id}/reintegration", False, "tasks"),
    ]
    assert overdue.reference in tasks[0].title
    assert [t.url for t in worklist.items(w.supervisor)] == [t.url for t in tasks]
    # Not their cases: another NGO, the mission without a referral, a second caseworker not assigned.
    assert worklist.items(w.caseworker2) == []
    assert worklist.items(w.mission) == []
    assert worklist.items(w.caseworker_b) == []
    assert worklist.items(w.hotline) == []
    refer(overdue, w.mission_org, w.mission)
    db.session.commit()
    assert [t.url for t in worklist.items(w.mission)] == [f"/cases/{overdue.id}/reintegration"]


def test_timeline_shows_plan_services_and_visits_with_scores(world, app):
    w = world
    case = factories.case(w.caseworker)
    operations.save_plan(w.caseworker, case, plan_values(w))
    operations.record_service(w.caseworker, case, service_values(implemented=False))
    operations.record_visit(w.caseworker, case, visit_values())
    db.session.commit()
    entries = {e.kind: e for e in timeline.entries(w.caseworker, case)}
    assert set(entries) == {"reintegration", "service", "visit"}
    assert entries["visit"].detail == "Sustainability (1-5): economic 3, social 4, psychosocial 2"
    assert "Coopérative du Nord" in entries["service"].detail and "not implemented" in entries["service"].detail
    assert "Nightmares" not in " ".join(e.detail for e in entries.values())
    assert timeline.entries(w.caseworker2, case) == []


# The page ----------------------------------------------------------------------------------------------------------

def _as(app, username: str) -> Web:
    web = Web(new_client(app))
    web.login(username)
    return web


def _arrived_case(app, w, days_ago: int = 59) -> str:
    with app.app_context():
        case = factories.case(w.caseworker)
        arrived_plan(w, case, departed=TODAY - (days_ago + 1) * DAYS, arrived=TODAY - days_ago * DAYS)
        db.session.commit()
        return case.id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_the_page_shows_the_deadline_and_warns_about_a_late_plan(app, w):
    case_id = _arrived_case(app, w)
    web = _as(app, "caseworker")
    page = web.get(f"/cases/{case_id}/reintegration").get_data(as_text=True)
    due = one_month_after(TODAY - 59 * DAYS)
    assert "should be made within one month of arrival" in page and due.strftime("%Y") in page
    saved = web.post(f"/cases/{case_id}/reintegration/plan", {
        "created_on": str(TODAY), "support_types": ["Livelihood", "Legal"], "objectives": "Bakery stall",
        "responsible_organisation_id": str(w.mission_org.id)}, follow_redirects=True)
    body = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Reintegration plan saved." in body
    assert "This plan was made after its deadline" in body and "after its deadline of" in body
    assert "Bakery stall" in body


def test_bad_input_on_the_page_is_refused_with_a_message_and_nothing_is_saved(app, w):
    case_id = _arrived_case(app, w)
    web = _as(app, "caseworker")
    base = f"/cases/{case_id}/reintegration"
    plan = {"created_on": str(TODAY), "support_types": "Health", "objectives": "x",
            "responsible_organisation_id": str(w.mission_org.id)}
    for data, message in (
        ({**plan, "created_on": str(TODAY + DAYS)}, "This date is in the future."),
        ({**plan, "actual_end_on": str(TODAY - DAYS)}, "This date is before the plan was made."),
        ({**plan, "support_types": "Vacation"}, "is not a valid choice"),
        ({k: v for k, v in plan.items() if k != "support_types"}, "Choose at least one type of support."),
    ):
        response = web.post(f"{base}/plan", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    assert _count(app, ReintegrationPlan) == 0
    assert web.post(f"{base}/plan", plan).status_code == 302
    service = {"service_type": "Health", "provider": "Clinic", "amount": "10", "currency": "USD",
               "delivered_on": str(TODAY)}
    for data, message in (
        ({**service, "amount": "-5"}, "The amount cannot be negative."),
        ({**service, "amount": "ten"}, "Not a valid decimal value."),
        ({**service, "amount": "NaN"}, "Not a valid decimal value."),
        ({**service, "amount": "sNaN"}, "Not a valid decimal value."),
        ({**service, "amount": "1.234"}, "At most two decimal places."),
        ({**service, "amount": "1e999999999"}, "The amount is too large."),
        ({**service, "currency": "EURO"}, "Not an ISO 4217 currency code"),
        ({**service, "delivered_on": "yesterday"}, "Not a valid date value."),
    ):
        response = web.post(f"{base}/services", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    assert _count(app, ServiceDelivered) == 0
    visit = {"visited_on": str(TODAY), "visited_by_id": str(w.caseworker.id), "economic_score": "3",
             "social_score": "3", "psychosocial_score": "3"}
    for data, message in (
        ({**visit, "economic_score": "0"}, "Choose a score from 1 (not sustainable) to 5 (fully sustainable)."),
        ({**visit, "social_score": "6"}, "Choose a score from 1 (not sustainable) to 5 (fully sustainable)."),
        ({**visit, "psychosocial_score": "many"}, "Choose a score from 1"),
        ({**visit, "psychosocial_score": ""}, "Choose a score from 1"),
        ({**visit, "visited_on": str(TODAY + DAYS)}, "This date is in the future."),
        ({**visit, "next_visit_due": str(TODAY)}, "The next visit must be due after this one."),
        ({**visit, "visited_by_id": str(w.caseworker2.id)}, "Not a valid choice"),
    ):
        response = web.post(f"{base}/visits", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    assert _count(app, MonitoringVisit) == 0
    assert web.post(f"{base}/services", service).status_code == 302
    assert web.post(f"{base}/visits", visit).status_code == 302
    page = web.get(base).get_data(as_text=True)
    assert "1 = not sustainable" in page and "5 = fully sustainable" in page
    assert "10.00 USD" in page


def test_referral_lets_the_mission_run_reintegration_and_nobody_else(app, w):
    case_id = _arrived_case(app, w, days_ago=10)
    mission = _as(app, "mission")
    visit = {"visited_on": str(TODAY), "visited_by_id": str(w.mission.id), "economic_score": "2",
             "social_score": "4", "psychosocial_score": "3", "next_visit_due": str(TODAY + 30 * DAYS)}
    assert mission.get(f"/cases/{case_id}/reintegration").status_code == 404
    assert mission.post(f"/cases/{case_id}/reintegration/visits", visit).status_code == 404
    with app.app_context():
        refer(db.session.get(Case, case_id), w.mission_org, w.mission)
        db.session.commit()
    page = mission.get(f"/cases/{case_id}/reintegration")
    assert page.status_code == 200 and "Record a visit" in page.get_data(as_text=True)
    assert mission.post(f"/cases/{case_id}/reintegration/plan", {
        "created_on": str(TODAY), "support_types": ["Education"], "objectives": "School enrolment",
        "responsible_organisation_id": str(w.mission_org.id)}).status_code == 302
    assert mission.post(f"/cases/{case_id}/reintegration/visits", visit).status_code == 302
    other = _as(app, "caseworker2")
    assert other.get(f"/cases/{case_id}/reintegration").status_code == 404
    assert other.post(f"/cases/{case_id}/reintegration/services", {}).status_code == 404
    hotline = _as(app, "hotline")
    assert hotline.get(f"/cases/{case_id}/reintegration").status_code == 403
    with app.app_context():
        visit_row = db.session.scalars(select(MonitoringVisit)).one()
        assert (visit_row.visited_by_id, visit_row.social_score) == (w.mission.id, 4)
        viewed = db.session.scalars(select(AuditEvent.actor_id).where(AuditEvent.action == "reintegration.view"))
        assert w.mission.id in list(viewed)


def test_a_closed_case_takes_no_new_records(world):
    w = world
    case = factories.case(w.caseworker)
    case.stage = "closed"
    with pytest.raises(ReintegrationError, match="closed"):
        operations.record_visit(w.caseworker, case, visit_values())
    with pytest.raises(ReintegrationError, match="closed"):
        operations.save_plan(w.caseworker, case, plan_values(w))


def test_plan_dates_use_the_calendar(world):
    # A plan made exactly one month after arrival is on time; a day later is late.
    w = world
    case = factories.case(w.caseworker)
    arrived_plan(w, case, departed=date(2025, 1, 30), arrived=date(2025, 1, 31))
    deadline = queries.deadline(case.id)
    assert deadline.due_on == date(2025, 2, 28)
    assert not deadline.late(date(2025, 2, 28)) and deadline.late(date(2025, 3, 1))
    assert timedelta(days=28) == deadline.due_on - deadline.arrived_on


def _stored_next_visit(case_id: str) -> date | None:
    db.session.expire_all()
    return db.session.scalar(select(Case.next_visit_due).where(Case.id == case_id))


def test_the_case_keeps_the_plan_of_its_latest_visit(world):
    """Case.next_visit_due, which the dashboard and the home page read, follows the latest visit by date: a visit
    recorded late for an earlier day does not replace it, and a visit that plans none clears it."""
    w = world
    case = factories.case(w.caseworker)
    assert _stored_next_visit(case.id) is None
    _visit(w, case, TODAY - 20 * DAYS, TODAY + 10 * DAYS)
    db.session.commit()
    assert _stored_next_visit(case.id) == TODAY + 10 * DAYS
    _visit(w, case, TODAY - 40 * DAYS, TODAY - 25 * DAYS)  # backdated: an earlier visit written up late
    db.session.commit()
    assert _stored_next_visit(case.id) == TODAY + 10 * DAYS
    _visit(w, case, TODAY - 20 * DAYS, TODAY + 3 * DAYS)  # the same day as the latest, recorded after it
    db.session.commit()
    assert _stored_next_visit(case.id) == TODAY + 3 * DAYS
    _visit(w, case, TODAY - DAYS, None)
    db.session.commit()
    assert _stored_next_visit(case.id) is None
    # The stored plan is always the one the reintegration page shows first.
    assert queries.visits_of(case.id)[0].next_visit_due is None


def test_recording_a_visit_does_not_conflict_with_an_open_edit_of_the_case(world):
    """A visit is not an edit of the case record: the version an editor started from stays current."""
    w = world
    case = factories.case(w.caseworker)
    version = case.version
    _visit(w, case, TODAY - 2 * DAYS, TODAY + 5 * DAYS)
    db.session.commit()
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert (fresh.version, fresh.next_visit_due) == (version, TODAY + 5 * DAYS)
