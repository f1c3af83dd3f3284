"""Each rule of casemgmt/notifications/rules.py: who is told, who is not (another organisation, the actor), what the
notice links to, and which later action settles it. The steps go through the real operations; the actions of features
still being built (return hand-offs, transfer acceptance, grants) are recorded as the audit events they will write."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.accounts import approvals
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import AccountRequest
from casemgmt.cases import operations as cases
from casemgmt.consent import operations as consent_ops
from casemgmt.consent.models import ConsentRecord
from casemgmt.extensions import db
from casemgmt.journey import operations as journey
from casemgmt.notifications import rules
from casemgmt.notifications.models import Notification
from casemgmt.referrals import operations as referrals
from casemgmt.referrals.models import Referral
from casemgmt.returns import operations as returns
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.notifications.support import Seen, everyone_told, kinds, notices, referred, shared_consent
from tests.returns.support import complete_plan, new_plan
from tests.returns.support import consent as consent_to_return

TODAY = date.today()


def _referred(world, case, to_org=None) -> Referral:
    return referred(world.caseworker, case, to_org or world.mission_org)


# Referrals and hand-offs ----------------------------------------------------------------------------------------------

def test_a_referral_tells_the_receiving_staff_and_an_answer_settles_it_for_all_of_them(ctx, world):
    lead = factories.user(world.mission_org, "supervisor", "missionlead")
    case = factories.case(world.caseworker)
    referral = _referred(world, case)
    assert everyone_told("referral_received") == {world.mission.id, lead.id}  # not the sender, not another NGO
    assert notices(world.mission) == [Seen("referral_received", "/referrals/", False, False, case.id)]

    referrals.accept_referral(world.mission, referral)
    db.session.commit()
    # The colleague who did not answer sees it done; the sender learns the answer, with a link to the case.
    assert notices(lead) == [Seen("referral_received", "/referrals/", False, True, case.id)]
    assert notices(world.mission)[0].done
    assert notices(world.caseworker) == [
        Seen("referral_accepted", f"/cases/{case.id}/referrals", False, False, case.id)]
    assert kinds(world.caseworker2) == kinds(world.supervisor2) == []


def test_a_declined_referral_tells_the_sender(ctx, world):
    referral = _referred(world, factories.case(world.caseworker))
    referrals.decline_referral(world.mission, referral, "No capacity this month.")
    db.session.commit()
    assert kinds(world.caseworker) == ["referral_declined"]
    assert notices(world.mission)[0].done


def test_a_revoked_referral_settles_the_waiting_notice(ctx, world):
    referral = _referred(world, factories.case(world.caseworker))
    referrals.revoke_referral(world.caseworker, referral)
    db.session.commit()
    assert [(n.kind, n.done) for n in notices(world.mission)] == [("referral_received", True)]


def test_a_return_plans_handoff_tells_the_receiving_organisation(ctx, world):
    """Naming the receiving organisation on a return plan sends it a hand-off (referrals.operations.hand_off)."""
    case = factories.case(world.caseworker)
    consent_to_return(case, world.caseworker)
    new_plan(world.caseworker, case, world.mission_org)
    db.session.commit()
    assert notices(world.mission) == [Seen("handoff_received", "/referrals/", False, False, case.id)]
    assert kinds(world.caseworker) == kinds(world.supervisor2) == []


# Approvals ------------------------------------------------------------------------------------------------------------

def test_a_submitted_return_plan_waits_for_the_supervisors_and_the_approval_goes_back_to_the_submitter(ctx, world):
    case = factories.case(world.caseworker)
    consent_to_return(case, world.caseworker)
    plan = complete_plan(world.caseworker, case, world.mission_org)
    db.session.commit()
    returns.submit_plan(world.caseworker, plan)
    db.session.commit()
    assert everyone_told("return_submitted") == {world.supervisor.id}
    assert notices(world.supervisor, "return_submitted")[0].link == f"/cases/{case.id}/return"

    returns.approve_plan(world.supervisor, plan)
    db.session.commit()
    assert notices(world.supervisor, "return_submitted")[0].done
    assert [(n.kind, n.link) for n in notices(world.caseworker, "return_approved")] == [
        ("return_approved", f"/cases/{case.id}/return")]
    assert kinds(world.supervisor2) == []


def test_a_supervisor_who_submits_is_not_asked_to_approve_their_own_plan(ctx, world):
    second = factories.user(world.ngo, "supervisor", "supervisorb")
    case = factories.case(world.supervisor)
    consent_to_return(case, world.supervisor)
    plan = complete_plan(world.supervisor, case, world.mission_org)
    returns.submit_plan(world.supervisor, plan)
    db.session.commit()
    assert everyone_told("return_submitted") == {second.id}


def test_a_change_to_an_approved_plan_asks_the_supervisors_again(ctx, world):
    case = factories.case(world.caseworker)
    consent_to_return(case, world.caseworker)
    plan = complete_plan(world.caseworker, case, world.mission_org)
    returns.submit_plan(world.caseworker, plan)
    returns.approve_plan(world.supervisor, plan)
    db.session.commit()
    returns.record_itinerary(world.caseworker, plan, {"escort_required": True, "escort_name": "Rose Pierre"})
    db.session.commit()
    assert [(n.kind, n.done) for n in notices(world.supervisor)] == [
        ("return_submitted", True), ("return_submitted", False)]


def test_a_closure_request_waits_for_a_supervisor_and_each_decision_reaches_the_caseworker(ctx, world):
    first, second = factories.case(world.caseworker), factories.case(world.caseworker)
    other = factories.case(world.caseworker2)
    approve = journey.request_closure(world.caseworker, first, "completed", "All services delivered.")
    refuse = journey.request_closure(world.caseworker, second, "completed", "Done.")
    journey.request_closure(world.caseworker2, other, "completed", "Done there.")
    db.session.commit()
    assert everyone_told("closure_requested") == {world.supervisor.id, world.supervisor2.id}
    assert [n.link for n in notices(world.supervisor)] == [f"/cases/{first.id}/closure", f"/cases/{second.id}/closure"]
    assert world.caseworker.id not in everyone_told("closure_requested")

    journey.approve_closure(world.supervisor, approve)
    journey.reject_closure(world.supervisor, refuse, "The legal follow-up is still open.")
    db.session.commit()
    assert [n.done for n in notices(world.supervisor)] == [True, True]
    assert kinds(world.caseworker) == ["closure_approved", "closure_rejected"]
    assert [n.done for n in notices(world.supervisor2)] == [False]  # another organisation's request still waits


def test_a_withdrawn_closure_request_settles_the_supervisors_notice(ctx, world):
    request = journey.request_closure(world.caseworker, factories.case(world.caseworker), "completed", "Done.")
    db.session.commit()
    journey.withdraw_closure(world.caseworker, request)
    db.session.commit()
    assert [(n.kind, n.done) for n in notices(world.supervisor)] == [("closure_requested", True)]


def test_a_transfer_waits_for_the_senders_supervisor_then_reaches_the_requester_and_the_receivers(ctx, world):
    case = factories.case(world.caseworker)
    shared_consent(case)
    transfer = referrals.request_transfer(world.caseworker, case, world.ngo2.id, "She moved to Bogotá.")
    db.session.commit()
    assert everyone_told("transfer_requested") == {world.supervisor.id}
    referrals.approve_transfer(world.supervisor, transfer)
    db.session.commit()
    assert notices(world.supervisor)[0].done
    assert kinds(world.caseworker) == ["transfer_approved"]
    # The receiving organisation's supervisors are asked to accept or decline it.
    assert notices(world.supervisor2) == [Seen("transfer_incoming", "/referrals/", False, False, case.id)]
    assert kinds(world.mission) == []


def test_a_refused_transfer_tells_the_requester(ctx, world):
    case = factories.case(world.caseworker)
    shared_consent(case)
    transfer = referrals.request_transfer(world.caseworker, case, world.ngo2.id, "She moved to Bogotá.")
    referrals.reject_transfer(world.supervisor, transfer, "Not yet.")
    db.session.commit()
    assert kinds(world.caseworker) == ["transfer_rejected"]
    assert notices(world.supervisor)[0].done


def test_the_receiving_organisations_answer_to_a_transfer_settles_it_and_reaches_both_senders(ctx, world):
    second = factories.user(world.ngo2, "supervisor", "supervisor2b")
    for answer, kind in ((referrals.accept_transfer, "transfer_accepted"),
                         (referrals.decline_transfer, "transfer_declined")):
        case = factories.case(world.caseworker)
        shared_consent(case)
        transfer = referrals.request_transfer(world.caseworker, case, world.ngo2.id, "She moved to Bogotá.")
        referrals.approve_transfer(world.supervisor, transfer)
        db.session.commit()
        assert [n.done for n in notices(second, "transfer_incoming")][-1] is False
        answer(world.supervisor2, transfer)
        db.session.commit()
        # The requester and the supervisor who approved learn the answer; the other receiving supervisor's
        # notice is settled.
        assert kinds(world.caseworker)[-1] == kind and kinds(world.supervisor)[-1] == kind
        assert all(n.done for n in notices(second, "transfer_incoming"))
        assert kind not in kinds(world.supervisor2)  # the one who answered
    # Once the case is theirs, the receiving supervisors (but the one who accepted) are asked to assign it.
    assert kinds(second).count("transfer_received") == 1 and "transfer_received" not in kinds(world.supervisor2)


def test_an_account_request_waits_for_a_supervisor_and_the_decision_reaches_the_administrator(ctx, world):
    outcome = accounts.add_account(world.admin, "rosa.h", "Rosa H", world.ngo.id, "caseworker")
    db.session.commit()
    assert everyone_told("account_request") == {world.supervisor.id}
    assert notices(world.supervisor)[0].link == "/admin/approvals"
    request = db.session.get(AccountRequest, outcome.request.id)
    approvals.approve(world.supervisor, request)
    db.session.commit()
    assert notices(world.supervisor)[0].done
    assert [(n.kind, n.link) for n in notices(world.admin)] == [
        ("account_request_approved", f"/admin/users/{request.user_id}")]
    assert kinds(world.supervisor2) == []


# Tasks ----------------------------------------------------------------------------------------------------------------

def test_a_task_reaches_its_assignee_follows_a_handover_and_is_settled_when_done(ctx, world):
    case = factories.case(world.caseworker)
    due = TODAY + timedelta(days=3)
    mine = tasks.create_task(world.caseworker, case, {"title": "Call the shelter", "due_on": due})
    given = tasks.create_task(world.caseworker, case, {"title": "Book the interpreter", "due_on": due,
                                                       "assignee_id": world.caseworker_b.id})
    db.session.commit()
    assert kinds(world.caseworker) == []  # one's own task needs no notice
    assert notices(world.caseworker_b) == [Seen("task_assigned", f"/tasks/{given.id}/edit", False, False, case.id)]

    tasks.update_task(world.caseworker, given, {"title": "Book the Quechua interpreter"})
    db.session.commit()
    assert len(notices(world.caseworker_b)) == 1  # a new title is no new assignment

    tasks.update_task(world.caseworker, given, {"assignee_id": world.supervisor.id})
    db.session.commit()
    assert [n.done for n in notices(world.caseworker_b)] == [True]  # no longer theirs
    assert kinds(world.supervisor) == ["task_assigned"]

    tasks.complete_task(world.supervisor, given)
    tasks.complete_task(world.caseworker, mine)
    db.session.commit()
    assert [n.done for n in notices(world.supervisor)] == [True]


# Consent and shared access --------------------------------------------------------------------------------------------

def test_withdrawn_consent_tells_the_caseworker_and_suspended_access_tells_both_organisations(ctx, world):
    """The referral rested on this consent: withdrawing it suspends the mission's access (access/grants.py). The
    caseworker hears of the consent, both organisations of the suspended access; nobody else."""
    case = factories.case(world.hotline, assigned_to_id=world.caseworker.id)
    referral = _referred(world, case)
    referrals.accept_referral(world.mission, referral)
    db.session.commit()
    record = db.session.scalar(select(ConsentRecord).where(ConsentRecord.case_id == case.id))
    consent_ops.withdraw_consent(world.hotline, record, "She no longer wants the mission involved.")
    db.session.commit()
    assert everyone_told("consent_withdrawn") == {world.caseworker.id}
    assert notices(world.caseworker, "consent_withdrawn")[0].link == f"/cases/{case.id}/consent"
    assert everyone_told("access_suspended") == {world.supervisor.id, world.mission.id}
    assert notices(world.supervisor, "access_suspended")[0].link == f"/cases/{case.id}/referrals"
    assert notices(world.mission, "access_suspended")[0].link == "/referrals/"  # the case no longer opens for them
    assert kinds(world.caseworker2) == kinds(world.supervisor2) == []


def test_withdrawn_consent_tells_the_organisations_whose_access_goes_on(ctx, world):
    """A referral made without consent (the person is a minor) is not suspended by a withdrawal: the receiving
    organisation still works on the case, and is told."""
    case = factories.case(world.hotline, assigned_to_id=world.caseworker.id, date_of_birth=TODAY.replace(
        year=TODAY.year - 15))
    record = shared_consent(case)
    referral = referrals.create_referral(world.caseworker, case, world.mission_org.id, "MigrationOrChangeOfLocation",
                                         consent_basis="minor", override_reason="She is fifteen.")
    referrals.accept_referral(world.mission, referral)
    db.session.commit()
    consent_ops.withdraw_consent(world.hotline, record, "Changed her mind.")
    db.session.commit()
    assert everyone_told("consent_withdrawn") == {world.caseworker.id, world.mission.id}
    assert everyone_told("access_suspended") == set()


def test_withdrawn_consent_by_the_caseworker_tells_the_supervisors_when_nobody_else_is_on_it(ctx, world):
    case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
    record = shared_consent(case)
    consent_ops.withdraw_consent(world.caseworker, record, "Changed her mind.")
    db.session.commit()
    assert everyone_told("consent_withdrawn") == set()  # the caseworker did it: nobody else works on it

    other = factories.case(world.hotline)  # nobody assigned
    record = shared_consent(other)
    consent_ops.withdraw_consent(world.hotline, record, "Changed her mind.")
    db.session.commit()
    assert everyone_told("consent_withdrawn") == {world.supervisor.id}


def test_ended_access_tells_both_organisations(ctx, world):
    case = factories.case(world.caseworker)
    referral = _referred(world, case)
    referrals.accept_referral(world.mission, referral)
    db.session.commit()
    referrals.revoke_referral(world.caseworker, referral)
    db.session.commit()
    assert everyone_told("access_revoked") == {world.supervisor.id, world.mission.id}
    assert kinds(world.supervisor2) == []


def test_a_transfers_review_access_ending_is_no_separate_notice(ctx, world):
    case = factories.case(world.caseworker)
    shared_consent(case)
    transfer = referrals.request_transfer(world.caseworker, case, world.ngo2.id, "She moved to Bogotá.")
    referrals.approve_transfer(world.supervisor, transfer)
    db.session.commit()
    referrals.decline_transfer(world.supervisor2, transfer, "No capacity.")
    db.session.commit()
    assert everyone_told("access_revoked") == set()
    assert {"transfer_declined"} <= set(kinds(world.caseworker))


def test_an_erased_case_settles_every_notice_about_it(ctx, world):
    case = factories.case(world.caseworker)
    tasks.create_task(world.caseworker, case, {"title": "Call", "due_on": TODAY,
                                               "assignee_id": world.caseworker_b.id})
    journey.request_closure(world.caseworker, case, "completed", "Done.")
    db.session.commit()
    cases.erase_case(world.supervisor, case)
    db.session.commit()
    assert [n.done for n in notices(world.caseworker_b)] == [True]
    assert [n.done for n in notices(world.supervisor)] == [True]


# The machinery --------------------------------------------------------------------------------------------------------

def test_a_rolled_back_change_makes_no_notice(ctx, world):
    case = factories.case(world.caseworker)
    tasks.create_task(world.caseworker, case, {"title": "Call", "due_on": TODAY,
                                               "assignee_id": world.caseworker_b.id})
    db.session.rollback()
    tasks.create_task(world.caseworker, case, {"title": "Visit", "due_on": TODAY})
    db.session.commit()
    assert kinds(world.caseworker_b) == []


def test_a_failing_rule_costs_no_change(ctx, world, monkeypatch, caplog):
    def broken(fact):
        raise RuntimeError("a bug in a rule")

    monkeypatch.setitem(rules.RULES, "task.create", broken)
    case = factories.case(world.caseworker)
    task = tasks.create_task(world.caseworker, case, {"title": "Call", "due_on": TODAY,
                                                      "assignee_id": world.caseworker_b.id})
    db.session.commit()
    assert db.session.get(type(task), task.id) is not None
    assert kinds(world.caseworker_b) == []
    assert "notification rule for task.create failed" in caplog.text


def test_no_notice_holds_personal_data(ctx, world):
    """Only kinds, paths made of ids, and case ids: nothing a person wrote or is called."""
    case = factories.case(world.caseworker, given_name="Evangelina", family_name="Quisbert-Zapana")
    _referred(world, case)
    journey.request_closure(world.caseworker, case, "completed", "Evangelina returned to Oruro.")
    tasks.create_task(world.caseworker, case, {"title": "Call Evangelina's aunt", "due_on": TODAY,
                                               "assignee_id": world.caseworker_b.id})
    db.session.commit()
    rows = db.session.execute(select(Notification.__table__)).all()
    assert rows
    for row in rows:
        text = repr(tuple(row))
        assert "Evangelina" not in text and "Quisbert" not in text and "Oruro" not in text
        assert case.reference not in text
