"""Transfers of ownership: requested by a case worker, decided by a supervisor of the owning organisation."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.referrals import worklist
from casemgmt.referrals.models import Transfer
from tests.auth.support import new_web
from tests.referrals.conftest import events, new_case


def _request(web, case_id, to_org, **extra):
    data = {"to_organisation_id": str(to_org), "transfer_reason": "She moves to Bogotá, where Camino Seguro works.",
            "consent_basis": "consent"}
    data.update(extra)
    token = web.token("/account")
    fields = {f"transfer-{name}": value for name, value in data.items()}
    return web.post(f"/cases/{case_id}/transfers", {**fields, "transfer-csrf_token": token})


def _transfer(app, case_id) -> Transfer | None:
    with app.app_context():
        return db.session.scalar(select(Transfer).where(Transfer.case_id == case_id))


def _url(case_id, transfer_id, verb):
    return f"/cases/{case_id}/transfers/{transfer_id}/{verb}"


def test_supervisor_approval_moves_the_case_and_the_sender_loses_access(app, web, w):
    case_id = new_case(app, w.caseworker, assigned_to_id=w.caseworker.id)
    web.login("caseworker")
    assert _request(web, case_id, w.ngo2.id).status_code == 302
    transfer = _transfer(app, case_id)
    assert transfer.status == "requested"
    # The caseworker may not approve; another organisation's supervisor does not see it.
    assert web.post(_url(case_id, transfer.id, "approve"), token_page=f"/cases/{case_id}/referrals").status_code == 403
    other = new_web(app)
    other.login("supervisor2")
    assert other.post(_url(case_id, transfer.id, "approve"), token_page="/cases/").status_code == 404
    supervisor = new_web(app)
    supervisor.login("supervisor")
    with app.test_request_context():
        boss = db.session.get(type(w.supervisor), w.supervisor.id)
        [item] = worklist.items(boss)
        assert item.section == "approvals" and item.url == f"/cases/{case_id}/referrals"
        assert worklist.items(db.session.get(type(w.caseworker), w.caseworker.id)) == []
    page = supervisor.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert "Approve transfer" in page and "She moves to Bogotá" in page
    approved = supervisor.post(_url(case_id, transfer.id, "approve"), {"decision_note": "Agreed with Camino Seguro."},
                               token_page=f"/cases/{case_id}/referrals")
    assert approved.status_code == 302 and approved.headers["Location"] == "/cases/"
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.organisation_id == w.ngo2.id and case.assigned_to_id is None
        assert db.session.get(Transfer, transfer.id).status == "approved"
        [event] = events("transfer.approve")
        assert event.case_id == case_id
        assert json.loads(event.details) == {"from_organisation": w.ngo.id, "to_organisation": w.ngo2.id}
        assert [e.case_id for e in events("transfer.request")] == [case_id]
        raw = db.session.execute(text("SELECT reason, decision_note FROM transfers")).one()
        assert all(b"Bogot" not in bytes(r) and b"Agreed" not in bytes(r) for r in raw)
    for page in (f"/cases/{case_id}", f"/cases/{case_id}/referrals"):
        assert web.get(page).status_code == 404
        assert supervisor.get(page).status_code == 404
        assert other.get(page).status_code == 200
    with app.test_request_context():
        assert worklist.items(db.session.get(type(w.supervisor), w.supervisor.id)) == []


def test_keeping_access_leaves_the_sender_a_referral(app, web, w):
    case_id = new_case(app, w.caseworker, assigned_to_id=w.caseworker.id)
    web.login("caseworker")
    _request(web, case_id, w.ngo2.id, keep_access="y")
    transfer = _transfer(app, case_id)
    supervisor = new_web(app)
    supervisor.login("supervisor")
    approved = supervisor.post(_url(case_id, transfer.id, "approve"), token_page=f"/cases/{case_id}/referrals")
    assert approved.headers["Location"] == f"/cases/{case_id}/referrals"
    assert web.get(f"/cases/{case_id}").status_code == 200  # the requester, through the referral
    assert web.get(f"/cases/{case_id}/edit").status_code == 403
    assert supervisor.get(f"/cases/{case_id}").status_code == 200
    # The new owner can end it.
    owner = new_web(app)
    owner.login("supervisor2")
    page = owner.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert "Revoke" in page
    with app.app_context():
        referral_id = db.session.execute(text("SELECT id FROM referrals")).scalar_one()
    owner.post(f"/cases/{case_id}/referrals/{referral_id}/revoke", token_page=f"/cases/{case_id}/referrals")
    assert web.get(f"/cases/{case_id}").status_code == 404


def test_rejection_and_withdrawal_leave_the_case_where_it_is(app, web, w):
    case_id = new_case(app, w.caseworker, assigned_to_id=w.caseworker.id)
    web.login("caseworker")
    _request(web, case_id, w.ngo2.id)
    transfer = _transfer(app, case_id)
    second = _request(web, case_id, w.mission_org.id)
    assert second.status_code == 422
    assert "already waiting for a decision" in second.get_data(as_text=True)
    supervisor = new_web(app)
    supervisor.login("supervisor")
    supervisor.post(_url(case_id, transfer.id, "reject"), {"decision_note": "Not before the trial."},
                    token_page=f"/cases/{case_id}/referrals")
    with app.app_context():
        assert db.session.get(Transfer, transfer.id).status == "rejected"
        assert db.session.get(Case, case_id).organisation_id == w.ngo.id
    late = supervisor.post(_url(case_id, transfer.id, "approve"), token_page=f"/cases/{case_id}/referrals",
                           follow_redirects=True)
    assert "already been decided" in late.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Case, case_id).organisation_id == w.ngo.id
    # A new request can be withdrawn by the one who may request it.
    _request(web, case_id, w.mission_org.id)
    with app.app_context():
        waiting = db.session.scalar(select(Transfer).where(Transfer.status == "requested"))
    assert web.post(_url(case_id, waiting.id, "cancel"), token_page=f"/cases/{case_id}/referrals").status_code == 302
    with app.app_context():
        assert db.session.get(Transfer, waiting.id).status == "cancelled"
        assert [e.action for e in events() if e.action.startswith("transfer.")] == [
            "transfer.request", "transfer.reject", "transfer.request", "transfer.cancel"]


def test_a_transfer_needs_consent_unless_an_override_is_explained(app, web, w):
    case_id = new_case(app, w.caseworker, consent=False)
    web.login("caseworker")
    refused = _request(web, case_id, w.ngo2.id)
    assert refused.status_code == 422
    assert "No consent to share" in refused.get_data(as_text=True)
    assert _request(web, case_id, w.ngo2.id, consent_basis="imminent_danger").status_code == 422
    assert _request(web, case_id, w.ngo2.id, transfer_reason="").status_code == 422
    assert _transfer(app, case_id) is None
    ok = _request(web, case_id, w.ngo2.id, consent_basis="imminent_danger", override_reason="Threatened by her boss")
    assert ok.status_code == 302
    with app.app_context():
        [override] = events("referral.consent_override")
        assert override.object_type == "transfer" and override.case_id == case_id


def test_transfer_pages_of_another_organisation_are_404(app, web, w):
    case_id = new_case(app, w.caseworker2)
    web.login("supervisor")
    assert _request(web, case_id, w.mission_org.id).status_code == 404
    assert web.post(_url(case_id, "00000000-0000-4000-8000-000000000000", "approve")).status_code == 404
    assert _transfer(app, case_id) is None
