"""Grants, the one mechanism for access to another organisation's case (issue 12, item 4): made by accepting a
referral, suspended at once when the consent they relied on is withdrawn (both organisations' pages say so), resumed
under a new consent, revoked with the referral; the policies read nothing else."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casemgmt.access import Action, allowed, grants
from casemgmt.access.grants import CaseGrant
from casemgmt.access.policies import case_access
from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent import operations as consent_operations
from casemgmt.consent.models import ConsentRecord
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.referrals import operations as referrals
from casemgmt.referrals.models import Referral
from tests import factories
from tests.conftest import signed_in


def _consent(case: Case, actor, share: bool = True, to_return: bool = False) -> ConsentRecord:
    record = ConsentRecord(id=new_uuid(), case_id=case.id, obtained_on=date.today() - timedelta(days=3),
                           obtained_by_id=actor.id, language="es", point_interview=True, consents_to_share=share,
                           consents_to_return=to_return)
    db.session.add(record)
    db.session.flush()
    return record


def _rows(case: Case) -> list[CaseGrant]:
    return list(db.session.scalars(select(CaseGrant).where(CaseGrant.case_id == case.id)))


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _referred(world, responder, basis: str = "consent"):
    case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
    record = _consent(case, world.caseworker)
    referral = referrals.create_referral(world.caseworker, case, responder.organisation_id,
                                         "MigrationOrChangeOfLocation", consent_basis=basis,
                                         override_reason="Threatened tonight." if basis != "consent" else None)
    referrals.accept_referral(responder, referral)
    db.session.commit()
    return case, record, referral


def test_a_referral_accepted_by_mission_staff_grants_the_organisation(ctx, world):
    case, record, referral = _referred(world, world.mission)
    [row] = _rows(case)
    assert (row.organisation_id, row.user_id, row.level, row.reason_kind, row.reason_id, row.consent_id) == (
        world.mission_org.id, None, "referral", "referral", referral.id, record.id)
    assert (row.granted_by_id, row.suspended_at, row.revoked_at) == (world.mission.id, None, None)
    [event] = _events("grant.create")
    assert event.object_type == "grant" and event.object_id == row.id and event.case_id == case.id
    assert json.loads(event.details) == {
        "to_organisation": world.mission_org.id, "from_organisation": world.ngo.id, "level": "referral",
        "reason_kind": "referral", "reason_id": referral.id, "grants": [row.id], "personal": False, "consent": True}
    assert case_access(world.mission, case) == "referral"


def test_a_caseworker_who_accepts_gets_a_row_of_their_own_and_colleagues_none(ctx, world):
    colleague = factories.user(world.ngo2, "caseworker", "colleague2")
    case, _record, _referral = _referred(world, world.caseworker2)
    rows = _rows(case)
    assert {(r.organisation_id, r.user_id) for r in rows} == {(world.ngo2.id, None), (world.ngo2.id,
                                                                                     world.caseworker2.id)}
    assert case_access(world.caseworker2, case) == "referral"
    assert case_access(world.supervisor2, case) == "referral"  # the organisation's row
    assert case_access(colleague, case) is None  # a caseworker is reached by their own row only


def test_an_override_relies_on_no_consent_and_survives_a_withdrawal(ctx, world):
    case, record, _referral = _referred(world, world.mission, basis="imminent_danger")
    [row] = _rows(case)
    assert row.consent_id is None
    consent_operations.withdraw_consent(world.caseworker, record, "She changed her mind.")
    db.session.commit()
    assert case_access(world.mission, case) == "referral"
    assert _events("grant.suspend") == []


def test_withdrawing_the_consent_suspends_the_grant_at_once_and_audits_it(ctx, world):
    case, record, referral = _referred(world, world.caseworker2)
    other, other_record, _ = _referred(world, world.mission)  # relies on another case's consent: untouched
    assert case_access(world.caseworker2, case) == "referral"
    consent_operations.withdraw_consent(world.caseworker, record, "She fears her employer will find out.")
    # In the same request, before any commit: the per-request answers were forgotten on flush.
    assert case_access(world.caseworker2, case) is None
    assert case_access(world.supervisor2, case) is None
    db.session.commit()
    rows = _rows(case)
    assert len(rows) == 2 and all(r.suspended_at is not None and r.suspended_why == "consent_withdrawn"
                                  and r.revoked_at is None for r in rows)
    [event] = _events("grant.suspend")
    details = json.loads(event.details)
    assert (event.object_type, event.case_id, event.actor_id) == ("grant", case.id, world.caseworker.id)
    assert details == {"to_organisation": world.ngo2.id, "from_organisation": world.ngo.id, "level": "referral",
                       "reason_kind": "referral", "reason_id": referral.id, "grants": sorted(r.id for r in rows),
                       "why": "consent_withdrawn"}
    assert "fears" not in event.details and "María" not in event.details  # nothing about the person
    assert not allowed(world.caseworker2, Action.CASE_VIEW, case)
    assert case_access(world.mission, other) == "referral" and other_record.withdrawn_at is None


def test_both_organisations_pages_say_the_access_is_suspended_and_why(app, world):
    with app.test_request_context():
        case, record, _referral = _referred(world, world.mission)
        reference, case_id = case.reference, case.id
        consent_operations.withdraw_consent(world.caseworker, record, "She asked us to stop sharing.")
        db.session.commit()
    mission = signed_in(app, "mission")
    assert mission.get(f"/cases/{case_id}").status_code == 404
    inbox = mission.get("/referrals/").get_data(as_text=True).replace("&#39;", "'")
    assert reference in inbox and "Access suspended: the person withdrew the consent this sharing relied on." in inbox
    assert f"/cases/{case_id}" not in inbox  # no link to a case it cannot open
    owner = signed_in(app, "caseworker")
    page = owner.get(f"/cases/{case_id}/referrals").get_data(as_text=True).replace("&#39;", "'")
    assert "Access suspended since" in page and "the person withdrew the consent this sharing relied on" in page
    assert "Record the person's new consent to share first" in page
    assert "Resume access under the new consent" not in page  # not offered while it would be refused
    timeline = owner.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert "Access of IOM Haiti suspended" in timeline


def test_the_owner_resumes_a_suspended_access_under_a_new_consent(app, world):
    with app.test_request_context():
        case, record, referral = _referred(world, world.mission)
        case_id, referral_id = case.id, referral.id
        consent_operations.withdraw_consent(world.caseworker, record, "She asked us to stop sharing.")
        db.session.commit()
    owner = signed_in(app, "caseworker")
    url = f"/cases/{case_id}/referrals/{referral_id}/resume"
    refused = owner.post(url, token_page=f"/cases/{case_id}/referrals", follow_redirects=True)
    assert "Record the person" in refused.get_data(as_text=True)
    with app.test_request_context():
        again = _consent(db.session.get(Case, case_id), world.caseworker)
        db.session.commit()
        again_id = again.id
    assert "Resume access under the new consent" in owner.get(f"/cases/{case_id}/referrals").get_data(as_text=True)
    assert signed_in(app, "mission").post(url, token_page="/cases/").status_code in (403, 404)  # not theirs
    assert owner.post(url, token_page=f"/cases/{case_id}/referrals").status_code == 302
    with app.app_context():
        [row] = db.session.scalars(select(CaseGrant).where(CaseGrant.case_id == case_id)).all()
        assert (row.suspended_at, row.consent_id) == (None, again_id)
        assert [json.loads(e.details)["reason_id"] for e in _events("grant.resume")] == [referral_id]
    assert signed_in(app, "mission").get(f"/cases/{case_id}").status_code == 200


def test_revoking_the_referral_revokes_the_grant(ctx, world):
    case, _record, referral = _referred(world, world.caseworker2)
    assert case_access(world.caseworker2, case) == "referral"
    referrals.revoke_referral(world.caseworker, referral)
    assert case_access(world.caseworker2, case) is None  # at once, in the same request
    db.session.commit()
    assert all(r.revoked_at is not None and r.revoked_by_id == world.caseworker.id for r in _rows(case))
    [event] = _events("grant.revoke")
    assert json.loads(event.details)["to_organisation"] == world.ngo2.id


def test_an_expired_grant_reaches_nothing(ctx, world):
    case, _record, _referral = _referred(world, world.mission)
    [row] = _rows(case)
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert case_access(world.mission, case) is None
    row.expires_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert case_access(world.mission, case) == "referral"


def test_the_policies_read_grants_not_referrals(ctx, world):
    """An accepted referral without a grant gives nothing; a grant without a referral gives its level."""
    case = factories.case(world.caseworker)
    db.session.add(Referral(id=new_uuid(), case_id=case.id, from_organisation_id=world.ngo.id,
                            to_organisation_id=world.mission_org.id, reason="Other", status="accepted",
                            responded_by_id=world.mission.id))
    db.session.commit()
    assert case_access(world.mission, case) is None
    grants.grant(world.supervisor, case, world.mission_org.id, "review", "transfer_pending", new_uuid())
    db.session.commit()
    assert case_access(world.mission, case) is None  # a review reaches supervisors only
    reviewer = factories.user(world.mission_org, "supervisor", "missionboss")
    assert case_access(reviewer, case) == "review"
    assert allowed(reviewer, Action.RETURN_VIEW, case) and not allowed(reviewer, Action.RETURN_MANAGE, case)


@pytest.mark.parametrize("level", ["referral", "spying"])
def test_a_grant_of_an_unknown_level_or_reason_is_refused(ctx, world, level):
    case = factories.case(world.caseworker)
    if level == "referral":
        with pytest.raises(ValueError):
            grants.grant(world.supervisor, case, world.mission_org.id, level, "gossip", new_uuid())
    else:
        with pytest.raises(ValueError):
            grants.grant(world.supervisor, case, world.mission_org.id, level, "referral", new_uuid())
