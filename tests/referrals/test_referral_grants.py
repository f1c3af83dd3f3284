"""What accepting, declining and revoking a referral does to access, now that access comes from grants
(casemgmt/access/grants.py), and what the receiving organisation is offered when the consent a referral was sent under
has been withdrawn before it answers."""

from __future__ import annotations

import json

from sqlalchemy import select

from casemgmt.access.grants import CaseGrant
from casemgmt.consent.models import ConsentRecord
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.referrals.models import Referral
from tests.auth.support import new_web
from tests.referrals.conftest import events, new_case


def _send(app, w, web, to_org) -> tuple[str, str]:
    case_id = new_case(app, w.caseworker, assigned_to_id=w.caseworker.id)
    response = web.post(f"/cases/{case_id}/referrals", {
        "to_organisation_id": str(to_org), "reason": "AdditionalServicesRequired", "consent_basis": "consent"})
    assert response.status_code == 302
    with app.app_context():
        return case_id, db.session.scalar(select(Referral.id).where(Referral.case_id == case_id))


def test_accepting_grants_declining_does_not_and_every_step_names_both_organisations(app, web, w):
    web.login("caseworker")
    accepted_case, accepted = _send(app, w, web, w.ngo2.id)
    declined_case, declined = _send(app, w, web, w.ngo2.id)
    receiver = new_web(app)
    receiver.login("caseworker2")
    assert receiver.post(f"/referrals/{accepted}/accept", token_page="/referrals/").status_code == 302
    assert receiver.post(f"/referrals/{declined}/decline", {"decline_reason": "Full."},
                         token_page="/referrals/").status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(CaseGrant).order_by(CaseGrant.user_id)).all()
        assert {(g.case_id, g.organisation_id, g.user_id, g.reason_id) for g in rows} == {
            (accepted_case, w.ngo2.id, None, accepted), (accepted_case, w.ngo2.id, w.caseworker2.id, accepted)}
        both = {"from_organisation": w.ngo.id, "to_organisation": w.ngo2.id, "kind": "referral"}
        for action in ("referral.create", "referral.accept", "referral.decline"):
            for event in events(action):
                details = json.loads(event.details)
                assert {k: details[k] for k in both} == both and event.object_type == "referral", action
                assert event.case_id in (accepted_case, declined_case)
    assert receiver.get(f"/cases/{accepted_case}").status_code == 200
    assert receiver.get(f"/cases/{declined_case}").status_code == 404


def test_a_referral_whose_consent_was_withdrawn_before_the_answer_cannot_be_accepted(app, web, w):
    web.login("caseworker")
    case_id, referral_id = _send(app, w, web, w.mission_org.id)
    with app.app_context():
        for record in db.session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case_id)):
            record.withdrawn_at = utcnow()
        db.session.commit()
    mission = new_web(app)
    mission.login("mission")
    inbox = mission.get("/referrals/").get_data(as_text=True).replace("&#39;", "'")
    assert "consent to share has been withdrawn since this referral was sent" in inbox
    assert f"/referrals/{referral_id}/accept" not in inbox and f"/referrals/{referral_id}/decline" in inbox
    refused = mission.post(f"/referrals/{referral_id}/accept", token_page="/referrals/", follow_redirects=True)
    assert "consent to share has been withdrawn" in refused.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "pending"
        assert db.session.scalar(select(CaseGrant.id)) is None
    assert mission.get(f"/cases/{case_id}").status_code == 404
