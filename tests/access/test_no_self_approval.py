"""Nobody approves what they requested (issue 10, finding 8): closure, return plan and transfer.

For each approval: the supervisor who asked gets 403 and nothing changes; their page offers no approve button and
says another supervisor decides; their home page does not list it under "Approvals waiting for me"; another
supervisor of the organisation sees it there and approves it. The rule is one policy (policies.not_own_request).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.access.policies import not_own_request
from casemgmt.accounts.models import AccountRequest, Organisation, User
from casemgmt.audit.models import AuditEvent
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.journey.models import ClosureRequest
from casemgmt.referrals.models import Transfer
from casemgmt.returns.models import ReturnPlan
from tests import factories
from tests.conftest import signed_in
from tests.returns.support import complete_plan, consent

REASON = "She found work near her sister in Arequipa and wants no further contact."
SAYS_WHY = "nobody approves what they requested"


def _refused(response) -> bool:
    """403, with the reason on the page."""
    return response.status_code == 403 and SAYS_WHY in response.get_data(as_text=True)


@pytest.fixture
def org(app):
    """An NGO with two supervisors and a caseworker, and a mission to hand cases to. Returns ids."""
    with app.test_request_context():
        ngo = factories.organisation("Casa Esperanza", "NGO", "PE")
        mission = factories.organisation("IOM Haiti", "Intergovernmental", "HT")
        boss = factories.user(ngo, "supervisor", "boss")
        factories.user(ngo, "supervisor", "boss2")
        factories.user(ngo, "caseworker", "caseworker")
        case = factories.case(boss)
        cases.change_stage(boss, case, "counseling", None)
        record = consent(case, boss)
        record.consents_to_share = True
        db.session.commit()
        found = {"case": case.id, "mission": mission.id, "reference": case.reference, "boss": boss.id}
        db.session.remove()
    return found




def _approvals(home_html: str) -> str:
    """The "Approvals waiting for me" section of the home page (empty when it is not shown)."""
    match = re.search(r'<section class="[^"]*work-approvals".*?</section>', home_html, re.S)
    return match.group(0) if match else ""


def _row(app, model, row_id):
    with app.app_context():
        row = db.session.get(model, row_id)
        db.session.expunge(row)
        return row


def _events(app, action: str) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_the_rule_is_one_policy_on_what_the_request_names(ctx):
    ngo = factories.organisation()
    boss, other = factories.user(ngo, "supervisor"), factories.user(ngo, "supervisor")
    case = factories.case(boss)
    for model, action in ((ClosureRequest, Action.CLOSURE_APPROVE), (Transfer, Action.TRANSFER_APPROVE)):
        mine = model(case=case, requested_by_id=boss.id)
        assert not not_own_request(boss, mine) and not allowed(boss, action, mine)
        assert allowed(other, action, mine)
    plan = ReturnPlan(case=case, submitted_by_id=boss.id)
    assert plan.requested_by_id == boss.id
    assert not allowed(boss, Action.RETURN_APPROVE, plan) and allowed(other, Action.RETURN_APPROVE, plan)
    newcomer = factories.user(ngo, "caseworker")
    account = AccountRequest(organisation_id=ngo.id, user_id=newcomer.id, requested_by_id=boss.id)
    assert not allowed(boss, Action.ACCOUNTS_APPROVE, account) and allowed(other, Action.ACCOUNTS_APPROVE, account)
    # The emergency fund: a request the supervisor made themselves waits for someone else (issue 14).
    from casemgmt.fund.models import FundRequest

    request = FundRequest(case=case, organisation_id=ngo.id, status="requested", requested_by_id=boss.id)
    assert not allowed(boss, Action.FUND_APPROVE, request) and allowed(other, Action.FUND_APPROVE, request)


def test_every_approval_is_one_of_those_tested_here():
    """An approval added later ("*.approve") must name its requester as requested_by_id and get its test here."""
    approvals = {str(a) for a in Action if str(a).endswith(".approve")}
    assert approvals == {"closure.approve", "return.approve", "transfer.approve", "accounts.approve", "fund.approve"}


def test_a_supervisor_cannot_approve_their_own_closure_request(app, org):
    boss = signed_in(app, "boss")
    case_id = org["case"]
    assert boss.post(f"/cases/{case_id}/closure", {"code": "completed", "reason": REASON}).status_code == 302
    with app.app_context():
        request_id = db.session.scalar(select(ClosureRequest.id).where(ClosureRequest.case_id == case_id))
    page = boss.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert "Approve and close the case" not in page and f"/closures/{request_id}/approve" not in page
    assert "waiting for another supervisor of your organisation" in page
    assert f"/cases/{case_id}/closure" not in _approvals(boss.get("/").get_data(as_text=True))

    for verb in ("approve", "reject"):
        assert _refused(boss.post(f"/closures/{request_id}/{verb}", {"note": "Fine by me."})), verb
    assert _row(app, ClosureRequest, request_id).status == "requested"
    assert _row(app, Case, case_id).stage == "counseling" and _events(app, "closure.approve") == 0

    other = signed_in(app, "boss2")
    assert f"/cases/{case_id}/closure" in _approvals(other.get("/").get_data(as_text=True))
    assert "Approve and close the case" in other.get(f"/cases/{case_id}/closure").get_data(as_text=True)
    assert other.post(f"/closures/{request_id}/approve", {"note": ""}).status_code == 302
    assert _row(app, ClosureRequest, request_id).status == "approved"
    assert _row(app, Case, case_id).stage == "closed"


def test_a_supervisor_cannot_approve_a_return_plan_they_submitted(app, org):
    case_id = org["case"]
    with app.test_request_context():
        boss = db.session.get(User, org["boss"])
        case = db.session.get(Case, case_id)
        plan = complete_plan(boss, case, db.session.get(Organisation, org["mission"]))
        db.session.commit()
        plan_id = plan.id
    web = signed_in(app, "boss")
    base = f"/cases/{case_id}/return/{plan_id}"
    assert web.post(f"{base}/submit").status_code == 302
    page = web.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert "Approve the return" not in page and f"{base}/approve" not in page
    assert "waiting for another supervisor of your organisation" in page
    assert f"/cases/{case_id}/return" not in _approvals(web.get("/").get_data(as_text=True))

    assert _refused(web.post(f"{base}/approve"))
    plan = _row(app, ReturnPlan, plan_id)
    assert (plan.status, plan.approved_by_id) == ("submitted", None) and _events(app, "return.approve") == 0

    other = signed_in(app, "boss2")
    assert f"/cases/{case_id}/return" in _approvals(other.get("/").get_data(as_text=True))
    assert "Approve the return" in other.get(f"/cases/{case_id}/return").get_data(as_text=True)
    assert other.post(f"{base}/approve").status_code == 302
    assert _row(app, ReturnPlan, plan_id).status == "approved"


def test_a_supervisor_cannot_approve_a_transfer_they_requested(app, org):
    case_id = org["case"]
    web = signed_in(app, "boss")
    response = web.post(f"/cases/{case_id}/transfers", {
        "transfer-to_organisation_id": str(org["mission"]), "transfer-transfer_reason": "The family lives in Haiti.",
        "transfer-consent_basis": "consent",
    })
    assert response.status_code == 302
    with app.app_context():
        transfer_id = db.session.scalar(select(Transfer.id).where(Transfer.case_id == case_id))
    base = f"/cases/{case_id}/transfers/{transfer_id}"
    page = web.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert f"{base}/approve" not in page and "Approve transfer" not in page
    assert "waiting for another supervisor of your organisation" in page and f"{base}/cancel" in page
    assert f"/cases/{case_id}/referrals" not in _approvals(web.get("/").get_data(as_text=True))

    for verb in ("approve", "reject"):
        assert _refused(web.post(f"{base}/{verb}", {"decision_note": ""})), verb
    assert _row(app, Transfer, transfer_id).status == "requested"
    assert _row(app, Case, case_id).organisation_id != org["mission"] and _events(app, "transfer.approve") == 0

    other = signed_in(app, "boss2")
    assert f"/cases/{case_id}/referrals" in _approvals(other.get("/").get_data(as_text=True))
    assert f"{base}/approve" in other.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert other.post(f"{base}/approve", {"decision_note": ""}).status_code == 302
    assert _row(app, Transfer, transfer_id).status == "approved"
    # Approved by the owning organisation, the transfer now waits for the receiving one: the case has not moved.
    assert _row(app, Case, case_id).organisation_id != org["mission"]


def test_a_caseworkers_request_still_reaches_every_supervisor(app, org):
    """The rule is about the requester only: a caseworker's closure request waits for both supervisors."""
    case_id = org["case"]
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        case.assigned_to_id = db.session.scalar(select(User.id).where(User.username == "caseworker"))
        db.session.commit()
    assert signed_in(app, "caseworker").post(f"/cases/{case_id}/closure", {"code": "completed", "reason": REASON}
                                       ).status_code == 302
    for username in ("boss", "boss2"):
        assert f"/cases/{case_id}/closure" in _approvals(signed_in(app, username).get("/").get_data(as_text=True))
