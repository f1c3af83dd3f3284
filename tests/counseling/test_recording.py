"""Recording a session: validation, encryption at rest, audit, who may record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from casemgmt.counseling import operations
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import events
from tests.counseling.support import TODAY, session, session_count

NOTES = "Habló por primera vez de la deuda con el reclutador en Pucallpa."


def _form(**overrides) -> dict:
    data = {"session_type": "legal", "provider": "Dra. Carmen Vela", "held_on": TODAY.isoformat(),
            "duration_minutes": "45", "follow_up_on": (TODAY + timedelta(days=7)).isoformat(), "notes": NOTES}
    data.update(overrides)
    return data


@pytest.fixture
def case_id(app, w):
    with app.app_context():
        return factories.case(w.caseworker).id


def test_the_assigned_caseworker_records_a_session_encrypted_and_audited(app, web, w, case_id):
    web.login("caseworker")
    assert web.get(f"/cases/{case_id}/counseling/new").status_code == 200
    response = web.post(f"/cases/{case_id}/counseling/new", _form())
    assert response.status_code == 302, response.get_data(as_text=True)
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert NOTES in page and "Dra. Carmen Vela" in page and "45 minutes" in page
    with app.app_context():
        row = db.session.query(CounselingSession).one()
        assert (row.session_type, row.duration_minutes, row.author_id, row.follow_up_on) == (
            "legal", 45, w.caseworker.id, TODAY + timedelta(days=7))
        [recorded] = events("counseling.record")
        assert recorded.case_id == case_id and recorded.object_id == row.id
        assert "notes" in recorded.details and "Pucallpa" not in recorded.details
        raw = db.session.execute(text("SELECT notes FROM counseling_sessions")).scalar_one()
        assert b"Pucallpa" not in bytes(raw) and "Pucallpa".encode("utf-16-le") not in bytes(raw)
        dump = " ".join(str(v) for v in db.session.execute(text("SELECT * FROM counseling_sessions")).one())
        assert "Pucallpa" not in dump


BAD_INPUT = [
    ("session_type", "", "This field is required."),
    ("session_type", "spiritual", "Not a valid choice."),
    ("provider", "  ", "This field is required."),
    ("provider", "x" * 201, "Field cannot be longer than 200 characters."),
    ("held_on", "", "This field is required."),
    ("held_on", "2024-13-40", "Not a valid date value."),
    ("held_on", "+1", "This date is in the future."),
    ("duration_minutes", "0", "Between 1 and 600 minutes."),
    ("duration_minutes", "601", "Between 1 and 600 minutes."),
    ("duration_minutes", "an hour", "Not a valid integer value."),
    ("duration_minutes", "", "This field is required."),
    ("follow_up_on", "-1", "The follow-up cannot be before the session."),
    ("follow_up_on", "someday", "Not a valid date value."),
]


def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(app, web, w, case_id):
    # One login for all the cases keeps the suite fast; each case names itself when it fails.
    web.login("caseworker")
    for field, value, message in BAD_INPUT:
        if value[:1] in "+-" and value[1:].isdigit():
            value = (TODAY + timedelta(days=int(value))).isoformat()
        response = web.post(f"/cases/{case_id}/counseling/new", _form(**{field: value}))
        assert response.status_code == 422, (field, value)
        assert message in response.get_data(as_text=True), (field, value)
    with app.app_context():
        assert session_count() == 0
        assert events("counseling.record") == []


def test_the_operation_refuses_bad_values_from_any_caller(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    good = {"session_type": "medical", "provider": "Centro de Salud Lince", "held_on": TODAY,
            "duration_minutes": 30, "follow_up_on": None, "notes": None}
    for change, message in [
        ({"session_type": "x"}, "type of session"),
        ({"provider": " "}, "who provided"),
        ({"held_on": None}, "date the session was held"),
        ({"held_on": TODAY + timedelta(days=1)}, "in the future"),
        ({"duration_minutes": 0}, "between 1 and 600"),
        ({"duration_minutes": True}, "between 1 and 600"),
        ({"follow_up_on": TODAY - timedelta(days=1)}, "follow-up cannot be before"),
    ]:
        with pytest.raises(operations.CounselingError, match=message):
            operations.record_session(w.caseworker, case, {**good, **change})
    db.session.rollback()
    assert session_count() == 0
    # A session without notes is fine, and stores no ciphertext.
    assert session(w.caseworker, case, notes="  ").notes is None


def test_who_may_record(app, web, w, case_id):
    with app.app_context():
        mission_case = factories.case(w.mission).id
        other_org = factories.case(w.caseworker2).id
    for username, url, status in [
        ("caseworkerb", f"/cases/{case_id}/counseling/new", 403),  # same organisation, not their case
        ("hotline", f"/cases/{case_id}/counseling/new", 403),
        ("mission", f"/cases/{mission_case}/counseling/new", 403),  # mission staff do not record counseling
        ("caseworker2", f"/cases/{case_id}/counseling/new", 404),
        ("caseworker", f"/cases/{other_org}/counseling/new", 404),
        ("caseworker", "/cases/nope/counseling/new", 404),
    ]:
        web.login(username)
        assert web.post(url, _form()).status_code == status, (username, url)
        web.logout()
    with app.app_context():
        assert session_count() == 0
    web.login("supervisor")
    assert web.post(f"/cases/{case_id}/counseling/new", _form()).status_code == 302
