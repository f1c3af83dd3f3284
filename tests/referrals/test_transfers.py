"""Transfers of ownership: requested by a case worker, approved by a supervisor of the owning organisation, then
accepted or declined by a supervisor of the receiving organisation, who reads the case meanwhile (a review grant)."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from casemgmt.access.grants import CaseGrant
from casemgmt.cases.models import Case
from casemgmt.consent import operations as consent_operations
from casemgmt.consent.models import ConsentRecord
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


def _grants(app, transfer_id) -> list[CaseGrant]:
    with app.app_context():
        return list(db.session.scalars(select(CaseGrant).where(CaseGrant.reason_id == transfer_id)))


def _approved(app, w, web) -> tuple[str, Transfer, object]:
    """A case of the first NGO whose transfer to the second NGO its supervisor has approved."""
    case_id = new_case(app, w.caseworker, assigned_to_id=w.caseworker.id)
    web.login("caseworker")
    assert _request(web, case_id, w.ngo2.id).status_code == 302
    transfer = _transfer(app, case_id)
    supervisor = new_web(app)
    supervisor.login("supervisor")
    approved = supervisor.post(_url(case_id, transfer.id, "approve"), {"decision_note": "Agreed with Camino Seguro."},
                               token_page=f"/cases/{case_id}/referrals")
    assert approved.status_code == 302 and approved.headers["Location"] == f"/cases/{case_id}/referrals"
    return case_id, _transfer(app, case_id), supervisor


def test_approval_asks_the_receiving_organisation_which_accepts_and_then_owns_the_case(app, web, w):
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
    # Before the owning organisation approves, the receiving one can neither read the case nor answer.
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert other.post(_url(case_id, transfer.id, "accept"), token_page="/cases/").status_code == 404
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
    assert approved.status_code == 302 and approved.headers["Location"] == f"/cases/{case_id}/referrals"
    with app.app_context():
        case = db.session.get(Case, case_id)
        # Approved, it waits for the receiving organisation: the case has not moved.
        assert case.organisation_id == w.ngo.id and case.assigned_to_id == w.caseworker.id
        assert db.session.get(Transfer, transfer.id).status == "approved"
        [event] = events("transfer.approve")
        assert event.case_id == case_id
        assert json.loads(event.details) == {"from_organisation": w.ngo.id, "to_organisation": w.ngo2.id}
    [grant] = _grants(app, transfer.id)
    assert (grant.level, grant.reason_kind, grant.organisation_id, grant.user_id) == ("review", "transfer_pending",
                                                                                     w.ngo2.id, None)
    assert grant.consent_id is not None  # it rests on the consent to share, like the transfer
    assert "waiting for Camino Seguro to accept or decline" in supervisor.get(
        f"/cases/{case_id}/referrals").get_data(as_text=True)

    # The receiving supervisor finds it on the home page and in the inbox, and reads the case to decide.
    home = other.get("/").get_data(as_text=True)
    assert "waits for your organisation&#39;s answer" in home or "waits for your organisation's answer" in home
    inbox = other.get("/referrals/").get_data(as_text=True)
    assert "Accept the transfer" in inbox and "She moves to Bogotá" in inbox
    assert other.get(f"/cases/{case_id}").status_code == 200
    assert other.get(f"/cases/{case_id}/return").status_code == 200
    for page in ("/edit", "/counseling", "/shelter", "/closure"):
        assert other.get(f"/cases/{case_id}{page}").status_code == 403, page
    # Reading is for its supervisors: its caseworkers cannot open the case yet.
    colleague = new_web(app)
    colleague.login("caseworker2")
    assert colleague.get(f"/cases/{case_id}").status_code == 404
    assert colleague.post(_url(case_id, transfer.id, "accept"), token_page="/cases/").status_code == 403
    # The owning organisation cannot answer for the receiving one.
    assert supervisor.post(_url(case_id, transfer.id, "accept"), token_page="/cases/").status_code == 403

    accepted = other.post(_url(case_id, transfer.id, "accept"), {"decision_note": "Welcome."}, token_page="/referrals/")
    assert accepted.status_code == 302 and accepted.headers["Location"] == f"/cases/{case_id}"
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.organisation_id == w.ngo2.id and case.assigned_to_id is None
        row = db.session.get(Transfer, transfer.id)
        assert (row.status, row.answered_by_id) == ("accepted", w.supervisor2.id)
        [event] = events("transfer.accept")
        assert json.loads(event.details) == {"from_organisation": w.ngo.id, "to_organisation": w.ngo2.id,
                                             "fields": ["answer_note"]}
        assert [e.case_id for e in events("transfer.request")] == [case_id]
        raw = db.session.execute(text("SELECT reason, decision_note, answer_note FROM transfers")).one()
        assert all(b"Bogot" not in bytes(r) and b"Agreed" not in bytes(r) and b"Welcome" not in bytes(r) for r in raw)
    assert all(g.revoked_at is not None for g in _grants(app, transfer.id))  # the review served the decision
    for page in (f"/cases/{case_id}", f"/cases/{case_id}/referrals"):
        assert web.get(page).status_code == 404
        assert supervisor.get(page).status_code == 404
        assert other.get(page).status_code == 200
    assert other.post(_url(case_id, transfer.id, "decline"), token_page="/referrals/",
                      follow_redirects=True).status_code == 200  # too late: refused with a message
    with app.test_request_context():
        assert worklist.items(db.session.get(type(w.supervisor), w.supervisor.id)) == []
        assert worklist.items(db.session.get(type(w.supervisor2), w.supervisor2.id)) == []


def test_a_declined_transfer_leaves_the_case_and_ends_the_review(app, web, w):
    case_id, transfer, supervisor = _approved(app, w, web)
    other = new_web(app)
    other.login("supervisor2")
    declined = other.post(_url(case_id, transfer.id, "decline"), {"decision_note": "No capacity in Bogotá."},
                          token_page="/referrals/")
    assert declined.status_code == 302 and declined.headers["Location"] == "/referrals/"
    with app.app_context():
        assert db.session.get(Transfer, transfer.id).status == "declined"
        assert db.session.get(Case, case_id).organisation_id == w.ngo.id
        [event] = events("transfer.decline")
        assert json.loads(event.details) == {"from_organisation": w.ngo.id, "to_organisation": w.ngo2.id,
                                             "fields": ["answer_note"]}
        [revoked] = events("grant.revoke")
        assert json.loads(revoked.details)["reason_kind"] == "transfer_pending"
    assert [g.revoked_at is not None for g in _grants(app, transfer.id)] == [True]
    assert other.get(f"/cases/{case_id}").status_code == 404
    page = supervisor.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert "Declined by the receiving organisation" in page and "No capacity in Bogotá." in page
    assert web.get(f"/cases/{case_id}").status_code == 200
    # The case can be offered to another organisation now.
    assert _request(web, case_id, w.mission_org.id).status_code == 302


def test_withdrawing_an_approved_transfer_ends_the_review(app, web, w):
    case_id, transfer, _supervisor = _approved(app, w, web)
    assert web.post(_url(case_id, transfer.id, "cancel"), token_page=f"/cases/{case_id}/referrals").status_code == 302
    with app.app_context():
        assert db.session.get(Transfer, transfer.id).status == "cancelled"
    assert all(g.revoked_at is not None for g in _grants(app, transfer.id))
    other = new_web(app)
    other.login("supervisor2")
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert other.post(_url(case_id, transfer.id, "accept"), token_page="/cases/").status_code == 404


def test_keeping_access_leaves_the_sender_a_referral(app, web, w):
    case_id = new_case(app, w.caseworker, assigned_to_id=w.caseworker.id)
    web.login("caseworker")
    _request(web, case_id, w.ngo2.id, keep_access="y")
    transfer = _transfer(app, case_id)
    supervisor = new_web(app)
    supervisor.login("supervisor")
    approved = supervisor.post(_url(case_id, transfer.id, "approve"), token_page=f"/cases/{case_id}/referrals")
    assert approved.headers["Location"] == f"/cases/{case_id}/referrals"
    owner = new_web(app)
    owner.login("supervisor2")
    assert owner.post(_url(case_id, transfer.id, "accept"), token_page="/referrals/").status_code == 302
    assert web.get(f"/cases/{case_id}").status_code == 200  # the requester, through the referral
    assert web.get(f"/cases/{case_id}/edit").status_code == 403
    assert supervisor.get(f"/cases/{case_id}").status_code == 200
    with app.app_context():
        referral_id = db.session.execute(text("SELECT id FROM referrals")).scalar_one()
        rows = db.session.scalars(select(CaseGrant).where(CaseGrant.reason_id == referral_id)).all()
        # The sending organisation's supervisors and mission staff, and the caseworker who asked for the transfer.
        assert {(g.organisation_id, g.user_id) for g in rows} == {(w.ngo.id, None), (w.ngo.id, w.caseworker.id)}
    # The new owner can end it.
    page = owner.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert "Revoke" in page
    owner.post(f"/cases/{case_id}/referrals/{referral_id}/revoke", token_page=f"/cases/{case_id}/referrals")
    assert web.get(f"/cases/{case_id}").status_code == 404
    assert supervisor.get(f"/cases/{case_id}").status_code == 404


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


def test_withdrawing_the_consent_suspends_the_review_and_the_answer(app, web, w):
    case_id, transfer, supervisor = _approved(app, w, web)
    with app.test_request_context():
        record = db.session.scalar(select(ConsentRecord).where(ConsentRecord.case_id == case_id))
        consent_operations.withdraw_consent(db.session.get(type(w.caseworker), w.caseworker.id), record,
                                            "She no longer wants her file shared.")
        db.session.commit()
    [grant] = _grants(app, transfer.id)
    assert grant.suspended_at is not None and grant.revoked_at is None
    other = new_web(app)
    other.login("supervisor2")
    assert other.get(f"/cases/{case_id}").status_code == 404
    inbox = other.get("/referrals/").get_data(as_text=True).replace("&#39;", "'")
    assert "withdrew the consent this transfer relied on" in inbox and "Accept the transfer" not in inbox
    assert other.post(_url(case_id, transfer.id, "accept"), token_page="/referrals/").status_code == 404
    with app.test_request_context():
        assert worklist.items(db.session.get(type(w.supervisor2), w.supervisor2.id)) == []
    page = supervisor.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert "Camino Seguro can no longer read the case to decide" in page
    with app.app_context():
        assert db.session.get(Case, case_id).organisation_id == w.ngo.id


def test_an_organisation_already_working_on_the_case_answers_its_transfer(app, web, w):
    """Its supervisors hold a referral grant and, once the transfer is approved, a review grant: the answer is the
    review's, whatever the referral reaches."""
    case_id = new_case(app, w.caseworker, assigned_to_id=w.caseworker.id)
    web.login("caseworker")
    assert web.post(f"/cases/{case_id}/referrals", {"to_organisation_id": str(w.ngo2.id),
                                                    "reason": "AdditionalServicesRequired",
                                                    "consent_basis": "consent"}).status_code == 302
    other = new_web(app)
    other.login("supervisor2")
    with app.app_context():
        referral_id = db.session.scalar(select(text("id")).select_from(text("referrals")))
    assert other.post(f"/referrals/{referral_id}/accept", token_page="/referrals/").status_code == 302
    assert _request(web, case_id, w.ngo2.id).status_code == 302
    transfer = _transfer(app, case_id)
    supervisor = new_web(app)
    supervisor.login("supervisor")
    supervisor.post(_url(case_id, transfer.id, "approve"), token_page=f"/cases/{case_id}/referrals")
    assert "Accept the transfer" in other.get("/referrals/").get_data(as_text=True)
    assert other.post(_url(case_id, transfer.id, "accept"), token_page="/referrals/").status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).organisation_id == w.ngo2.id
