"""Referrals through their pages: the consent gate, the receiver's answer, the access it grants and its end."""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask import url_for
from sqlalchemy import func, select, text

from casemgmt.access import Action, allowed
from casemgmt.access.policies import can_read_counseling_notes
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.referrals import operations, timeline, worklist
from casemgmt.referrals.models import Referral
from tests.auth.support import new_web
from tests.referrals.conftest import events, give_consent, new_case

NAME = "María José"


def _referrals(app) -> list[Referral]:
    with app.app_context():
        return list(db.session.scalars(select(Referral).order_by(Referral.created_at)))


def _refer(web, case_id, to_org, **extra):
    data = {"to_organisation_id": str(to_org), "reason": "MigrationOrChangeOfLocation",
            "note": "Return to Haiti requested; please start travel documents.", "consent_basis": "consent"}
    data.update(extra)
    return web.post(f"/cases/{case_id}/referrals", data)


def _referral_id(app, case_id) -> str:
    with app.app_context():
        return db.session.scalar(select(Referral.id).where(Referral.case_id == case_id))


def test_a_referral_without_consent_to_share_is_refused_and_nothing_is_saved(app, web, w):
    case_id = new_case(app, w.caseworker, consent=False)
    web.login("caseworker")
    response = _refer(web, case_id, w.mission_org.id)
    assert response.status_code == 422
    assert "No consent to share this case is on record" in response.get_data(as_text=True)
    assert _referrals(app) == []
    # A consent to the interview that does not cover sharing is not enough either.
    with app.app_context():
        give_consent(case_id, share=False)
    assert _refer(web, case_id, w.mission_org.id).status_code == 422
    assert _referrals(app) == []


def test_a_minor_may_be_referred_without_consent_with_a_reason_that_is_audited_and_encrypted(app, web, w):
    fifteen = date.today() - timedelta(days=15 * 365 + 100)
    case_id = new_case(app, w.caseworker, consent=False, date_of_birth=fifteen)
    web.login("caseworker")
    missing = _refer(web, case_id, w.mission_org.id, consent_basis="minor")
    assert missing.status_code == 422
    assert "Say why the case must be shared without the person&#39;s consent." in missing.get_data(as_text=True)
    assert _referrals(app) == []
    reason = "Unaccompanied girl of 15; family tracing by the mission is urgent."
    ok = _refer(web, case_id, w.mission_org.id, consent_basis="minor", override_reason=reason)
    assert ok.status_code == 302
    [referral] = _referrals(app)
    assert (referral.consent_basis, referral.status) == ("minor", "pending")
    with app.app_context():
        override = events("referral.consent_override")
        assert len(override) == 1 and override[0].case_id == case_id
        assert json.loads(override[0].details) == {"basis": "minor"}
        created = events("referral.create")[0]
        assert reason not in created.details and "Haiti" not in created.details
        raw = db.session.execute(text("SELECT note, override_reason FROM referrals")).one()
        for blob in raw:
            assert b"Unaccompanied" not in bytes(blob) and b"Haiti" not in bytes(blob)


def test_the_minor_basis_is_refused_for_an_adult_and_imminent_danger_needs_a_reason(app, web, w):
    case_id = new_case(app, w.caseworker, consent=False)
    web.login("caseworker")
    adult = _refer(web, case_id, w.mission_org.id, consent_basis="minor", override_reason="Looks young")
    assert adult.status_code == 422
    assert "does not show this person as a child (under 18) today" in adult.get_data(as_text=True)
    assert _refer(web, case_id, w.mission_org.id, consent_basis="imminent_danger").status_code == 422
    assert _referrals(app) == []
    danger = _refer(web, case_id, w.mission_org.id, consent_basis="imminent_danger",
                    override_reason="The trafficker found the shelter; she must leave the country tonight.")
    assert danger.status_code == 302
    with app.app_context():
        assert [json.loads(e.details)["basis"] for e in events("referral.consent_override")] == ["imminent_danger"]


def test_an_age_band_of_a_child_counts_as_a_minor(app, ctx, w):
    case_id = new_case(app, w.caseworker, consent=False, date_of_birth=None, age_band="9-17")
    case = db.session.get(Case, case_id)
    assert operations.is_minor(case)


BAD_INPUT = (
    ("reason", "Kidnapping", "Not a valid choice."),
    ("reason", "", "This field is required."),
    ("to_organisation_id", "", "Choose an organisation from the list."),
    ("to_organisation_id", "99999", "Not a valid choice."),
    ("to_organisation_id", "abc", "Choose an organisation from the list."),
    ("consent_basis", "because", "Not a valid choice."),
    ("note", "x" * 4001, "Field cannot be longer than 4000 characters."),
)


def test_bad_input_is_refused_with_a_message(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    for field, value, message in BAD_INPUT:
        response = _refer(web, case_id, w.mission_org.id, **{field: value})
        assert response.status_code == 422, field
        assert message in response.get_data(as_text=True), field
    assert _referrals(app) == []


def test_own_organisation_is_not_offered_and_is_refused(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert "IOM Haiti (Intergovernmental organisation (e.g. IOM mission), Haiti)" in page
    assert "Camino Seguro (NGO, Colombia)" in page
    assert f'value="{w.ngo.id}"' not in page
    assert _refer(web, case_id, w.ngo.id).status_code == 422
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        with pytest.raises(operations.ReferralError, match="its own organisation"):
            operations.create_referral(w.caseworker, case, w.ngo.id, "Other")
    assert _referrals(app) == []


def test_one_open_referral_per_case_and_receiving_organisation(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    assert _refer(web, case_id, w.mission_org.id).status_code == 302
    again = _refer(web, case_id, w.mission_org.id)
    assert again.status_code == 422
    assert "already referred to IOM Haiti" in again.get_data(as_text=True)
    assert _refer(web, case_id, w.ngo2.id).status_code == 302
    assert len(_referrals(app)) == 2


def test_the_inbox_shows_no_identity_before_acceptance_and_the_case_stays_closed(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.mission_org.id)
    with app.app_context():
        reference = db.session.get(Case, case_id).reference
    mission = new_web(app)
    mission.login("mission")
    inbox = mission.get("/referrals/")
    assert inbox.status_code == 200
    html = inbox.get_data(as_text=True)
    assert reference in html and "Casa Esperanza" in html and "Migration or change of location" in html
    for secret in (NAME, "Quispe", "Haiti requested", "PE-1234567"):
        assert secret not in html
    assert mission.get(f"/cases/{case_id}").status_code == 404
    assert mission.get(f"/cases/{case_id}/referrals").status_code == 404
    assert reference not in mission.get("/cases/").get_data(as_text=True)


def test_acceptance_opens_the_case_to_the_mission_without_counseling_notes_or_edits(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.mission_org.id)
    referral_id = _referral_id(app, case_id)
    mission = new_web(app)
    mission.login("mission")
    accepted = mission.post(f"/referrals/{referral_id}/accept", token_page="/referrals/")
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(f"/cases/{case_id}")
    page = mission.get(f"/cases/{case_id}")
    assert page.status_code == 200 and NAME in page.get_data(as_text=True)
    with app.app_context():
        reference = db.session.get(Case, case_id).reference
    assert reference in mission.get("/cases/").get_data(as_text=True)
    found = mission.post("/cases/search", {"term": "María José Quispe Mamani"},
                         token_page="/cases/search")
    assert reference in found.get_data(as_text=True)
    # The referral's note is readable once accepted; the core record is not editable.
    assert "Haiti requested" in mission.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert mission.get(f"/cases/{case_id}/edit").status_code == 403
    if "counseling.case_index" in app.view_functions:  # the counseling pages, where installed, stay closed
        with app.test_request_context():
            counseling = url_for("counseling.case_index", case_id=case_id)
        assert mission.get(counseling).status_code in (403, 404)
        assert web.get(counseling).status_code == 200
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        mission_user = db.session.get(type(w.mission), w.mission.id)
        session = SimpleNamespace(case=case, author_id=w.caseworker.id)
        assert allowed(mission_user, Action.CASE_VIEW, case)
        assert not can_read_counseling_notes(mission_user, session)
        assert not allowed(mission_user, Action.COUNSELING_READ_NOTES, session)
        assert not allowed(mission_user, Action.COUNSELING_VIEW, case)
        assert allowed(db.session.get(type(w.caseworker), w.caseworker.id), Action.COUNSELING_READ_NOTES, session)
        assert [e.case_id for e in events("referral.accept")] == [case_id]
        assert db.session.get(Referral, referral_id).responded_by_id == w.mission.id


def test_revocation_ends_access_at_once(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.mission_org.id)
    referral_id = _referral_id(app, case_id)
    mission = new_web(app)
    mission.login("mission")
    mission.post(f"/referrals/{referral_id}/accept", token_page="/referrals/")
    assert mission.get(f"/cases/{case_id}").status_code == 200
    # The receiver cannot revoke; the sender can.
    assert mission.post(f"/cases/{case_id}/referrals/{referral_id}/revoke",
                        token_page="/referrals/").status_code == 403
    revoked = web.post(f"/cases/{case_id}/referrals/{referral_id}/revoke", token_page=f"/cases/{case_id}/referrals")
    assert revoked.status_code == 302
    assert mission.get(f"/cases/{case_id}").status_code == 404
    assert mission.get(f"/cases/{case_id}/referrals").status_code == 404
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "revoked"
        assert [e.case_id for e in events("referral.revoke")] == [case_id]
    # Revoking twice says so and changes nothing.
    again = web.post(f"/cases/{case_id}/referrals/{referral_id}/revoke", token_page=f"/cases/{case_id}/referrals",
                     follow_redirects=True)
    assert "Only a pending or accepted referral can be revoked." in again.get_data(as_text=True)


def test_decline_with_an_encrypted_reason_seen_by_the_sender(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.ngo2.id, reason="AdditionalServicesRequired")
    referral_id = _referral_id(app, case_id)
    receiver = new_web(app)
    receiver.login("caseworker2")
    declined = receiver.post(f"/referrals/{referral_id}/decline", {"decline_reason": "No bed for a family of four."},
                             token_page="/referrals/")
    assert declined.status_code == 302
    assert receiver.get(f"/cases/{case_id}").status_code == 404
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral.status == "declined" and referral.responded_by_id == w.caseworker2.id
        raw = db.session.execute(text("SELECT decline_reason FROM referrals")).scalar_one()
        assert b"family of four" not in bytes(raw)
        assert "family" not in events("referral.decline")[0].details
    assert "No bed for a family of four." in web.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    # An answered referral cannot be answered again.
    later = receiver.post(f"/referrals/{referral_id}/accept", token_page="/referrals/", follow_redirects=True)
    assert "already been answered" in later.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "declined"


def test_only_the_receiving_organisation_answers(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.mission_org.id)
    referral_id = _referral_id(app, case_id)
    # The sender cannot accept its own referral (403); a third organisation does not learn it exists (404).
    assert web.post(f"/referrals/{referral_id}/accept", token_page="/referrals/").status_code == 403
    other = new_web(app)
    other.login("supervisor2")
    assert other.post(f"/referrals/{referral_id}/accept", token_page="/referrals/").status_code == 404
    assert other.post(f"/referrals/{referral_id}/decline", token_page="/referrals/").status_code == 404
    assert other.post("/referrals/nope/accept", token_page="/referrals/").status_code == 404
    hotline = new_web(app)
    hotline.login("hotline")
    assert hotline.get("/referrals/").status_code == 403
    assert hotline.post(f"/cases/{case_id}/referrals", {"to_organisation_id": str(w.mission_org.id)}).status_code \
        == 403
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "pending"


def test_a_referral_of_another_organisation_case_is_404(app, web, w):
    case_id = new_case(app, w.caseworker2)
    web.login("caseworker")
    assert web.get(f"/cases/{case_id}/referrals").status_code == 404
    assert _refer(web, case_id, w.mission_org.id).status_code == 404
    assert _referrals(app) == []


def test_the_inbox_lists_outgoing_referrals_with_their_status(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.mission_org.id)
    html = web.get("/referrals/").get_data(as_text=True)
    assert "IOM Haiti" in html and "Waiting for an answer" in html


def test_worklist_and_timeline(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.mission_org.id, consent_basis="imminent_danger", override_reason="Threats tonight")
    referral_id = _referral_id(app, case_id)
    with app.test_request_context():
        mission = db.session.get(type(w.mission), w.mission.id)
        [item] = worklist.items(mission)
        assert item.section == "referrals" and item.urgent and item.url == "/referrals/"
        assert "Casa Esperanza" in item.title
        assert worklist.items(db.session.get(type(w.supervisor2), w.supervisor2.id)) == []
    mission_web = new_web(app)
    mission_web.login("mission")
    mission_web.post(f"/referrals/{referral_id}/accept", token_page="/referrals/")
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        mission = db.session.get(type(w.mission), w.mission.id)
        assert worklist.items(mission) == []
        titles = [e.title for e in sorted(timeline.entries(mission, case), key=lambda e: e.at)]
        assert titles == ["Referred to IOM Haiti", "Referral accepted by IOM Haiti"]
        caseworker = db.session.get(type(w.caseworker), w.caseworker.id)
        assert len(timeline.entries(caseworker, case)) == 2
        assert timeline.entries(db.session.get(type(w.supervisor2), w.supervisor2.id), case) == []


def test_referral_events_carry_the_case_for_both_organisations(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _refer(web, case_id, w.mission_org.id)
    referral_id = _referral_id(app, case_id)
    mission = new_web(app)
    mission.login("mission")
    mission.post(f"/referrals/{referral_id}/accept", token_page="/referrals/")
    web.post(f"/cases/{case_id}/referrals/{referral_id}/revoke", token_page=f"/cases/{case_id}/referrals")
    with app.app_context():
        rows = [(e.action, e.organisation_id) for e in events() if e.action.startswith("referral.")]
        assert rows == [("referral.create", w.ngo.id), ("referral.accept", w.mission_org.id),
                        ("referral.revoke", w.ngo.id)]
        assert {e.case_id for e in events() if e.action.startswith("referral.")} == {case_id}
        assert db.session.scalar(select(func.count()).select_from(Referral)) == 1
