"""Hand-offs reach the other side (issue 12, item 3): naming the receiving organisation on a return plan hands the case
off to it, under the consent to return the plan requires. It finds the hand-off on its home page and in its referrals
inbox without anyone sending a referral, accepts or declines it, and once accepted works on the return and the
reintegration; its arrival confirmation moves the case's stage by itself."""

from __future__ import annotations

import json

from sqlalchemy import select

from casemgmt.access.grants import CaseGrant
from casemgmt.cases.models import Case, StageChange
from casemgmt.consent import operations as consent_operations
from casemgmt.consent.models import ConsentRecord
from casemgmt.extensions import db
from casemgmt.referrals.models import Referral
from casemgmt.returns.models import ReturnPlan
from tests import factories
from tests.conftest import signed_in
from tests.returns.support import DAYS, FAMILY, RISK, TODAY, TRAVEL, arrived_plan, consent, events, refer

DESTINATION = {"destination_country": "HT", "destination_locality": "Jacmel"}


def _case(app, w, with_consent: bool = True) -> str:
    with app.app_context():
        case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
        if with_consent:
            consent(case, w.caseworker)
        db.session.commit()
        return case.id


def _start(web, case_id: str, org_id: int) -> str:
    response = web.post(f"/cases/{case_id}/return", {"receiving_organisation_id": str(org_id), **DESTINATION})
    assert response.status_code == 302, response.get_data(as_text=True)
    return _plan_id(web.client.application, case_id)


def _plan_id(app, case_id: str) -> str:
    with app.app_context():
        return db.session.scalar(select(ReturnPlan.id).where(ReturnPlan.case_id == case_id,
                                                             ReturnPlan.status != "cancelled"))


def _referrals(app, case_id: str) -> list[tuple[int, str, str]]:
    """(to organisation, kind, status) of the case's referrals, oldest first."""
    with app.app_context():
        return [(r.to_organisation_id, r.kind, r.status) for r in db.session.scalars(
            select(Referral).where(Referral.case_id == case_id).order_by(Referral.created_at, Referral.id))]


def _step(web, case_id: str, plan_id: str, step: str, values: dict):
    """A step of the plan, posted as the page does: with the plan's version the form was filled from."""
    with web.client.application.app_context():
        version = db.session.get(ReturnPlan, plan_id).version
    data = {k: str(v) for k, v in values.items()}
    return web.post(f"/cases/{case_id}/return/{plan_id}/{step}", {**data, "version": str(version)})


def _handoff_id(app, case_id: str, org_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(Referral.id).where(Referral.case_id == case_id,
                                                           Referral.to_organisation_id == org_id)
                                 .order_by(Referral.created_at.desc()).limit(1))


def _grants(app, case_id: str) -> list[CaseGrant]:
    with app.app_context():
        rows = list(db.session.scalars(select(CaseGrant).where(CaseGrant.case_id == case_id)))
        db.session.expunge_all()
        return rows


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_naming_the_receiving_organisation_hands_the_case_off_without_anyone_sending_a_referral(app, w):
    case_id = _case(app, w)
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    with app.app_context():
        reference = db.session.get(Case, case_id).reference
    assert mission.get(f"/cases/{case_id}").status_code == 404
    _start(caseworker, case_id, w.mission_org.id)
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "pending")]
    with app.app_context():
        [created] = events("referral.create")
        assert created.case_id == case_id and created.object_type == "referral"
        assert json.loads(created.details) == {
            "kind": "return_handoff", "to_organisation": w.mission_org.id, "from_organisation": w.ngo.id,
            "reason": "MigrationOrChangeOfLocation", "consent_basis": "consent", "fields": []}

    # The mission finds it on its home page and in its inbox, and knows nothing of the person yet.
    home = _text(mission.get("/"))
    assert f"Return hand-off of case {reference} from Casa Esperanza: accept or decline it" in home
    assert "María José" not in home
    inbox = _text(mission.get("/referrals/"))
    assert "Return hand-off" in inbox and reference in inbox and "María José" not in inbox
    assert mission.get(f"/cases/{case_id}").status_code == 404  # nothing before it accepts
    assert "waiting for IOM Haiti to accept or decline it" in _text(caseworker.get(f"/cases/{case_id}/return"))

    accepted = mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/accept",
                            token_page="/referrals/", follow_redirects=True)
    assert accepted.status_code == 200 and "Hand-off accepted." in _text(accepted)
    assert "María José" in _text(accepted)  # the case page: it works with the person now
    [grant] = _grants(app, case_id)
    with app.app_context():
        relied_on = db.session.scalar(select(ConsentRecord.id).where(ConsentRecord.case_id == case_id))
        [accept] = events("referral.accept")
        assert json.loads(accept.details) == {"kind": "return_handoff", "to_organisation": w.mission_org.id,
                                              "from_organisation": w.ngo.id}
    assert (grant.organisation_id, grant.user_id, grant.level, grant.reason_kind) == (
        w.mission_org.id, None, "referral", "return_handoff")
    assert grant.consent_id == relied_on  # the consent to return the plan requires
    assert mission.get(f"/cases/{case_id}/return").status_code == 200
    assert mission.get(f"/cases/{case_id}/reintegration").status_code == 200
    for page in ("/counseling", "/shelter", "/edit"):
        assert mission.get(f"/cases/{case_id}{page}").status_code == 403, page
    assert "Accepted by IOM Haiti" in _text(caseworker.get(f"/cases/{case_id}/return"))
    assert "Return hand-off accepted by IOM Haiti" in _text(caseworker.get(f"/cases/{case_id}/timeline"))
    assert f"Return hand-off of case {reference}" not in _text(mission.get("/"))


def test_the_missions_arrival_confirmation_moves_the_case_to_reintegration_by_itself(app, w):
    case_id = _case(app, w)
    caseworker, supervisor, mission = signed_in(app, "caseworker"), signed_in(app, "supervisor"), signed_in(
        app, "mission")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/accept", token_page="/referrals/")
    base = f"/cases/{case_id}/return/{plan_id}"
    for step, values in (("risk", RISK), ("family", FAMILY), ("travel-document", TRAVEL)):
        assert _step(mission, case_id, plan_id, step, values).status_code == 302, step
    assert caseworker.post(f"{base}/submit").status_code == 302
    assert supervisor.post(f"{base}/approve").status_code == 302
    # The mission records the departure and the arrival; each moves the case forward by itself.
    assert mission.post(f"{base}/departure", {"departed_on": str(TODAY)}).status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).stage == "return"
    arrived = mission.post(f"{base}/arrival", {"arrived_on": str(TODAY)}, follow_redirects=True)
    assert "The case moved to “Reintegration”." in _text(arrived)
    with app.app_context():
        assert db.session.get(Case, case_id).stage == "reintegration"
        last = db.session.scalar(select(StageChange).where(StageChange.case_id == case_id)
                                 .order_by(StageChange.changed_at.desc()).limit(1))
        assert (last.from_stage, last.to_stage, last.changed_by_id) == ("return", "reintegration", w.mission.id)
        assert [json.loads(e.details)["event"] for e in events("case.stage_followed")] == [
            "return.depart", "return.arrive"]
    # The mission still may not move the sending organisation's stage by hand.
    refused = mission.post(f"/cases/{case_id}/stage", {"to_stage": "counseling", "reason": "Moving it."})
    assert refused.status_code == 403


def test_a_declined_hand_off_is_shown_to_the_sender_who_names_another_organisation(app, w):
    case_id = _case(app, w)
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    declined = mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/decline",
                            {"decline_reason": "We have no office near Jacmel."}, token_page="/referrals/")
    assert declined.status_code == 302
    with app.app_context():
        [event] = events("referral.decline")
        assert json.loads(event.details)["kind"] == "return_handoff"
    page = _text(caseworker.get(f"/cases/{case_id}/return"))
    assert "Declined by IOM Haiti" in page and "We have no office near Jacmel." in page
    assert "Name another receiving organisation below, or send the hand-off again." in page
    assert "Send the hand-off again" in page
    assert mission.get(f"/cases/{case_id}").status_code == 404
    # The plan's next steps do not send it again by themselves.
    _step(caseworker, case_id, plan_id, "risk", RISK)
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "declined")]
    # Naming another organisation hands the case off to it.
    assert _step(caseworker, case_id, plan_id, "destination", {
        "receiving_organisation_id": w.ngo2.id, **DESTINATION}).status_code == 302
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "declined"),
                                        (w.ngo2.id, "return_handoff", "pending")]
    assert "Return hand-off of case" in _text(signed_in(app, "caseworker2").get("/"))


def test_sending_the_hand_off_again_after_a_decline(app, w):
    case_id = _case(app, w)
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/decline", token_page="/referrals/")
    sent = caseworker.post(f"/cases/{case_id}/return/{plan_id}/handoff", follow_redirects=True)
    assert "The hand-off was sent to the receiving organisation." in _text(sent)
    assert _referrals(app, case_id)[-1] == (w.mission_org.id, "return_handoff", "pending")
    # Sent, it is not offered again; sending it twice is refused with a reason, nothing written.
    assert "Send the hand-off" not in _text(caseworker.get(f"/cases/{case_id}/return"))
    again = caseworker.post(f"/cases/{case_id}/return/{plan_id}/handoff")
    assert again.status_code == 422 and "already has this case's hand-off or referral" in _text(again)
    assert len(_referrals(app, case_id)) == 2


def test_changing_the_receiving_organisation_withdraws_the_hand_off_and_the_access(app, w):
    case_id = _case(app, w)
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/accept", token_page="/referrals/")
    assert mission.get(f"/cases/{case_id}/return").status_code == 200
    assert _step(caseworker, case_id, plan_id, "destination", {
        "receiving_organisation_id": w.ngo2.id, **DESTINATION}).status_code == 302
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "revoked"),
                                        (w.ngo2.id, "return_handoff", "pending")]
    assert mission.get(f"/cases/{case_id}").status_code == 404
    assert all(g.revoked_at is not None for g in _grants(app, case_id))
    with app.app_context():
        [revoke] = events("referral.revoke")
        assert json.loads(revoke.details)["why"] == "receiving_organisation_changed"
        [grant_revoke] = events("grant.revoke")
        assert json.loads(grant_revoke.details)["to_organisation"] == w.mission_org.id
    # A pending hand-off is withdrawn the same way: the second NGO's leaves its home page.
    assert _step(caseworker, case_id, plan_id, "destination", {
        "receiving_organisation_id": w.mission_org.id, **DESTINATION}).status_code == 302
    assert _referrals(app, case_id)[1:] == [(w.ngo2.id, "return_handoff", "revoked"),
                                            (w.mission_org.id, "return_handoff", "pending")]
    assert "Return hand-off of case" not in _text(signed_in(app, "caseworker2").get("/"))


def test_without_consent_to_return_the_hand_off_waits_and_the_page_says_why(app, w):
    case_id = _case(app, w, with_consent=False)
    caseworker = signed_in(app, "caseworker")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    assert _referrals(app, case_id) == []
    page = _text(caseworker.get(f"/cases/{case_id}/return"))
    assert "Not sent yet." in page and "consent to return, which is not on record" in page
    assert f"/return/{plan_id}/handoff" not in page  # not offered while it would be refused
    refused = caseworker.post(f"/cases/{case_id}/return/{plan_id}/handoff")
    assert refused.status_code == 422 and _referrals(app, case_id) == []
    with app.app_context():
        consent(db.session.get(Case, case_id), w.caseworker)
        db.session.commit()
    assert f"/return/{plan_id}/handoff" in _text(caseworker.get(f"/cases/{case_id}/return"))
    # The plan's next change sends it.
    _step(caseworker, case_id, plan_id, "risk", RISK)
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "pending")]


def test_an_organisation_already_working_on_the_case_gets_no_second_hand_off(app, w):
    case_id = _case(app, w)
    with app.app_context():
        factories.accepted_referral(db.session.get(Case, case_id), w.mission_org, w.mission)
        db.session.commit()
    caseworker = signed_in(app, "caseworker")
    _start(caseworker, case_id, w.mission_org.id)
    assert _referrals(app, case_id) == [(w.mission_org.id, "referral", "accepted")]
    assert "IOM Haiti already works on this case through a referral" in _text(
        caseworker.get(f"/cases/{case_id}/return"))


def test_the_receiving_organisation_cannot_hand_the_case_to_a_third(app, w):
    """Sharing the case is the owning organisation's: the mission that works on the return may not name another
    receiving organisation (which would share the case and end its own access), nor send a hand-off."""
    case_id = _case(app, w)
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/accept", token_page="/referrals/")
    # The destination form offers it only the organisation named; posting another is refused, nothing changed.
    page = _text(mission.get(f"/cases/{case_id}/return"))
    destination_form = page[page.index(f"/return/{plan_id}/destination"):page.index("Save the destination")]
    assert f'value="{w.ngo2.id}"' not in destination_form and f'value="{w.mission_org.id}"' in destination_form
    refused = _step(mission, case_id, plan_id, "destination", {"receiving_organisation_id": w.ngo2.id, **DESTINATION})
    assert refused.status_code == 422 and "Only Casa Esperanza, which owns the case" in _text(refused)
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "accepted")]
    # It may still change the place, and never send a hand-off itself.
    assert _step(mission, case_id, plan_id, "destination", {
        "receiving_organisation_id": w.mission_org.id, "destination_country": "HT",
        "destination_locality": "Jacmel, Sud-Est"}).status_code == 302
    assert mission.post(f"/cases/{case_id}/return/{plan_id}/handoff").status_code == 403
    # The owner names the third organisation, which gets the hand-off; the mission's ends.
    assert _step(caseworker, case_id, plan_id, "destination", {
        "receiving_organisation_id": w.ngo2.id, **DESTINATION}).status_code == 302
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "revoked"),
                                        (w.ngo2.id, "return_handoff", "pending")]


def test_cancelling_before_departure_ends_the_hand_off(app, w):
    case_id = _case(app, w)
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/accept", token_page="/referrals/")
    cancelled = caseworker.post(f"/cases/{case_id}/return/{plan_id}/cancel",
                                {"cancellation_reason": "She decided to stay in Peru."})
    assert cancelled.status_code == 302
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "revoked")]
    assert mission.get(f"/cases/{case_id}").status_code == 404
    with app.app_context():
        assert json.loads(events("referral.revoke")[0].details)["why"] == "return_cancelled"


def test_after_arrival_the_receiving_organisation_keeps_its_access_for_the_reintegration(app, w):
    with app.app_context():
        case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
        plan = arrived_plan(w, case, departed=TODAY - 10 * DAYS, arrived=TODAY - 9 * DAYS)
        refer(case, w.mission_org, w.mission)
        db.session.commit()
        case_id, plan_id = case.id, plan.id
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    refused = caseworker.post(f"/cases/{case_id}/return/{plan_id}/cancel", {"cancellation_reason": "Too late."})
    assert refused.status_code == 422
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "accepted")]
    assert mission.get(f"/cases/{case_id}/reintegration").status_code == 200


def test_withdrawing_the_consent_to_return_suspends_the_hand_off_access(app, w):
    case_id = _case(app, w)
    caseworker, mission = signed_in(app, "caseworker"), signed_in(app, "mission")
    _start(caseworker, case_id, w.mission_org.id)
    mission.post(f"/referrals/{_handoff_id(app, case_id, w.mission_org.id)}/accept", token_page="/referrals/")
    assert mission.get(f"/cases/{case_id}/return").status_code == 200
    with app.test_request_context():
        record = db.session.scalar(select(ConsentRecord).where(ConsentRecord.case_id == case_id))
        consent_operations.withdraw_consent(db.session.get(type(w.caseworker), w.caseworker.id), record,
                                            "She no longer wishes to return.")
        db.session.commit()
        [event] = events("grant.suspend")
        assert json.loads(event.details)["reason_kind"] == "return_handoff"
    assert mission.get(f"/cases/{case_id}/return").status_code == 404
    page = _text(caseworker.get(f"/cases/{case_id}/return"))
    assert "The access of IOM Haiti is suspended since" in page and "withdrew the consent it relied on" in page


def test_a_hand_off_the_owner_revoked_is_not_sent_again_by_the_next_step(app, w):
    case_id = _case(app, w)
    caseworker = signed_in(app, "caseworker")
    plan_id = _start(caseworker, case_id, w.mission_org.id)
    handoff = _handoff_id(app, case_id, w.mission_org.id)
    assert caseworker.post(f"/cases/{case_id}/referrals/{handoff}/revoke",
                           token_page=f"/cases/{case_id}/referrals").status_code == 302
    _step(caseworker, case_id, plan_id, "risk", RISK)
    assert _referrals(app, case_id) == [(w.mission_org.id, "return_handoff", "revoked")]
    # The page offers to send it again; sent on purpose, it goes.
    assert f"/return/{plan_id}/handoff" in _text(caseworker.get(f"/cases/{case_id}/return"))
    assert caseworker.post(f"/cases/{case_id}/return/{plan_id}/handoff").status_code == 302
    assert _referrals(app, case_id)[-1] == (w.mission_org.id, "return_handoff", "pending")
