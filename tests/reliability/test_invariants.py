"""The data invariants of docs/invariants.md, each held by the database, on SQLite (a file) and PostgreSQL.

Per invariant: (a) the database refuses the violating row even when the application's check is bypassed, and
(b) two requests running the real operation at the same instant (threads with their own app context, session and
connection, released together by a barrier; a few bounded tries) end with exactly one winner, the loser gets the
operation's clear refusal, nothing of the loser is saved (no row, no audit event) and the audit chain verifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from alembic import command
from alembic.migration import MigrationContext
from flask import current_app
from sqlalchemy import MetaData, Table, func, insert, select, text
from sqlalchemy import types as sa_types
from sqlalchemy.exc import IntegrityError

from casemgmt.access.grants import CaseGrant
from casemgmt.accounts import approvals, recovery
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.errors import AccountError
from casemgmt.accounts.models import AccountRequest, EnrolmentLink, Organisation, RecoveryCode, User
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.audit.verify import verify_chain
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case, StageChange, new_uuid
from casemgmt.consent import operations as consent
from casemgmt.consent.models import ConsentRecord
from casemgmt.core import versions
from casemgmt.core.invariants import violates
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.intake import operations as intake
from casemgmt.intake.models import Contact
from casemgmt.journey import operations as journey
from casemgmt.journey.models import ClosureRequest
from casemgmt.referrals import operations as referrals
from casemgmt.referrals.models import Referral, Transfer
from casemgmt.reintegration import operations as reintegration
from casemgmt.reintegration.models import ReintegrationPlan
from casemgmt.returns import operations as returns
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter import operations as shelter
from casemgmt.shelter.models import Facility, Placement
from casemgmt.tasks import operations as tasks
from casemgmt.tasks.models import Task
from tests import factories
from tests.conftest import drop_postgres_database, make_test_app, postgres_database
from tests.returns import support as return_support

TRIES = 3
TODAY = date.today()


# The race ----------------------------------------------------------------------------------------------------------

def race(app, attempts: list[Callable], refusal: type[Exception] | tuple) -> list[str]:
    """Run each attempt in a thread of its own, as a request would run in a worker of its own. An attempt loads what
    it needs by id, calls `start()` (the barrier: every thread is ready), then runs the operation; the harness
    commits, as the view does. Returns "won", "refused: <message>" or "error: <exception>" per attempt."""
    barrier = threading.Barrier(len(attempts), timeout=20)
    outcomes: list[str] = [""] * len(attempts)

    def run(n: int, attempt: Callable) -> None:
        with app.test_request_context():
            try:
                attempt(barrier.wait)
                db.session.commit()
                outcomes[n] = "won"
            except refusal as exc:
                db.session.rollback()
                outcomes[n] = f"refused: {exc}"
            except Exception as exc:  # a 500 in a real request: the test shows it
                db.session.rollback()
                outcomes[n] = f"error: {exc!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return outcomes


def one_winner(outcomes: list[str], message: str) -> None:
    """Exactly one attempt won; every other one got the operation's refusal (containing `message`), not a 500."""
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused"] * (len(outcomes) - 1) + ["won"], outcomes
    assert all(message in o for o in outcomes if o.startswith("refused")), outcomes


def serialised(outcomes: list[str], message: str) -> None:
    """For steps that may also run one after the other (a second request replaces the first): at least one won, no
    500, and a refused one got the clear message. The invariant itself is asserted by the caller."""
    assert "won" in outcomes and not any(o.startswith("error") for o in outcomes), outcomes
    assert all(message in o for o in outcomes if o.startswith("refused")), outcomes


def chain_intact() -> None:
    checked, problems = verify_chain()
    assert problems == [] and checked > 0


def events(action: str, **where) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    for column, value in where.items():
        query = query.where(getattr(AuditEvent, column) == value)
    return db.session.scalar(query)


def get(model, key):
    return db.session.get(model, key)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def attempt(operation: Callable, user_id: int, row: tuple, *args, **kwargs) -> Callable:
    """An attempt for `race`: load the actor (`user_id`) and the row (`(model, id)`) in the racer's own session, wait
    for the others (`start()`), then run `operation(actor, row, *args, **kwargs)`."""
    model, key = row

    def run(start: Callable) -> None:
        actor, obj = get(User, user_id), get(model, key)
        start()
        operation(actor, obj, *args, **kwargs)
    return run


@contextmanager
def afterwards(app):
    """After a race, in an app context of its own: the test's checks (the block), then the audit chain verifies."""
    with app.app_context():
        yield
        chain_intact()
        db.session.remove()


def made_once(app, model, *where, event: str, **about) -> None:
    """After a race: one `model` row matches `where`, one `event` audit event was written about it (`about`: the
    event's columns) and the audit chain verifies."""
    with afterwards(app):
        assert count(model, *where) == 1
        assert events(event, **about) == 1


@pytest.fixture
def w(app):
    """The factories' world, its objects detached (threads load their own copies by id)."""
    with app.app_context():
        yield factories.detached_world()
        db.session.remove()


def new_case(app, w, **overrides) -> str:
    with app.app_context():
        case_id = factories.case(get(User, w.caseworker.id), **overrides).id
        db.session.remove()
        return case_id


def new_cases(app, w):
    """A new case for each of the TRIES."""
    for _ in range(TRIES):
        yield new_case(app, w)


# The database refuses the violating row, whatever the application checks ----------------------------------------------

def _rows_breaking(name: str, case_id: str, w) -> list:
    """Two rows that together break the invariant behind the index `name` (the application's check bypassed)."""
    org, user_id = w.mission_org.id, w.caseworker.id
    if name == "uq_return_plans_case_active":
        return [_plan_row(case_id, org, "draft"), _plan_row(case_id, org, "arrived")]
    if name == "uq_closure_requests_case_pending":
        return [ClosureRequest(id=new_uuid(), case_id=case_id, code="completed", status="requested")
                for _ in range(2)]
    if name == "uq_account_requests_user_pending":
        return [AccountRequest(user_id=user_id, organisation_id=w.ngo.id, kind=kind, status="requested")
                for kind in ("role", "reset")]
    if name == "uq_enrolment_links_user_open":
        return [EnrolmentLink(user_id=user_id, token_hash=new_uuid(), purpose="reset", expires_at=utcnow())
                for _ in range(2)]
    if name == "uq_placements_case_open":
        return [Placement(id=new_uuid(), case_id=case_id, facility_id=w.facility_id, admitted_on=TODAY)
                for _ in range(2)]
    if name == "uq_referrals_open_per_org":
        return [Referral(id=new_uuid(), case_id=case_id, from_organisation_id=w.ngo.id, to_organisation_id=org,
                         reason="Other", status=status) for status in ("pending", "accepted")]
    if name == "uq_transfers_open_per_case":
        return [Transfer(id=new_uuid(), case_id=case_id, from_organisation_id=w.ngo.id, to_organisation_id=org,
                         status="requested") for _ in range(2)]
    if name == "ix_reintegration_plans_case":
        return [ReintegrationPlan(id=new_uuid(), case_id=case_id, created_on=TODAY, responsible_organisation_id=org)
                for _ in range(2)]
    raise AssertionError(name)


def _rows_allowed(name: str, case_id: str, w) -> list:
    """Rows the same index lets through: the finished, cancelled or decided ones do not count."""
    org, user_id = w.mission_org.id, w.caseworker.id
    if name == "uq_return_plans_case_active":
        return [_plan_row(case_id, org, "cancelled") for _ in range(2)]
    if name == "uq_closure_requests_case_pending":
        return [ClosureRequest(id=new_uuid(), case_id=case_id, code="completed", status=status)
                for status in ("approved", "rejected", "rejected")]
    if name == "uq_account_requests_user_pending":
        return [AccountRequest(user_id=user_id, organisation_id=w.ngo.id, kind="role", status=status)
                for status in ("withdrawn", "approved", "refused", "refused")]
    if name == "uq_enrolment_links_user_open":
        return [EnrolmentLink(user_id=user_id, token_hash=new_uuid(), purpose="reset", expires_at=utcnow(), **kw)
                for kw in ({"used_at": utcnow()}, {"superseded_at": utcnow()}, {"superseded_at": utcnow()})]
    raise AssertionError(name)


NEW_INDEXES = ["uq_return_plans_case_active", "uq_closure_requests_case_pending", "uq_account_requests_user_pending",
               "uq_enrolment_links_user_open"]
EARLIER_INDEXES = ["uq_placements_case_open", "uq_referrals_open_per_org", "uq_transfers_open_per_case",
                   "ix_reintegration_plans_case"]


def test_the_database_refuses_the_second_row(app, w):
    """Per unique index: the rows it lets through are saved, and the row that breaks the rule is refused by the
    database itself (no operation involved, so no application check)."""
    with app.app_context():
        w.facility_id = shelter.create_facility(get(User, w.supervisor.id), FACILITY).id
        db.session.commit()
    for name in NEW_INDEXES + EARLIER_INDEXES:
        case_id = new_case(app, w)
        with app.app_context():
            first, second = _rows_breaking(name, case_id, w)
            db.session.add_all([*(_rows_allowed(name, case_id, w) if name in NEW_INDEXES else []), first])
            db.session.commit()
            db.session.add(second)
            with pytest.raises(IntegrityError) as refused:
                db.session.flush()
            assert violates(refused.value, name), name
            db.session.rollback()
            db.session.remove()


# Creations raced: exactly one is made --------------------------------------------------------------------------------

PLAN_REFUSAL = "This case already has a return plan"


def _plan_row(case_id: str, org_id: int, status: str = "draft") -> ReturnPlan:
    return ReturnPlan(id=new_uuid(), case_id=case_id, status=status, receiving_organisation_id=org_id,
                      destination_country="HT", travel_document_status="none")


def test_two_return_plans_started_at_once_make_one(app, w):
    """Issue 11, finding 4: two "start return plan" at the same instant made two active plans (4-5 of 5 tries)."""
    values = {"receiving_organisation_id": w.mission_org.id, "destination_country": "HT"}
    for case_id in new_cases(app, w):
        start_plan = attempt(returns.create_plan, w.caseworker.id, (Case, case_id), values)
        one_winner(race(app, [start_plan, start_plan], returns.ReturnError), PLAN_REFUSAL)
        made_once(app, ReturnPlan, ReturnPlan.case_id == case_id, event="return.plan_create", case_id=case_id)


def test_two_closure_requests_at_once_make_one(app, w):
    for case_id in new_cases(app, w):
        ask = attempt(journey.request_closure, w.caseworker.id, (Case, case_id), "completed",
                      "The person is safe at home and asked to close.")
        one_winner(race(app, [ask, ask], journey.JourneyError), "already waiting for a supervisor")
        made_once(app, ClosureRequest, ClosureRequest.case_id == case_id, event="closure.request", case_id=case_id)


FACILITY = {"name": "Casa Refugio", "facility_type": "shelter", "bed_capacity": 5, "age_group": "adults",
            "active": True, "address": None}


def _facility(app, w, beds: int, name: str = "Casa Refugio") -> int:
    with app.app_context():
        facility_id = shelter.create_facility(get(User, w.supervisor.id), {**FACILITY, "name": name,
                                                                           "bed_capacity": beds}).id
        db.session.commit()
        db.session.remove()
        return facility_id


def test_one_person_admitted_twice_at_once_holds_one_bed(app, w):
    beds = [_facility(app, w, 5, "Casa Norte"), _facility(app, w, 5, "Casa Sur")]
    for case_id in new_cases(app, w):
        places = [attempt(shelter.admit, w.caseworker.id, (Case, case_id), facility_id, TODAY) for facility_id in beds]
        one_winner(race(app, places, shelter.PlacementError), "is already placed in")
        made_once(app, Placement, Placement.case_id == case_id, event="placement.admit", case_id=case_id)


def test_two_people_admitted_into_the_last_bed_at_once_one_gets_it(app, w):
    """Occupancy never above capacity. SQLite's driver opens the transaction at the first write, so FOR UPDATE (which
    SQLite ignores) held nothing there: both admissions counted one free bed."""
    for n in range(TRIES):
        facility_id = _facility(app, w, 1, f"Casa {n}")
        case_ids = [new_case(app, w), new_case(app, w)]
        places = [attempt(shelter.admit, w.caseworker.id, (Case, c), facility_id, TODAY) for c in case_ids]
        one_winner(race(app, places, shelter.PlacementError), "is full: 1 of 1 beds")
        with afterwards(app):
            assert count(Placement, Placement.facility_id == facility_id) == 1


def _share_consent(app, case_id: str, actor_id: int) -> None:
    with app.app_context():
        db.session.add(ConsentRecord(id=new_uuid(), case_id=case_id, obtained_on=TODAY, obtained_by_id=actor_id,
                                     language="es", point_interview=True, consents_to_share=True))
        db.session.commit()
        db.session.remove()


def test_two_referrals_to_one_organisation_at_once_make_one(app, w):
    for case_id in new_cases(app, w):
        _share_consent(app, case_id, w.caseworker.id)
        refer = attempt(referrals.create_referral, w.caseworker.id, (Case, case_id), w.mission_org.id,
                        "MigrationOrChangeOfLocation")
        one_winner(race(app, [refer, refer], referrals.ReferralError), "already referred to IOM Haiti")
        made_once(app, Referral, Referral.case_id == case_id, event="referral.create", case_id=case_id)


def test_two_transfer_requests_at_once_make_one(app, w):
    for case_id in new_cases(app, w):
        _share_consent(app, case_id, w.caseworker.id)
        hand_over = attempt(referrals.request_transfer, w.caseworker.id, (Case, case_id), w.ngo2.id,
                            "The person moved to Bogotá.")
        one_winner(race(app, [hand_over, hand_over], referrals.ReferralError), "already waiting for a decision")
        made_once(app, Transfer, Transfer.case_id == case_id, event="transfer.request", case_id=case_id)


def test_two_first_reintegration_plans_at_once_make_one(app, w):
    values = {"created_on": TODAY, "support_types": ["Livelihood"], "objectives": "A small bakery in Jacmel.",
              "responsible_organisation_id": w.ngo.id}
    for case_id in new_cases(app, w):
        plan = attempt(reintegration.save_plan, w.caseworker.id, (Case, case_id), values)
        one_winner(race(app, [plan, plan], reintegration.ReintegrationError), "has just made this case's")
        made_once(app, ReintegrationPlan, ReintegrationPlan.case_id == case_id, event="reintegration.plan_create",
                  case_id=case_id)


def _colleague(app, org_id: int, role: str) -> int:
    with app.app_context():
        user_id = factories.user(get(Organisation, org_id), role).id
        db.session.remove()
        return user_id


def test_two_role_change_requests_at_once_leave_one_waiting(app, w):
    """Run at once, the second is refused; run one after the other, the second withdraws the first (the rule for
    a newer request). Either way one request waits."""
    admins = [w.admin.id, _colleague(app, w.ngo.id, "administrator")]
    for _ in range(TRIES):
        target = _colleague(app, w.ngo.id, "hotline_operator")
        asks = [attempt(accounts.request_role_change, admins[0], (User, target), "caseworker"),
                attempt(accounts.request_role_change, admins[1], (User, target), "supervisor")]
        serialised(race(app, asks, AccountError), "Someone else has just filed a request about this account")
        with afterwards(app):
            waiting = count(AccountRequest, AccountRequest.user_id == target, AccountRequest.status == "requested")
            assert waiting == 1
            assert events("account_request.create") == count(AccountRequest)


def test_two_resets_of_one_account_at_once_leave_one_working_link(app, w):
    """Run at once, the second is refused by the index; run one after the other (SQLite's write lock often makes
    them so), the second supersedes the first one's link, as two resets in a row would. Either way one link works."""
    for _ in range(TRIES):
        target = _colleague(app, w.ngo.id, "administrator")

        def reset(start, target=target):
            user = get(User, target)
            start()
            accounts.reset_now(SYSTEM, user)  # `casemgmt users reset`, typed by two operators at once

        outcomes = race(app, [reset, reset], AccountError)
        serialised(outcomes, "has just made a link")
        with afterwards(app):
            usable = count(EnrolmentLink, EnrolmentLink.user_id == target, EnrolmentLink.used_at.is_(None),
                           EnrolmentLink.superseded_at.is_(None))
            assert usable == 1
            assert events("user.enrol_link", object_id=str(target)) == outcomes.count("won")


def test_two_accounts_with_one_username_at_once_make_one(app, w):
    for n in range(TRIES):
        def create(start, n=n):
            start()
            accounts.create_user(SYSTEM, f"ana.quispe{n}", "Ana", w.ngo.id, "caseworker", factories.PASSWORD)

        one_winner(race(app, [create, create], AccountError), "This username is taken.")
        with afterwards(app):
            assert count(User, User.username == f"ana.quispe{n}") == 1


def test_two_facilities_with_one_name_at_once_make_one(app, w):
    supervisors = [w.supervisor.id, _colleague(app, w.ngo.id, "supervisor")]
    for n in range(TRIES):
        def create(supervisor_id, n=n):
            def run(start):
                actor = get(User, supervisor_id)
                start()
                shelter.create_facility(actor, {**FACILITY, "name": f"Casa Luz {n}"})
            return run

        one_winner(race(app, [create(s) for s in supervisors], shelter.PlacementError), "already has a facility")
        with afterwards(app):
            assert count(Facility, Facility.name == f"Casa Luz {n}") == 1


# A step sent twice is taken once -------------------------------------------------------------------------------------

def test_two_supervisors_approving_one_closure_close_the_case_once(app, w):
    supervisors = [w.supervisor.id, _colleague(app, w.ngo.id, "supervisor")]
    for case_id in new_cases(app, w):
        with app.app_context():
            request_id = journey.request_closure(get(User, w.caseworker.id), get(Case, case_id), "completed",
                                                 "Assistance completed.").id
            db.session.commit()
            db.session.remove()

        approving = [attempt(journey.approve_closure, s, (ClosureRequest, request_id)) for s in supervisors]
        one_winner(race(app, approving, journey.JourneyError), "already")
        with afterwards(app):
            assert count(StageChange, StageChange.case_id == case_id, StageChange.to_stage == "closed") == 1
            assert events("closure.approve", case_id=case_id) == 1
            assert get(Case, case_id).stage == "closed"


def _submitted_plan(app, w, case_id: str) -> str:
    """A complete return plan for the case, with consent, submitted for approval."""
    with app.app_context():
        caseworker, case = get(User, w.caseworker.id), get(Case, case_id)
        return_support.consent(case, caseworker)
        plan = return_support.complete_plan(caseworker, case, get(Organisation, w.mission_org.id))
        returns.submit_plan(caseworker, plan)
        plan_id = plan.id
        db.session.commit()
        db.session.remove()
        return plan_id


def test_two_supervisors_approving_one_return_plan_approve_it_once(app, w):
    supervisors = [w.supervisor.id, _colleague(app, w.ngo.id, "supervisor")]
    for case_id in new_cases(app, w):
        plan_id = _submitted_plan(app, w, case_id)
        approving = [attempt(returns.approve_plan, s, (ReturnPlan, plan_id)) for s in supervisors]
        outcomes = race(app, approving, returns.ReturnError)
        one_winner(outcomes, "")
        assert any(m in o for o in outcomes for m in ("Someone else changed this return plan",
                                                      "Only a plan submitted for approval")), outcomes
        with afterwards(app):
            assert events("return.approve", case_id=case_id) == 1
            assert get(ReturnPlan, plan_id).approved_by_id in supervisors


def test_an_edit_racing_an_approval_never_leaves_an_unseen_change_approved(app, w):
    """A change after approval withdraws it. An edit that read "submitted" while a supervisor approved must not slip
    in after the approval with the plan still approved: one of the two is refused."""
    for case_id in new_cases(app, w):
        plan_id = _submitted_plan(app, w, case_id)
        approve = attempt(returns.approve_plan, w.supervisor.id, (ReturnPlan, plan_id))
        edit = attempt(returns.record_itinerary, w.caseworker.id, (ReturnPlan, plan_id),
                       {**return_support.ITINERARY, "route_details": "By bus via Dajabón"})
        # The edit is refused either way: the approval moved the status, or its version (core/versions.py, which
        # the page answers with the conflict page).
        outcomes = race(app, [approve, edit], (returns.ReturnError, versions.EditConflict))
        assert not any(o.startswith("error") for o in outcomes), outcomes
        with afterwards(app):
            plan = get(ReturnPlan, plan_id)
            approved_after_edit = (
                plan.status == "approved"
                and events("return.itinerary", case_id=case_id) == 2  # complete_plan's and the racing edit
                and db.session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.action == "return.approve"))
                < db.session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.action == "return.itinerary"))
            )
            assert not approved_after_edit, outcomes


def test_one_discharge_sent_twice_is_recorded_once(app, w):
    facility_id = _facility(app, w, 10)
    for case_id in new_cases(app, w):
        with app.app_context():
            placement_id = shelter.admit(get(User, w.caseworker.id), get(Case, case_id), facility_id,
                                         TODAY - timedelta(days=5)).id
            db.session.commit()
            db.session.remove()

        discharge = attempt(shelter.discharge, w.caseworker.id, (Placement, placement_id), TODAY, "returned_home")
        one_winner(race(app, [discharge, discharge], shelter.PlacementError), "This placement has already ended.")
        with afterwards(app):
            assert events("placement.discharge", case_id=case_id) == 1


def _referral(app, w, case_id: str) -> str:
    with app.app_context():
        referral_id = referrals.create_referral(get(User, w.caseworker.id), get(Case, case_id), w.ngo2.id,
                                                "AdditionalServicesRequired").id
        db.session.commit()
        db.session.remove()
        return referral_id


def test_one_referral_answered_twice_at_once_is_answered_once(app, w):
    for case_id in new_cases(app, w):
        _share_consent(app, case_id, w.caseworker.id)
        referral = (Referral, _referral(app, w, case_id))
        answers = [attempt(referrals.accept_referral, w.caseworker2.id, referral),
                   attempt(referrals.decline_referral, w.supervisor2.id, referral)]
        one_winner(race(app, answers, referrals.ReferralError), "already been answered or withdrawn")
        with afterwards(app):
            assert events("referral.accept", case_id=case_id) + events("referral.decline", case_id=case_id) == 1


def test_one_transfer_decided_twice_at_once_moves_the_case_once(app, w):
    supervisors = [w.supervisor.id, _colleague(app, w.ngo.id, "supervisor")]
    with app.app_context():
        receivers = [w.supervisor2.id, factories.user(get(Organisation, w.ngo2.id), "supervisor", "takerboss").id]
        db.session.remove()
    for case_id in new_cases(app, w):
        _share_consent(app, case_id, w.caseworker.id)
        with app.app_context():
            transfer_id = referrals.request_transfer(get(User, w.caseworker.id), get(Case, case_id), w.ngo2.id,
                                                     "The person moved to Bogotá.", keep_access=True).id
            db.session.commit()
            db.session.remove()

        approving = [attempt(referrals.approve_transfer, s, (Transfer, transfer_id)) for s in supervisors]
        one_winner(race(app, approving, referrals.ReferralError), "")
        with afterwards(app):
            assert events("transfer.approve", case_id=case_id) == 1
            # One review grant for the receiving organisation; the case waits for its answer.
            assert count(CaseGrant, CaseGrant.reason_id == transfer_id) == 1
            assert get(Case, case_id).organisation_id == w.ngo.id
        # The receiving organisation's two supervisors answer at once: the case moves once.
        accepting = [attempt(referrals.accept_transfer, s, (Transfer, transfer_id)) for s in receivers]
        one_winner(race(app, accepting, referrals.ReferralError), "")
        with afterwards(app):
            assert events("transfer.accept", case_id=case_id) == 1
            assert count(Referral, Referral.case_id == case_id, Referral.to_organisation_id == w.ngo.id) == 1
            assert get(Case, case_id).organisation_id == w.ngo2.id


def test_one_account_request_approved_twice_at_once_makes_one_link(app, w):
    supervisors = [w.supervisor.id, _colleague(app, w.ngo.id, "supervisor")]
    for n in range(TRIES):
        with app.app_context():
            outcome = accounts.add_account(get(User, w.admin.id), f"rosa{n}", "Rosa", w.ngo.id, "caseworker")
            request_id, user_id = outcome.request.id, outcome.user.id
            db.session.commit()
            db.session.remove()

        approving = [attempt(approvals.approve, s, (AccountRequest, request_id)) for s in supervisors]
        one_winner(race(app, approving, AccountError), "already been decided")
        made_once(app, EnrolmentLink, EnrolmentLink.user_id == user_id, event="account_request.approve",
                  object_id=str(request_id))


def test_one_task_completed_twice_at_once_is_completed_once(app, w):
    for _ in range(TRIES):
        with app.app_context():
            task_id = tasks.create_task(get(User, w.caseworker.id), None, {
                "title": "Call the consulate", "due_on": TODAY, "priority": "normal"}).id
            db.session.commit()
            db.session.remove()

        done = [attempt(tasks.complete_task, user_id, (Task, task_id))
                for user_id in (w.caseworker.id, w.supervisor.id)]
        one_winner(race(app, done, tasks.TaskError), "This task is already done.")
        with afterwards(app):
            assert events("task.complete", object_id=task_id) == 1


def test_one_consent_withdrawn_twice_at_once_is_withdrawn_once(app, w):
    for case_id in new_cases(app, w):
        with app.app_context():
            record_id = consent.record_consent(get(User, w.caseworker.id), get(Case, case_id), {
                "obtained_on": TODAY, "language": "es", "point_interview": True, "consents_to_share": True}).id
            db.session.commit()
            db.session.remove()

        withdrawals = [attempt(consent.withdraw_consent, user_id, (ConsentRecord, record_id),
                               "She no longer wants her data shared.")
                       for user_id in (w.caseworker.id, w.supervisor.id)]
        one_winner(race(app, withdrawals, consent.ConsentError), "already been withdrawn")
        with afterwards(app):
            assert events("consent.withdraw", case_id=case_id) == 1


def test_one_contact_opened_as_a_case_twice_at_once_makes_one_case(app, w):
    for _ in range(TRIES):
        with app.app_context():
            contact_id = intake.log_contact(get(User, w.hotline.id), {"channel": "phone", "call_type": "crisis"}).id
            db.session.commit()
            cases_before = count(Case)
            db.session.remove()

        openings = [attempt(intake.open_case_from_contact, user_id, (Contact, contact_id),
                            {"given_name": "Lucía", "unaccompanied_or_separated": False}, create_anyway=True)
                    for user_id in (w.hotline.id, w.caseworker.id)]
        one_winner(race(app, openings, intake.IntakeError), "already linked to a case")
        with afterwards(app):
            assert count(Case) == cases_before + 1
            assert get(Contact, contact_id).case_id is not None
            assert events("intake.case_opened", object_id=contact_id) == 1


def test_one_stage_change_sent_twice_at_once_is_made_once(app, w):
    for case_id in new_cases(app, w):
        moves = [attempt(cases.change_stage, user_id, (Case, case_id), "counseling", None)
                 for user_id in (w.caseworker.id, w.supervisor.id)]
        one_winner(race(app, moves, cases.CaseError), "Someone else changed this case just now")
        made_once(app, StageChange, StageChange.case_id == case_id, StageChange.to_stage == "counseling",
                  event="case.stage_change", case_id=case_id)


def test_recovery_codes_regenerated_twice_at_once_leave_one_set(app, w):
    with app.app_context():
        user = get(User, w.caseworker.id)
        user.totp_secret = b"enrolled"  # regenerating needs two-factor login on; the secret itself is not used
        recovery.replace_codes(user)
        db.session.commit()
        db.session.remove()
    for _ in range(TRIES):
        def regenerate(start):
            actor = get(User, w.caseworker.id)
            start()
            accounts.regenerate_recovery_codes(actor, factories.PASSWORD)

        outcomes = race(app, [regenerate, regenerate], AccountError)
        assert outcomes == ["won", "won"], outcomes  # both may regenerate; the later set replaces the earlier
        with afterwards(app):
            assert count(RecoveryCode, RecoveryCode.user_id == w.caseworker.id) == recovery.COUNT


# The migration ------------------------------------------------------------------------------------------------------

BEFORE = "e1a2b3c4d5f6"


def _upgrade(revision: str = "head") -> None:
    """Alembic's own command: Flask-Migrate's upgrade() turns a refused migration into sys.exit(1)."""
    command.upgrade(current_app.extensions["migrate"].migrate.get_config(), revision)


def _partial_indexes() -> dict[str, str]:
    if db.engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '% WHERE %'"
    with db.engine.connect() as conn:
        return dict(conn.execute(text(query)).all())


@pytest.fixture
def migrating(app, backend, tmp_path):
    """An app on an empty database of its own, built by the migrations up to the revision before this one."""
    url = postgres_database("invariants_migration") if backend == "postgresql" else None
    application = make_test_app(tmp_path, url)
    try:
        with application.app_context():
            _upgrade(BEFORE)
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if url:
            drop_postgres_database(url)


def _rows_before(table: str, rows: list[dict]) -> None:
    """Rows written in the schema of revision BEFORE, which the models (the head's: organisation time zones,
    record versions...) no longer describe. Required columns a row leaves out get a plain value of their type."""
    reflected = Table(table, MetaData(), autoload_with=db.session.connection())
    plain = {sa_types.Boolean: False, sa_types.Integer: 0, sa_types.DateTime: utcnow(), sa_types.Date: date.today(),
             sa_types.String: "x"}
    filled = []
    for row in rows:
        row = dict(row)
        for column in reflected.columns:
            generated = column.primary_key and isinstance(column.type, sa_types.Integer)
            if column.name in row or column.nullable or column.server_default is not None or generated:
                continue
            row[column.name] = next(v for kind, v in plain.items() if isinstance(column.type, kind))
        filled.append(row)
    db.session.execute(insert(reflected), filled)


def test_the_migration_refuses_rows_that_break_a_rule_and_names_them(migrating, app):
    now = utcnow()
    _rows_before("organisations", [{"name": name, "org_type": kind, "country": country, "created_at": now}
                                   for name, kind, country in (("Casa Esperanza", "ngo", "PE"),
                                                               ("IOM Haiti", "iom_mission", "HT"))])
    ngo, mission = db.session.execute(text("SELECT id FROM organisations ORDER BY id")).scalars().all()
    _rows_before("users", [{"username": "hotline1", "organisation_id": ngo, "role": "hotline", "active": True}])
    user_id = db.session.execute(text("SELECT id FROM users")).scalar_one()
    case_id = new_uuid()
    _rows_before("cases", [{"id": case_id, "reference": "C-MIGRATE1", "organisation_id": ngo, "stage": "intake",
                            "status": "Active", "version": 1}])
    plans = [new_uuid() for _ in range(2)]
    _rows_before("return_plans", [{"id": p, "case_id": case_id, "status": "draft", "receiving_organisation_id": mission,
                                   "destination_country": "HT", "travel_document_status": "none"} for p in plans])
    closures = [new_uuid() for _ in range(2)]
    _rows_before("closure_requests", [{"id": c, "case_id": case_id, "code": "completed", "status": "requested",
                                       "requested_at": now} for c in closures])
    _rows_before("enrolment_links", [{"user_id": user_id, "token_hash": new_uuid(), "purpose": "reset",
                                      "expires_at": now, "created_at": now} for _ in range(3)])
    db.session.commit()
    link_ids = db.session.execute(text("SELECT id FROM enrolment_links")).scalars().all()

    with pytest.raises(RuntimeError) as refused:
        _upgrade()
    message = str(refused.value)
    assert f"case {case_id} has 2 return plans that are not cancelled" in message
    assert all(p in message for p in plans) and all(c in message for c in closures)
    assert "enrolment" not in message  # resolved, not refused
    db.session.remove()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == BEFORE  # nothing was applied
        assert conn.execute(text("SELECT count(*) FROM enrolment_links WHERE superseded_at IS NULL")).scalar() == 3

    # An operator settles them (the application would: cancel a plan, decide a request), and runs it again.
    db.session.execute(text("UPDATE return_plans SET status = 'cancelled' WHERE id = :id"), {"id": plans[0]})
    db.session.execute(text("UPDATE closure_requests SET status = 'rejected' WHERE id = :id"), {"id": closures[0]})
    db.session.commit()
    db.session.remove()
    _upgrade()
    open_links = db.session.scalars(select(EnrolmentLink.id).where(EnrolmentLink.superseded_at.is_(None))).all()
    assert open_links == [max(link_ids)]  # the newest link works, the older ones are superseded

    # Autogenerate does not compare an index's WHERE clause: compare the definitions with the models' own.
    migrated = _partial_indexes()
    with app.app_context():
        modelled = _partial_indexes()
    assert set(NEW_INDEXES) <= set(migrated)
    assert migrated == modelled
