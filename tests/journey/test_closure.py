"""Closure needs a reason and a supervisor's approval; reopening is possible, saying why."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case, StageChange
from casemgmt.extensions import db
from casemgmt.journey import operations
from casemgmt.journey.models import ClosureRequest
from tests import factories
from tests.journey.conftest import audit_events

GUARD_MESSAGE = "Closing a case needs a supervisor&#39;s approval. Request the closure from the case page."
REASON = "She found work near her sister in Arequipa and wants no further contact."


def _case(app, w, stage: str = "counseling") -> str:
    with app.app_context():
        case = factories.case(w.caseworker)
        cases.change_stage(w.caseworker, case, stage, None)
        db.session.commit()
        return case.id


def _request(web, case_id, code="completed", reason=REASON):
    return web.post(f"/cases/{case_id}/closure", {"code": code, "reason": reason})


def _pending_id(app, case_id) -> str:
    with app.app_context():
        return db.session.scalar(
            select(ClosureRequest.id).where(ClosureRequest.case_id == case_id, ClosureRequest.status == "requested"))


def _case_row(app, case_id) -> Case:
    with app.app_context():
        case = db.session.get(Case, case_id)
        db.session.expunge(case)
        return case


@pytest.mark.parametrize(("code", "status"), [("completed", "Closed"), ("referred", "ClosedReferred")])
def test_caseworker_requests_supervisor_approves_and_the_case_is_closed(app, web, w, code, status):
    case_id = _case(app, w)
    web.login("caseworker")
    response = _request(web, case_id, code)
    assert response.status_code == 302
    page = web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert "waiting" in page.lower() and REASON in page
    assert "Approve and close the case" not in page  # a caseworker cannot decide
    request_id = _pending_id(app, case_id)
    web.logout()

    web.login("supervisor")
    home = web.get("/").get_data(as_text=True)
    assert "Approvals waiting for me" in home and f"/cases/{case_id}/closure" in home
    approve = web.post(f"/closures/{request_id}/approve", {"note": "Agreed; file complete."}, follow_redirects=True)
    assert "Closure approved: the case is closed." in approve.get_data(as_text=True)

    case = _case_row(app, case_id)
    assert (case.stage, case.status) == ("closed", status)
    with app.app_context():
        change = db.session.scalars(
            select(StageChange).where(StageChange.case_id == case_id, StageChange.to_stage == "closed")).one()
        assert change.changed_by_id == w.supervisor.id
        assert cases.stage_history(db.session.get(Case, case_id), reveal_reasons=True)[-1]["reason"] == REASON
        req = db.session.get(ClosureRequest, request_id)
        assert (req.status, req.decided_by_id, req.stage_change_id) == ("approved", w.supervisor.id, change.id)
        # Reason and note are encrypted at rest.
        raw = b"".join(bytes(v) for v in db.session.execute(
            text("SELECT reason, decision_note FROM closure_requests")).one())
        assert b"Arequipa" not in raw and b"file complete" not in raw
    assert [e.details for e in audit_events(app, "closure.request")] == [f'{{"code":"{code}"}}']
    approved = audit_events(app, "closure.approve")
    assert len(approved) == 1 and f'"status":"{status}"' in approved[0].details and "Agreed" not in approved[0].details
    assert "Approvals waiting for me" in web.get("/").get_data(as_text=True)
    assert f"/cases/{case_id}/closure" not in web.get("/").get_data(as_text=True)


def test_a_rejection_needs_a_note_and_keeps_the_case_open(app, web, w):
    case_id = _case(app, w)
    web.login("caseworker")
    _request(web, case_id)
    request_id = _pending_id(app, case_id)
    web.logout()
    web.login("supervisor")
    no_note = web.post(f"/closures/{request_id}/reject", {"note": " "}, follow_redirects=True)
    assert "Say why the closure is refused" in no_note.get_data(as_text=True)
    assert _pending_id(app, case_id) == request_id
    refused = web.post(f"/closures/{request_id}/reject", {"note": "Legal case still open."}, follow_redirects=True)
    assert "Closure refused: the case stays open." in refused.get_data(as_text=True)
    assert _case_row(app, case_id).stage == "counseling"
    twice = web.post(f"/closures/{request_id}/approve", {}, follow_redirects=True)
    assert "already been decided" in twice.get_data(as_text=True)
    assert _case_row(app, case_id).stage == "counseling"
    assert len(audit_events(app, "closure.reject")) == 1
    # The caseworker sees why, and may ask again.
    web.logout()
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert "Legal case still open." in page and "Request closure" in page


def test_a_closure_request_needs_a_code_and_a_reason(app, web, w):
    case_id = _case(app, w)
    web.login("caseworker")
    for data, message in [
        ({"code": "completed", "reason": ""}, "Say why: closing a case needs a reason."),
        ({"code": "", "reason": REASON}, "Choose why the case is to be closed."),
        ({"code": "bored", "reason": REASON}, "Not a valid choice."),
        ({"code": "completed", "reason": "x" * 2001}, "Field cannot be longer than 2000 characters."),
    ]:
        response = web.post(f"/cases/{case_id}/closure", data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClosureRequest)) == 0


def test_one_pending_request_at_a_time_and_none_on_a_closed_case(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    operations.request_closure(w.caseworker, case, "completed", REASON)
    with pytest.raises(operations.JourneyError, match="already waiting for a supervisor"):
        operations.request_closure(w.caseworker, case, "declined", REASON)
    pending = db.session.scalars(select(ClosureRequest)).one()
    operations.approve_closure(w.supervisor, pending)
    db.session.commit()
    with pytest.raises(operations.JourneyError, match="already closed"):
        operations.request_closure(w.caseworker, case, "completed", REASON)


def test_the_plain_stage_form_cannot_close_without_approval(app, web, w):
    case_id = _case(app, w)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    # The case page says so before anyone tries: no "closed" option, a link to request closure instead.
    assert '<option value="closed">' not in page and f"/cases/{case_id}/closure" in page
    response = web.post(f"/cases/{case_id}/stage", {"to_stage": "closed", "reason": REASON}, follow_redirects=True)
    assert GUARD_MESSAGE in response.get_data(as_text=True)
    assert _case_row(app, case_id).stage == "counseling"
    web.logout()
    web.login("supervisor")  # not even a supervisor skips the request
    response = web.post(f"/cases/{case_id}/stage", {"to_stage": "closed", "reason": REASON}, follow_redirects=True)
    assert GUARD_MESSAGE in response.get_data(as_text=True)
    assert _case_row(app, case_id).stage == "counseling"


def test_only_a_supervisor_of_the_organisation_may_decide(app, web, w):
    case_id = _case(app, w)
    web.login("caseworker")
    _request(web, case_id)
    request_id = _pending_id(app, case_id)
    assert web.post(f"/closures/{request_id}/approve", {}).status_code == 403
    assert web.post(f"/closures/{request_id}/reject", {"note": "no"}).status_code == 403
    web.logout()
    web.login("supervisor2")
    assert web.post(f"/closures/{request_id}/approve", {}).status_code == 404
    assert web.get(f"/cases/{case_id}/closure").status_code == 404
    web.logout()
    web.login("mission")
    assert web.post(f"/closures/{request_id}/approve", {}).status_code == 403
    web.logout()
    web.login("hotline")
    assert web.get(f"/cases/{case_id}/closure").status_code == 403
    assert _pending_id(app, case_id) == request_id
    assert _case_row(app, case_id).stage == "counseling"


def test_reopening_needs_a_reason_and_an_old_approval_does_not_close_again(app, web, w):
    case_id = _case(app, w)
    with app.app_context():
        case = db.session.get(Case, case_id)
        operations.approve_closure(w.supervisor, operations.request_closure(w.caseworker, case, "lost_contact", REASON))
        db.session.commit()
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert '<option value="intake">' in page and "say why" in page
    no_reason = web.post(f"/cases/{case_id}/stage", {"to_stage": "intake", "reason": ""}, follow_redirects=True)
    assert "closing or reopening a case needs a reason" in no_reason.get_data(as_text=True)
    assert _case_row(app, case_id).stage == "closed"
    back = web.post(f"/cases/{case_id}/stage", {"to_stage": "counseling", "reason": "She called again."},
                    follow_redirects=True)
    assert "She called again." in back.get_data(as_text=True)
    case = _case_row(app, case_id)
    assert (case.stage, case.status) == ("counseling", "Active")
    again = web.post(f"/cases/{case_id}/stage", {"to_stage": "closed", "reason": REASON}, follow_redirects=True)
    assert GUARD_MESSAGE in again.get_data(as_text=True)
    assert _case_row(app, case_id).stage == "counseling"


def test_an_earlier_closure_can_be_recorded_once(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    with pytest.raises(operations.JourneyError, match="Only a closed case"):
        operations.record_earlier_closure(w.supervisor, case, "completed", REASON)
    operations.approve_closure(w.supervisor, operations.request_closure(w.caseworker, case, "completed", REASON))
    db.session.commit()
    with pytest.raises(operations.JourneyError, match="already recorded"):
        operations.record_earlier_closure(w.supervisor, case, "completed", REASON)
