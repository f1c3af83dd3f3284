"""A closure request can be withdrawn (issue 12, item 6): by its requester or a supervisor of the organisation, with
an optional reason, audited, shown in the request history, and the case can be asked to close again."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from casemgmt.accounts.models import User
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.journey import operations
from casemgmt.journey.models import ClosureRequest
from tests import factories
from tests.journey.conftest import audit_events
from tests.reliability.test_invariants import afterwards, attempt, get, race

REASON = "She found work near her sister in Arequipa and wants no further contact."
WITHDRAW = "Withdraw the closure request"


def _requested(app, w, requester=None) -> tuple[str, str]:
    """A case in counseling with a closure request (by the caseworker unless said), and the request's id."""
    with app.app_context():
        case = factories.case(w.caseworker)
        cases.change_stage(w.caseworker, case, "counseling", None)
        request = operations.request_closure(requester or w.caseworker, case, "completed", REASON)
        db.session.commit()
        return case.id, request.id


def _row(app, request_id) -> ClosureRequest:
    with app.app_context():
        row = db.session.get(ClosureRequest, request_id)
        reason = unseal(row, "decision_note")
        db.session.expunge(row)
        row.withdrawal_reason = reason
        return row


def test_the_requester_withdraws_with_a_reason_and_may_ask_again(app, web, w):
    case_id, request_id = _requested(app, w)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert WITHDRAW in page and f"/closures/{request_id}/withdraw" in page
    response = web.post(f"/closures/{request_id}/withdraw", {"reason": "Her sister's offer fell through."},
                        follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Closure request withdrawn" in page
    row = _row(app, request_id)
    assert row.status == "withdrawn" and row.decided_by_id == w.caseworker.id and row.decided_at is not None
    assert row.withdrawal_reason == "Her sister's offer fell through."
    # The history says who withdrew it and why; the request form is offered again, the withdraw button is gone.
    assert "Withdrawn by" in page and "Her sister&#39;s offer fell through." in page
    assert WITHDRAW not in page and "Request closure" in page
    (event,) = audit_events(app, "closure.withdraw")
    assert event.case_id == case_id and event.object_id == request_id
    assert json.loads(event.details) == {"code": "completed", "reason_given": True}
    timeline = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert "Closure request withdrawn" in timeline
    # The one-pending-request rule counts waiting requests only: a new request is accepted.
    assert web.post(f"/cases/{case_id}/closure", {"code": "declined", "reason": REASON}).status_code == 302
    with app.app_context():
        statuses = sorted(db.session.scalars(select(ClosureRequest.status).where(ClosureRequest.case_id == case_id)))
        assert statuses == ["requested", "withdrawn"]
        assert db.session.get(Case, case_id).stage == "counseling"


def test_a_supervisor_may_withdraw_and_the_home_page_item_goes(app, web, w):
    case_id, request_id = _requested(app, w)
    web.login("supervisor")
    assert f"/cases/{case_id}/closure" in web.get("/").get_data(as_text=True)
    assert WITHDRAW in web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert web.post(f"/closures/{request_id}/withdraw", {"reason": ""}).status_code == 302
    row = _row(app, request_id)
    assert row.status == "withdrawn" and row.decided_by_id == w.supervisor.id and row.withdrawal_reason is None
    assert f"/cases/{case_id}/closure" not in web.get("/").get_data(as_text=True)
    (event,) = audit_events(app, "closure.withdraw")
    assert json.loads(event.details) == {"code": "completed", "reason_given": False}


def test_a_supervisors_own_request_can_be_withdrawn_by_them(app, web, w):
    case_id, request_id = _requested(app, w, requester=w.supervisor)
    web.login("supervisor")
    page = web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert "Approve and close the case" not in page and WITHDRAW in page
    assert web.post(f"/closures/{request_id}/withdraw", {}).status_code == 302
    assert _row(app, request_id).status == "withdrawn"


@pytest.mark.parametrize("username", ["caseworkerb", "hotline", "supervisor2", "caseworker2"])
def test_others_are_neither_offered_nor_allowed_to_withdraw(app, web, w, username):
    case_id, request_id = _requested(app, w)
    with app.app_context():
        # A colleague who may open the case and move its stage, but did not ask for the closure.
        factories.user(db.session.get(User, w.caseworker.id).organisation, "mission_staff", "missionx")
        db.session.commit()
    for who in (username, "missionx"):
        web.login(who)
        page = web.get(f"/cases/{case_id}/closure")
        assert WITHDRAW not in page.get_data(as_text=True)
        assert web.post(f"/closures/{request_id}/withdraw", {"reason": "Mine now."}).status_code in (403, 404), who
        web.logout()
    assert _row(app, request_id).status == "requested"
    assert audit_events(app, "closure.withdraw") == []


def test_a_decided_request_cannot_be_withdrawn_nor_a_withdrawn_one_decided(app, web, w):
    case_id, request_id = _requested(app, w)
    with app.app_context():
        operations.reject_closure(get(User, w.supervisor.id), get(ClosureRequest, request_id), "Not yet.")
        db.session.commit()
    web.login("caseworker")
    assert WITHDRAW not in web.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    page = web.post(f"/closures/{request_id}/withdraw", {}, follow_redirects=True).get_data(as_text=True)
    assert "already been decided" in page and _row(app, request_id).status == "rejected"

    case_id, request_id = _requested(app, w)
    assert web.post(f"/closures/{request_id}/withdraw", {}).status_code == 302
    web.logout()
    web.login("supervisor")
    page = web.post(f"/closures/{request_id}/approve", {"note": ""}, follow_redirects=True).get_data(as_text=True)
    assert "was withdrawn" in page
    with app.app_context():
        assert db.session.get(Case, case_id).stage == "counseling"
    assert _row(app, request_id).status == "withdrawn"


def test_a_reason_too_long_is_refused_and_nothing_changes(app, web, w):
    _case_id, request_id = _requested(app, w)
    web.login("caseworker")
    page = web.post(f"/closures/{request_id}/withdraw", {"reason": "x" * (operations.TEXT_MAX + 1)},
                    follow_redirects=True).get_data(as_text=True)
    assert "alert-danger" in page
    assert _row(app, request_id).status == "requested" and audit_events(app, "closure.withdraw") == []


def test_a_withdrawal_racing_an_approval_one_of_them_applies(app, w):
    """Each runs its conditional update on the still-waiting request at the same instant: one wins, the other is
    refused with a clear message, and the case is closed only when the approval won."""
    for _ in range(3):
        case_id, request_id = _requested(app, w)
        outcomes = race(app, [
            attempt(operations.withdraw_closure, w.caseworker.id, (ClosureRequest, request_id), "Changed my mind."),
            attempt(operations.approve_closure, w.supervisor.id, (ClosureRequest, request_id)),
        ], operations.JourneyError)
        assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "won"], outcomes
        assert all("already" in o or "withdrawn" in o for o in outcomes if o.startswith("refused")), outcomes
        with afterwards(app):
            status = get(ClosureRequest, request_id).status
            withdrawn = outcomes[0] == "won"
            assert status == ("withdrawn" if withdrawn else "approved")
            assert get(Case, case_id).stage == ("counseling" if withdrawn else "closed")
            withdrawals = [e for e in audit_events(app, "closure.withdraw") if e.object_id == request_id]
            assert len(withdrawals) == (1 if withdrawn else 0)


def test_a_withdrawal_that_read_the_request_before_an_approval_is_refused(app, w):
    """The page was read while the request waited; a supervisor approved it since. The withdrawal's update applies
    only to a request still waiting, so it does not turn an approval (and a closed case) into a withdrawal."""
    _case_id, request_id = _requested(app, w)
    with app.app_context():
        seen = get(ClosureRequest, request_id)
        assert seen.status == "requested"
        db.session.execute(update(ClosureRequest).where(ClosureRequest.id == request_id).values(status="approved")
                           .execution_options(synchronize_session=False))
        with pytest.raises(operations.JourneyError, match="already been decided or withdrawn"):
            operations.withdraw_closure(get(User, w.caseworker.id), seen, "Changed my mind.")
        db.session.rollback()
    assert audit_events(app, "closure.withdraw") == []


@pytest.mark.parametrize("reason", ["a\x00b", "\u202egnp.exe 🙂", b"\xff\xfe", "x" * 100_000])
def test_hostile_reasons_get_a_clear_answer_and_no_half_written_withdrawal(app, web, w, reason):
    """The form fuzzer reaches this form on a request its approval fuzzing has already decided; here each hostile
    reason meets a request still waiting."""
    _case_id, request_id = _requested(app, w)
    web.login("caseworker")
    response = web.post(f"/closures/{request_id}/withdraw", {"reason": reason})
    assert response.status_code == 302
    row = _row(app, request_id)
    withdrawals = audit_events(app, "closure.withdraw")
    if row.status == "withdrawn":
        assert len(withdrawals) == 1
        assert row.withdrawal_reason == reason or not isinstance(reason, str)  # the client sends bytes %-encoded
    else:
        assert row.status == "requested" and row.decided_at is None and withdrawals == []
