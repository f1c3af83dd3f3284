"""Edits never overwrite each other (issue 12, item 6): every editable record carries a version counter, and a save
made from an older version shows the conflict page (what you tried to save, what is saved now, who saved it and
when) instead of overwriting it, while the first save stays. A form sent twice is not a conflict with itself."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import text

from casemgmt.cases.models import Case
from casemgmt.consent import operations as consent_operations
from casemgmt.consent.models import ConsentRecord
from casemgmt.core import versions
from casemgmt.counseling import corrections as counseling_corrections
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from casemgmt.intake.models import Contact
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ServiceDelivered
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter.models import Facility, Placement
from casemgmt.tasks.models import Task
from tests import factories
from tests.conftest import signed_in, submission_token
from tests.corrections.support import DAYS, TODAY, revisions_of, version_on


@dataclass(frozen=True)
class Editable:
    """One kind of record, edited through its page by two people who opened it at the same version."""

    name: str
    page: object  # ids -> the URL of the page with the edit form
    post: object  # ids -> where the form is sent
    form: object  # (ids, w) -> the form as the page fills it in
    first: dict  # the change the first person saves
    second: dict  # the change the second person tries to save afterwards, from the same version
    saved: object  # (ids) -> {field: value now in the database} for the keys of `first` and `second`
    users: tuple[str, str] = ("caseworker", "supervisor")


def _get(model, record_id, *names):
    db.session.expire_all()
    row = db.session.get(model, record_id)
    return {name: getattr(row, name) for name in names}


def _session_saved(ids):
    return _get(CounselingSession, ids.session, "provider", "duration_minutes")


EDITABLE = [
    Editable(
        "counseling session",
        lambda ids: f"/cases/{ids.case}/counseling/{ids.session}/correct",
        lambda ids: f"/cases/{ids.case}/counseling/{ids.session}/correct",
        lambda ids, w: {"session_type": "psychosocial", "provider": "Lic. Rosa Paredes",
                        "held_on": str(TODAY - 2 * DAYS), "duration_minutes": "50",
                        "follow_up_on": str(TODAY + 3 * DAYS), "notes": "Refiere pesadillas y miedo a salir sola."},
        {"provider": "Ps. Martín Quiroga"}, {"duration_minutes": "90"}, _session_saved,
    ),
    Editable(
        "shelter placement",
        lambda ids: f"/cases/{ids.case}/shelter/{ids.placement}/correct",
        lambda ids: f"/cases/{ids.case}/shelter/{ids.placement}/correct",
        lambda ids, w: {"facility_id": str(ids.shelter), "admitted_on": str(TODAY - 10 * DAYS),
                        "reflection_period_until": str(TODAY + 20 * DAYS)},
        {"reflection_period_until": str(TODAY + 40 * DAYS)}, {"admitted_on": str(TODAY - 12 * DAYS)},
        lambda ids: {k: str(v) for k, v in _get(Placement, ids.placement, "reflection_period_until",
                                                "admitted_on").items()},
    ),
    Editable(
        "reintegration service",
        lambda ids: f"/cases/{ids.case}/reintegration/services/{ids.service}/correct",
        lambda ids: f"/cases/{ids.case}/reintegration/services/{ids.service}/correct",
        lambda ids, w: {"service_type": "Livelihood", "provider": "Coopérative du Nord", "amount": "250.50",
                        "currency": "USD", "delivered_on": str(TODAY - 5 * DAYS), "implemented": "y",
                        "note": "Oven bought"},
        {"amount": "300.00"}, {"provider": "Fonkoze"},
        lambda ids: {k: str(v) for k, v in _get(ServiceDelivered, ids.service, "amount", "provider").items()},
    ),
    Editable(
        "monitoring visit",
        lambda ids: f"/cases/{ids.case}/reintegration/visits/{ids.visit}/correct",
        lambda ids: f"/cases/{ids.case}/reintegration/visits/{ids.visit}/correct",
        lambda ids, w: {"visited_on": str(TODAY - 4 * DAYS), "visited_by_id": str(w.caseworker.id),
                        "economic_score": "4", "social_score": "3", "psychosocial_score": "2",
                        "observations": "Business running; sleeps better.",
                        "next_visit_due": str(TODAY + 5 * DAYS)},
        {"economic_score": "5"}, {"social_score": "1"},
        lambda ids: {k: str(v) for k, v in _get(MonitoringVisit, ids.visit, "economic_score",
                                                "social_score").items()},
    ),
    Editable(
        "hotline contact",
        lambda ids: f"/intake/contacts/{ids.contact}/correct",
        lambda ids: f"/intake/contacts/{ids.contact}/correct",
        None,  # read from the page: the moment is shown on the organisation's clock
        {"caller_type": "CommunityMember"}, {"channel": "chat"},
        lambda ids: _get(Contact, ids.contact, "caller_type", "channel"),
        users=("hotline", "supervisor"),
    ),
    Editable(
        "task",
        lambda ids: f"/tasks/{ids.task}/edit",
        lambda ids: f"/tasks/{ids.task}/edit",
        lambda ids, w: {"title": "Call the consulate", "description": "Ask for the passport copy.",
                        "due_on": str(TODAY + 2 * DAYS), "priority": "normal", "assignee_id": str(w.caseworker.id)},
        {"title": "Call the Peruvian consulate"}, {"priority": "high"},
        lambda ids: _get(Task, ids.task, "title", "priority"),
    ),
    Editable(
        "facility",
        lambda ids: f"/shelter/facilities/{ids.shelter}/edit",
        lambda ids: f"/shelter/facilities/{ids.shelter}/edit",
        lambda ids, w: {"name": "Casa Refugio", "facility_type": "shelter", "bed_capacity": "2", "age_group": "both",
                        "active": "y", "address": ""},
        {"bed_capacity": "6"}, {"name": "Casa Refugio Lima"},
        lambda ids: {k: str(v) for k, v in _get(Facility, ids.shelter, "bed_capacity", "name").items()},
        users=("supervisor", "supervisorb"),
    ),
    Editable(
        "reintegration plan",
        lambda ids: f"/cases/{ids.case}/reintegration",
        lambda ids: f"/cases/{ids.case}/reintegration/plan",
        lambda ids, w: {"created_on": str(TODAY - 20 * DAYS), "support_types": ["Livelihood", "Health"],
                        "objectives": "Open a bakery stall in Jacmel market.",
                        "planned_end_on": str(TODAY + 200 * DAYS), "actual_end_on": "",
                        "responsible_organisation_id": str(w.ngo.id), "plan_id": ids.plan},
        {"objectives": "Open a bakery stall in Jacmel market; school for the brother."},
        {"planned_end_on": str(TODAY + 100 * DAYS)},
        lambda ids: {k: str(v) for k, v in _get(ReintegrationPlan, ids.plan, "planned_end_on").items()},
    ),
    Editable(
        "return plan (risk assessment)",
        lambda ids: f"/cases/{ids.case}/return",
        lambda ids: f"/cases/{ids.case}/return/{ids.return_plan}/risk",
        lambda ids, w: {"risk_level": "medium", "risk_summary": "Recruiter still active near Jacmel.",
                        "risk_assessed_on": str(TODAY - 3 * DAYS)},
        {"risk_level": "low"}, {"risk_level": "high"},
        lambda ids: _get(ReturnPlan, ids.return_plan, "risk_level"),
    ),
]


def _contact_form(page: str) -> dict:
    import re

    found = dict(re.findall(r'name="(occurred_on|occurred_time)"[^>]*value="([^"]*)"', page))
    return {"channel": "phone", "call_type": "crisis", "caller_type": "FamilyOrFriend", "indicators": ["Debt"],
            "summary": "Caller's sister works in a textile workshop in Gamarra.", **found}


@pytest.mark.parametrize("kind", EDITABLE, ids=lambda k: k.name)
def test_the_second_save_from_the_same_version_shows_the_conflict_page_and_keeps_the_first(app, w, ids, kind):
    with app.app_context():
        factories.user(db.session.merge(w.ngo), "supervisor", "supervisorb")
    first, second = (signed_in(app, username) for username in kind.users)
    # Both open the form at the same version.
    page_a = first.get(kind.page(ids)).get_data(as_text=True)
    page_b = second.get(kind.page(ids)).get_data(as_text=True)
    version = version_on(page_a)
    assert version_on(page_b) == version
    form = _contact_form(page_a) if kind.form is None else kind.form(ids, w)
    saved = first.post(kind.post(ids), {**form, **kind.first, "version": version})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    clash = second.post(kind.post(ids), {**form, **kind.second, "version": version})
    assert clash.status_code == 409, clash.get_data(as_text=True)
    page = clash.get_data(as_text=True)
    assert "Your changes have not been saved" in page and "Saved now" in page
    assert first.username.title() in page  # who saved the version that is there now
    with app.app_context():
        now = kind.saved(ids)
    # The first save stays; the second person's change was not written.
    for field, value in kind.first.items():
        if field in now:
            assert str(now[field]) == value, (field, now)
    for field, value in kind.second.items():
        assert str(now[field]) != value, (field, now)
    # Saving again from the conflict page (which now carries the saved version) is a decision made knowingly.
    again = second.post(kind.post(ids), {**form, **kind.first, **kind.second, "version": version_on(page)})
    assert again.status_code == 302, again.get_data(as_text=True)
    with app.app_context():
        now = kind.saved(ids)
    for field, value in kind.second.items():
        assert str(now[field]) == value, (field, now)


def test_a_form_without_a_version_is_shown_the_conflict_not_saved(app, w, ids):
    web = signed_in(app, "caseworker")
    form = EDITABLE[0].form(ids, w)
    response = web.post(f"/cases/{ids.case}/counseling/{ids.session}/correct", {**form, "provider": "Someone"})
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(CounselingSession, ids.session).provider == "Lic. Rosa Paredes"


def test_the_same_correction_sent_twice_is_not_a_conflict_with_itself(app, w, ids):
    web = signed_in(app, "caseworker")
    token = submission_token(app, "caseworker")
    form = {**EDITABLE[0].form(ids, w), "provider": "Ps. Martín Quiroga", "version": "1", "submission_token": token}
    url = f"/cases/{ids.case}/counseling/{ids.session}/correct"
    assert web.post(url, form).status_code == 302
    again = web.post(url, form, follow_redirects=True)
    assert again.status_code == 200
    body = again.get_data(as_text=True)
    assert "This correction was already saved" in body and "Your changes have not been saved" not in body
    with app.app_context():
        assert db.session.get(CounselingSession, ids.session).version == 2
        assert len(revisions_of(ids.session)) == 1


def test_the_same_step_of_a_return_plan_sent_twice_is_not_a_conflict(app, w, ids):
    web = signed_in(app, "caseworker")
    url = f"/cases/{ids.case}/return/{ids.return_plan}/risk"
    form = {"risk_level": "low", "risk_summary": "No known threat.", "risk_assessed_on": str(TODAY), "version": "1"}
    assert web.post(url, form).status_code == 302
    assert web.post(url, form).status_code == 302  # the same values: nothing of anyone's is overwritten


def test_a_commit_between_read_and_write_is_a_conflict_too(app, w, ids):
    """The check before the change passes (the form's version is the one read); another worker's commit lands before
    the UPDATE, which then matches no row (UPDATE ... WHERE version = 1)."""
    with app.test_request_context():
        user = db.session.merge(w.caseworker)
        session = db.session.get(CounselingSession, ids.session)
        with db.engine.begin() as other:
            other.execute(text("UPDATE counseling_sessions SET version = version + 1, provider = 'Otra' "
                               "WHERE id = :id"), {"id": ids.session})
        values = {**counseling_corrections.snapshot(session), "duration_minutes": 60}
        with pytest.raises(versions.EditConflict) as raised:
            counseling_corrections.correct_session(user, session, values, 1)
        assert raised.value.record.version == 2 and raised.value.saved["provider"] == "Otra"
        db.session.rollback()
        assert db.session.get(CounselingSession, ids.session).duration_minutes == 50
        assert revisions_of(ids.session) == []


def test_a_step_taken_meanwhile_is_a_newer_version(app, w, ids):
    """Marking a task done (a conditional UPDATE, core.invariants.transition) moves its version: an edit opened before
    it and changing something is shown the conflict."""
    web = signed_in(app, "caseworker")
    version = version_on(web.get(f"/tasks/{ids.task}/edit").get_data(as_text=True))
    assert web.post(f"/tasks/{ids.task}/complete", {}).status_code == 302
    form = {**EDITABLE[5].form(ids, w), "title": "Call the Peruvian consulate", "version": version}
    assert web.post(f"/tasks/{ids.task}/edit", form).status_code == 409
    with app.app_context():
        task = db.session.get(Task, ids.task)
        assert task.version == 2 and task.title == "Call the consulate" and task.done_at is not None


def test_consent_records_carry_a_version_that_withdrawal_moves(app, w, ids):
    """Consent is withdrawn and recorded again, never rewritten (no edit form); its counter still moves."""
    with app.test_request_context():
        case = db.session.get(Case, ids.case)
        record = ConsentRecord(case_id=case.id, obtained_on=TODAY, obtained_by_id=w.caseworker.id, language="es",
                               point_interview=True, consents_to_share=True)
        db.session.add(record)
        db.session.commit()
        assert record.version == 1
        consent_operations.withdraw_consent(db.session.merge(w.caseworker), record, "Changed her mind.")
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(ConsentRecord, record.id).version >= 2


def test_amounts_compare_as_money(app, w, ids):
    assert versions.normalise(Decimal("250.5")) == versions.normalise(Decimal("250.50"))
