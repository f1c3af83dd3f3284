"""Correcting and deleting recorded facts with a reason (issue 12, item 6): sessions, placements, services, visits
and hotline contacts. Each correction and deletion keeps the version it replaced, encrypted under the case's key,
readable by those allowed; its audit event names the fields and the revision, never a value; a deletion keeps the
row, marked with who, when and why (the reason encrypted)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select, text

from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from casemgmt.intake.models import Contact
from casemgmt.reintegration.models import MonitoringVisit, ServiceDelivered
from casemgmt.revisions.models import RecordRevision
from casemgmt.shelter.models import Placement
from tests.conftest import signed_in
from tests.corrections.support import DAYS, NOTES, OBSERVATIONS, SUMMARY, TODAY, events, revisions_of, version_on


@dataclass(frozen=True)
class Correctable:
    name: str
    model: type
    record: object  # ids -> the record's id
    correct: object  # ids -> the correction page
    delete: object  # ids -> where the deletion is sent
    history: object  # ids -> the history page
    listed: object  # ids -> a page that lists it
    form: object  # (ids, w, page) -> the correction form as the page fills it in
    change: dict  # a correction
    secret: str  # a value of the version replaced, which the audit trail must never hold
    events: tuple[str, str]
    user: str = "caseworker"


def _contact_form(ids, w, page):
    import re

    found = dict(re.findall(r'name="(occurred_on|occurred_time)"[^>]*value="([^"]*)"', page))
    return {"channel": "phone", "call_type": "crisis", "caller_type": "FamilyOrFriend", "indicators": ["Debt"],
            "summary": SUMMARY, **found}


KINDS = [
    Correctable(
        "counseling session", CounselingSession, lambda ids: ids.session,
        lambda ids: f"/cases/{ids.case}/counseling/{ids.session}/correct",
        lambda ids: f"/cases/{ids.case}/counseling/{ids.session}/delete",
        lambda ids: f"/cases/{ids.case}/counseling/{ids.session}/history",
        lambda ids: f"/cases/{ids.case}/counseling",
        lambda ids, w, page: {"session_type": "psychosocial", "provider": "Lic. Rosa Paredes",
                              "held_on": str(TODAY - 2 * DAYS), "duration_minutes": "50",
                              "follow_up_on": str(TODAY + 3 * DAYS), "notes": NOTES},
        {"notes": "Refiere pesadillas; duerme mejor con la rutina."}, NOTES,
        ("counseling.correct", "counseling.delete"),
    ),
    Correctable(
        "shelter placement", Placement, lambda ids: ids.placement,
        lambda ids: f"/cases/{ids.case}/shelter/{ids.placement}/correct",
        lambda ids: f"/cases/{ids.case}/shelter/{ids.placement}/delete",
        lambda ids: f"/cases/{ids.case}/shelter/{ids.placement}/history",
        lambda ids: f"/cases/{ids.case}/shelter",
        lambda ids, w, page: {"facility_id": str(ids.shelter), "admitted_on": str(TODAY - 10 * DAYS),
                              "reflection_period_until": str(TODAY + 20 * DAYS)},
        {"facility_id": None}, "Casa Refugio", ("placement.correct", "placement.delete"),
    ),
    Correctable(
        "reintegration service", ServiceDelivered, lambda ids: ids.service,
        lambda ids: f"/cases/{ids.case}/reintegration/services/{ids.service}/correct",
        lambda ids: f"/cases/{ids.case}/reintegration/services/{ids.service}/delete",
        lambda ids: f"/cases/{ids.case}/reintegration/services/{ids.service}/history",
        lambda ids: f"/cases/{ids.case}/reintegration",
        lambda ids, w, page: {"service_type": "Livelihood", "provider": "Coopérative du Nord", "amount": "250.50",
                              "currency": "USD", "delivered_on": str(TODAY - 5 * DAYS), "implemented": "y",
                              "note": "Oven bought"},
        {"note": "Oven and flour bought"}, "Oven bought",
        ("reintegration.service_correct", "reintegration.service_delete"),
    ),
    Correctable(
        "monitoring visit", MonitoringVisit, lambda ids: ids.visit,
        lambda ids: f"/cases/{ids.case}/reintegration/visits/{ids.visit}/correct",
        lambda ids: f"/cases/{ids.case}/reintegration/visits/{ids.visit}/delete",
        lambda ids: f"/cases/{ids.case}/reintegration/visits/{ids.visit}/history",
        lambda ids: f"/cases/{ids.case}/reintegration",
        lambda ids, w, page: {"visited_on": str(TODAY - 4 * DAYS), "visited_by_id": str(w.caseworker.id),
                              "economic_score": "4", "social_score": "3", "psychosocial_score": "2",
                              "observations": OBSERVATIONS, "next_visit_due": str(TODAY + 5 * DAYS)},
        {"observations": "Business running; sleeps badly again."}, OBSERVATIONS,
        ("reintegration.visit_correct", "reintegration.visit_delete"),
    ),
    Correctable(
        "hotline contact", Contact, lambda ids: ids.contact,
        lambda ids: f"/intake/contacts/{ids.contact}/correct",
        lambda ids: f"/intake/contacts/{ids.contact}/delete",
        lambda ids: f"/intake/contacts/{ids.contact}/history",
        lambda ids: "/intake/",
        # (the summary's words, not its apostrophe, which a page escapes)
        _contact_form, {"summary": "Caller's sister works in a garment workshop in Gamarra."}, "textile workshop",
        ("contact.correct", "contact.delete"), user="hotline",
    ),
]


def _change(kind, ids) -> dict:
    # The placement moves to the other facility of the organisation.
    return {"facility_id": str(ids.other_shelter)} if kind.name == "shelter placement" else kind.change


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_correction_keeps_the_earlier_version_encrypted_and_audits_field_names_only(app, w, ids, kind):
    web = signed_in(app, kind.user)
    page = web.get(kind.correct(ids)).get_data(as_text=True)
    version = int(version_on(page))  # a contact attached to a case has moved on from 1: attaching changed it
    form = {**kind.form(ids, w, page), **_change(kind, ids), "version": str(version),
            "correction_reason": "Typed into the wrong field."}
    saved = web.post(kind.correct(ids), form)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    record_id = kind.record(ids)
    with app.test_request_context():
        record = db.session.get(kind.model, record_id)
        assert record.version == version + 1 and record.deleted_at is None
        (revision,) = revisions_of(record_id)
        assert (revision.change, revision.version, revision.case_id) == ("correct", version, ids.case)
        # At rest the earlier version and the reason are ciphertext.
        raw = db.session.execute(text("SELECT content, reason FROM record_revisions WHERE id = :id"),
                                 {"id": revision.id}).one()
        assert kind.secret.encode() not in bytes(raw[0]) and b"wrong field" not in bytes(raw[1])
        (event,) = events(kind.events[0])
        details = json.loads(event.details)
        assert details["revision"] == revision.id
        assert (details["from_version"], details["to_version"]) == (version, version + 1)
        assert set(details["fields"]) == set(_change(kind, ids))
        assert kind.secret not in event.details and "wrong field" not in event.details
    # The earlier version is readable on the history page by those allowed, with the reason.
    history = web.get(kind.history(ids))
    assert history.status_code == 200
    body = history.get_data(as_text=True)
    assert kind.secret in body and "Typed into the wrong field." in body
    with app.app_context():
        assert events("revision.view")[-1].details == '{"revisions":1}'


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_deletion_needs_a_reason_keeps_the_row_and_hides_it(app, w, ids, kind):
    web = signed_in(app, kind.user)
    record_id = kind.record(ids)
    # The list links to the record (its page, or its correction page) by its id.
    assert record_id in web.get(kind.listed(ids)).get_data(as_text=True)
    version = version_on(web.get(kind.correct(ids)).get_data(as_text=True))
    refused = web.post(kind.delete(ids), {"version": version, "deletion_reason": "  "}, follow_redirects=True)
    assert "Say why the record is deleted." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(kind.model, record_id).deleted_at is None and revisions_of(record_id) == []
    deleted = web.post(kind.delete(ids), {"version": version, "deletion_reason": "Recorded on the wrong case."})
    assert deleted.status_code == 302
    with app.test_request_context():
        record = db.session.get(kind.model, record_id)
        assert record.deleted_at is not None and record.deleted_by_id == getattr(w, kind.user).id
        raw = db.session.scalar(select(kind.model.__table__.c.deletion_reason)
                                .where(kind.model.__table__.c.id == record_id))
        assert b"wrong case" not in raw.blob
        (revision,) = revisions_of(record_id)
        assert revision.change == "delete"
        (event,) = events(kind.events[1])
        assert json.loads(event.details)["revision"] == revision.id and "wrong case" not in event.details
    # Gone from the pages: the list, the record's own pages.
    assert record_id not in web.get(kind.listed(ids)).get_data(as_text=True)
    assert web.get(kind.correct(ids)).status_code == 404
    # Its history still says what it was, and who deleted it and why.
    history = web.get(kind.history(ids)).get_data(as_text=True)
    assert "Recorded on the wrong case." in history and kind.secret in history and "was deleted on" in history


def test_a_correction_sent_after_the_record_was_deleted_says_so(app, w, ids):
    alice, bob = signed_in(app, "caseworker"), signed_in(app, "supervisor")
    kind = KINDS[0]
    page = alice.get(kind.correct(ids)).get_data(as_text=True)
    assert bob.post(kind.delete(ids), {"version": "1", "deletion_reason": "Duplicate."}).status_code == 302
    late = alice.post(kind.correct(ids), {**kind.form(ids, w, page), "provider": "Otra", "version": "1"})
    assert late.status_code == 409
    body = late.get_data(as_text=True)
    assert "has been deleted since you opened it" in body and "Save the correction" not in body
    with app.app_context():
        assert db.session.get(CounselingSession, ids.session).provider == "Lic. Rosa Paredes"


def test_a_deletion_from_an_older_version_is_refused(app, w, ids):
    web = signed_in(app, "caseworker")
    kind = KINDS[0]
    page = web.get(kind.correct(ids)).get_data(as_text=True)
    form = {**kind.form(ids, w, page), "provider": "Otra", "version": "1"}
    assert web.post(kind.correct(ids), form).status_code == 302
    stale = web.post(kind.delete(ids), {"version": "1", "deletion_reason": "Duplicate."}, follow_redirects=True)
    assert "Someone else changed or deleted this session after you opened it" in stale.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CounselingSession, ids.session).deleted_at is None


def test_a_stay_still_going_is_not_ended_by_a_correction(app, w, ids):
    web = signed_in(app, "caseworker")
    kind = KINDS[1]
    page = web.get(kind.correct(ids)).get_data(as_text=True)
    assert 'name="discharged_on"' not in page  # the discharge form records the end, not a correction
    form = {**kind.form(ids, w, page), "version": "1", "discharged_on": str(TODAY), "discharge_reason": "other"}
    assert web.post(kind.correct(ids), form).status_code == 302  # the fields are not on the form: ignored
    with app.app_context():
        assert db.session.get(Placement, ids.placement).discharged_on is None


def test_moving_a_stay_to_a_full_facility_is_refused(app, w, ids):
    from tests import factories
    from tests.shelter.support import admit

    with app.test_request_context():
        admit(db.session.merge(w.caseworker), factories.case(db.session.merge(w.caseworker)), ids.other_shelter)
    web = signed_in(app, "caseworker")
    kind = KINDS[1]
    page = web.get(kind.correct(ids)).get_data(as_text=True)
    response = web.post(kind.correct(ids), {**kind.form(ids, w, page), "facility_id": str(ids.other_shelter),
                                            "version": "1"})
    assert response.status_code == 422 and "Casa Aurora is full" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Placement, ids.placement).facility_id == ids.shelter
        assert db.session.scalars(select(RecordRevision)).all() == []
