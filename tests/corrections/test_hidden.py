"""A deleted record is gone from every page, list, count, report, work list and the timeline; a deleted placement
frees its bed (issue 12, item 6). Each check is made before the deletion too, so it is known to see the record."""

from __future__ import annotations

from datetime import date

import pytest

from casemgmt.cases.models import Case
from casemgmt.counseling import corrections as counseling
from casemgmt.counseling import worklist as counseling_worklist
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from casemgmt.intake import corrections as intake
from casemgmt.intake import operations as intake_operations
from casemgmt.intake import queries as intake_queries
from casemgmt.intake import worklist as intake_worklist
from casemgmt.intake.models import Contact
from casemgmt.journey import queries as journey
from casemgmt.reintegration import corrections as reintegration
from casemgmt.reintegration import queries as reintegration_queries
from casemgmt.reintegration.models import MonitoringVisit, ServiceDelivered
from casemgmt.reports import dashboard, donor, figures
from casemgmt.reports.filters import ReportFilters
from casemgmt.shelter import corrections as shelter
from casemgmt.shelter import operations as shelter_operations
from casemgmt.shelter import queries as shelter_queries
from casemgmt.shelter import worklist as shelter_worklist
from casemgmt.shelter.models import Placement
from tests.corrections.support import TODAY

PERIOD = ReportFilters(start=date(TODAY.year - 1, 1, 1), end=TODAY)


@pytest.fixture
def rctx(app):
    with app.test_request_context():
        yield
        db.session.rollback()


def _user(w, name):
    return db.session.merge(getattr(w, name))


def _titles(w, case_id, who="supervisor") -> list[str]:
    return [e.title for e in journey.timeline(_user(w, who), db.session.get(Case, case_id))]


def _donor_line(w, key: str) -> int:
    report = donor.build(w.ngo.id, PERIOD)
    return next(line.count for line in report.services.lines if line.key == key)


def _dashboard(w):
    return dashboard.build(figures.FigureContext(w.ngo.id, PERIOD, TODAY))


def test_a_deleted_session_leaves_the_page_the_timeline_the_follow_ups_and_the_report(app, w, ids, rctx):
    case = db.session.get(Case, ids.case)
    assert [s.id for s in counseling_queries_sessions(case)] == [ids.session]
    assert "Psychosocial session" in _titles(w, ids.case)
    assert [i.title for i in counseling_worklist.items(_user(w, "caseworker"))] == [
        f"Psychosocial follow-up: {ids.reference}"]
    assert _donor_line(w, "service:counseling") == 1
    session = db.session.get(CounselingSession, ids.session)
    counseling.delete_session(_user(w, "caseworker"), session, "Recorded on the wrong case.", session.version)
    db.session.commit()
    assert counseling_queries_sessions(case) == []
    assert "Psychosocial session" not in _titles(w, ids.case)
    assert counseling_worklist.items(_user(w, "caseworker")) == []
    assert _donor_line(w, "service:counseling") == 0


def counseling_queries_sessions(case):
    from casemgmt.counseling import queries

    return queries.sessions_of(case)


def test_a_deleted_placement_frees_its_bed_everywhere_beds_are_counted(app, w, ids, rctx):
    refuge = db.session.get(shelter_operations.Facility, ids.shelter)
    assert shelter_operations.open_count(ids.shelter) == 1
    assert shelter_queries.occupancy([ids.shelter]) == {ids.shelter: 1}
    assert shelter_queries.occupants(_user(w, "supervisor"), refuge).total == 1
    assert [f.occupied for f in _dashboard(w).facilities if f.facility_id == ids.shelter] == [1]
    assert [i.url for i in shelter_worklist.items(_user(w, "caseworker"))] == []  # reflection ends in 20 days
    assert any(t.startswith("Admitted to") for t in _titles(w, ids.case))
    assert _donor_line(w, "service:shelter") == 1
    placement = db.session.get(Placement, ids.placement)
    shelter.delete_placement(_user(w, "caseworker"), placement, "Admitted the wrong person.", placement.version)
    db.session.commit()
    assert shelter_operations.open_count(ids.shelter) == 0
    assert shelter_queries.occupancy([ids.shelter]) == {}
    assert shelter_queries.occupants(_user(w, "supervisor"), refuge).total == 0
    assert [f.occupied for f in _dashboard(w).facilities if f.facility_id == ids.shelter] == [0]
    assert shelter_operations.current_placement(ids.case) is None
    assert not any(t.startswith("Admitted to") for t in _titles(w, ids.case))
    assert _donor_line(w, "service:shelter") == 0
    assert shelter_queries.placements_of(db.session.get(Case, ids.case)) == []
    # The person can be admitted again (one open placement per person counts live placements only).
    again = shelter_operations.admit(_user(w, "caseworker"), db.session.get(Case, ids.case), ids.shelter, TODAY)
    db.session.commit()
    assert again.is_open and shelter_operations.open_count(ids.shelter) == 1


def test_a_deleted_visit_leaves_the_averages_and_the_next_visit_due(app, w, ids, rctx):
    case = db.session.get(Case, ids.case)
    assert case.next_visit_due is not None
    board = _dashboard(w)
    assert board.sustainability.visits == 1 and board.headline.visits_due == 1
    assert "Monitoring visit" in _titles(w, ids.case)
    visit = db.session.get(MonitoringVisit, ids.visit)
    reintegration.delete_visit(_user(w, "caseworker"), visit, "Recorded twice.", visit.version)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Case, ids.case).next_visit_due is None
    board = _dashboard(w)
    assert board.sustainability.visits == 0 and board.sustainability.economic is None
    assert board.headline.visits_due == 0
    assert reintegration_queries.visits_of(ids.case) == []
    assert "Monitoring visit" not in _titles(w, ids.case)


def test_a_deleted_service_leaves_the_totals_the_timeline_and_the_report(app, w, ids, rctx):
    assert reintegration_queries.totals_by_currency(reintegration_queries.services_of(ids.case)) != []
    assert _donor_line(w, "service:Livelihood") == 1
    assert "Reintegration service" in _titles(w, ids.case)
    service = db.session.get(ServiceDelivered, ids.service)
    reintegration.delete_service(_user(w, "caseworker"), service, "Paid by another programme.", service.version)
    db.session.commit()
    assert reintegration_queries.totals_by_currency(reintegration_queries.services_of(ids.case)) == []
    assert _donor_line(w, "service:Livelihood") == 0
    assert "Reintegration service" not in _titles(w, ids.case)


def test_a_deleted_contact_leaves_the_queue_the_crisis_list_the_case_and_the_timeline(app, w, ids, rctx):
    hotline = _user(w, "hotline")
    waiting = intake_operations.log_contact(hotline, {"channel": "chat", "call_type": "crisis"})
    db.session.commit()
    queue = {c.id for c in db.session.scalars(intake_queries.queue_query(hotline))}
    assert {ids.contact, waiting.id} <= queue
    assert [i.url for i in intake_worklist.items(hotline)] == [f"/intake/contacts/{waiting.id}"]
    assert [c.id for c in intake_queries.contacts_of_case(_user(w, "caseworker"), ids.case)] == [ids.contact]
    assert any(t.startswith("Hotline contact") for t in _titles(w, ids.case))
    for contact_id in (ids.contact, waiting.id):
        contact = db.session.get(Contact, contact_id)
        intake.delete_contact(hotline, contact, "Test call from the trainer.", contact.version)
    db.session.commit()
    assert ids.contact not in {c.id for c in db.session.scalars(intake_queries.queue_query(hotline))}
    assert intake_worklist.items(hotline) == []
    assert intake_queries.contacts_of_case(_user(w, "caseworker"), ids.case) == []
    assert not any(t.startswith("Hotline contact") for t in _titles(w, ids.case))
    with pytest.raises(Exception) as gone:
        intake_queries.contact_for(hotline, ids.contact)
    assert getattr(gone.value, "code", None) == 404
