"""Who may correct and delete (access.policies, one policy per action; docs/access.md): the record's author, the
caseworker the case is assigned to, a supervisor; counseling and placements never through a referral, reintegration
through it. Another organisation gets 404, a colleague outside the case 403, and nobody is offered a button the
policy would refuse."""

from __future__ import annotations

import pytest

from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from casemgmt.intake.models import Contact
from casemgmt.reintegration.models import MonitoringVisit, ServiceDelivered
from casemgmt.shelter.models import Placement
from tests import factories
from tests.conftest import signed_in
from tests.corrections.support import TODAY, revisions_of

PAGES = {
    "counseling session": (CounselingSession, lambda ids: ids.session,
                           lambda ids: f"/cases/{ids.case}/counseling/{ids.session}"),
    "shelter placement": (Placement, lambda ids: ids.placement,
                          lambda ids: f"/cases/{ids.case}/shelter/{ids.placement}"),
    "reintegration service": (ServiceDelivered, lambda ids: ids.service,
                              lambda ids: f"/cases/{ids.case}/reintegration/services/{ids.service}"),
    "monitoring visit": (MonitoringVisit, lambda ids: ids.visit,
                         lambda ids: f"/cases/{ids.case}/reintegration/visits/{ids.visit}"),
    "hotline contact": (Contact, lambda ids: ids.contact, lambda ids: f"/intake/contacts/{ids.contact}"),
}


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize(("username", "status"), [("caseworkerb", 403), ("caseworker2", 404), ("admin", 403)])
def test_others_can_neither_correct_nor_delete_nor_read_the_history(app, w, ids, name, username, status):
    model, record, base = PAGES[name]
    web = signed_in(app, username)
    assert web.get(f"{base(ids)}/correct").status_code == status
    assert web.post(f"{base(ids)}/correct", {"version": "1", "provider": "x"}).status_code == status
    assert web.post(f"{base(ids)}/delete", {"version": "1", "deletion_reason": "x"}).status_code == status
    # The history is for whoever may read the record now: a hotline contact is read by the whole organisation.
    readable = name == "hotline contact" and username == "caseworkerb"
    assert web.get(f"{base(ids)}/history").status_code == (200 if readable else status)
    with app.app_context():
        row = db.session.get(model, record(ids))
        assert row.deleted_at is None and revisions_of(record(ids)) == []


def test_a_colleague_who_may_see_sessions_is_not_offered_to_correct_them(app, w, ids):
    """Mission staff of the organisation see that sessions took place, never their notes: no button, and 403."""
    with app.app_context():
        factories.user(db.session.merge(w.ngo), "mission_staff", "ngomission")
    web = signed_in(app, "ngomission")
    page = web.get(f"/cases/{ids.case}/counseling")
    assert page.status_code == 200 and "Lic. Rosa Paredes" in page.get_data(as_text=True)
    assert "/correct" not in page.get_data(as_text=True)
    assert web.get(f"/cases/{ids.case}/counseling/{ids.session}/correct").status_code == 403
    owner = signed_in(app, "caseworker").get(f"/cases/{ids.case}/counseling").get_data(as_text=True)
    assert f"/counseling/{ids.session}/correct" in owner


def test_through_a_referral_the_mission_corrects_its_own_reintegration_records_only(app, w, ids):
    with app.test_request_context():
        case = db.session.get(factories.Case, ids.case)
        factories.accepted_referral(case, db.session.merge(w.mission_org), db.session.merge(w.mission))
        db.session.commit()
    mission = signed_in(app, "mission")
    page = mission.get(f"/cases/{ids.case}/reintegration").get_data(as_text=True)
    assert "Correct or delete" not in page  # the NGO's service and visit are not the mission's to correct
    assert mission.get(f"/cases/{ids.case}/reintegration/visits/{ids.visit}/correct").status_code == 403
    # Counseling and shelter are never reached through a referral.
    assert mission.get(f"/cases/{ids.case}/counseling/{ids.session}/correct").status_code == 403
    assert mission.get(f"/cases/{ids.case}/shelter/{ids.placement}/correct").status_code == 403
    # The mission's own visit: offered to it, corrected by it, and by the case's caseworker too.
    recorded = mission.post(f"/cases/{ids.case}/reintegration/visits", {
        "visited_on": str(TODAY), "visited_by_id": str(w.mission.id), "economic_score": "3", "social_score": "3",
        "psychosocial_score": "3"})
    assert recorded.status_code == 302
    with app.app_context():
        own = db.session.query(MonitoringVisit).filter(MonitoringVisit.recorded_by_id == w.mission.id).one().id
    page = mission.get(f"/cases/{ids.case}/reintegration").get_data(as_text=True)
    assert f"/visits/{own}/correct" in page and f"/visits/{ids.visit}/correct" not in page
    corrected = mission.post(f"/cases/{ids.case}/reintegration/visits/{own}/correct", {
        "visited_on": str(TODAY), "visited_by_id": str(w.mission.id), "economic_score": "4", "social_score": "3",
        "psychosocial_score": "3", "version": "1"})
    assert corrected.status_code == 302, corrected.get_data(as_text=True)
    caseworker = signed_in(app, "caseworker")
    assert caseworker.get(f"/cases/{ids.case}/reintegration/visits/{own}/correct").status_code == 200
    with app.app_context():
        assert db.session.get(MonitoringVisit, own).economic_score == 4


def test_a_closed_case_offers_no_reintegration_corrections(app, w, ids):
    with app.app_context():
        case = db.session.get(factories.Case, ids.case)
        case.stage = "closed"
        db.session.commit()
    web = signed_in(app, "caseworker")
    assert "Correct or delete" not in web.get(f"/cases/{ids.case}/reintegration").get_data(as_text=True)
    refused = web.post(f"/cases/{ids.case}/reintegration/visits/{ids.visit}/delete",
                       {"version": "1", "deletion_reason": "Duplicate."}, follow_redirects=True)
    assert "This case is closed" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(MonitoringVisit, ids.visit).deleted_at is None
