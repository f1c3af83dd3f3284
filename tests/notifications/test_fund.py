"""The emergency assistance fund's notices (issue 14; rules.py fund_*): a request waits for the supervisors and
finance officers of the requesting organisation who may approve it, never for the requester; each decision settles
the waiting notices and reaches whoever asked; with two approvers, the first one's notice is settled and the
others' wait until the request is approved. Real operations, real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casemgmt.extensions import db
from casemgmt.fund import corrections
from casemgmt.fund import operations as fund
from casemgmt.notifications import queries
from casemgmt.notifications.models import Notification
from tests import factories
from tests.fund import support
from tests.notifications.support import Seen, everyone_told, kinds, notices


@pytest.fixture
def fund_world(world):
    """The world, with a finance officer and a second supervisor in the first NGO, a finance officer in the second,
    a project of the first NGO (limit 500 USD, 1000 on the medical line) and a case of its caseworker enrolled in
    it."""
    world.finance = factories.user(world.ngo, "finance_officer", "finance")
    world.supervisor_b = factories.user(world.ngo, "supervisor", "supervisorb")
    world.finance2 = factories.user(world.ngo2, "finance_officer", "finance2")
    world.project = support.project(world.ngo)
    world.case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id, **support.PERSON)
    support.enrol(world.case, world.project, world.ngo, world.caseworker)
    return world


def _ask(w, amount: str = "100.00", by=None):
    return support.ask(by or w.caseworker, w.case, w.project, amount=amount)


def test_a_request_waits_for_its_organisations_supervisors_and_finance_officers_never_the_requester(ctx, fund_world):
    w = fund_world
    request = _ask(w)
    assert everyone_told("fund_requested") == {w.supervisor.id, w.supervisor_b.id, w.finance.id}
    assert notices(w.finance) == [Seen("fund_requested", f"/fund/{request.id}", False, False, w.case.id)]
    assert kinds(w.caseworker) == []
    # A supervisor's own request waits for the others: nobody approves what they requested.
    own = _ask(w, by=w.supervisor)
    db.session.expire_all()
    told = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "fund_requested", Notification.object_id == own.id)))
    assert told == {w.supervisor_b.id, w.finance.id}


def test_a_request_refused_for_want_of_budget_waits_for_nobody(ctx, fund_world):
    w = fund_world
    refused = _ask(w, amount="5000.00")
    assert refused.status == "refused"
    assert everyone_told("fund_requested") == set()


def test_one_approval_settles_every_waiting_notice_and_tells_the_requester(ctx, fund_world):
    w = fund_world
    request = _ask(w)
    assert fund.approve(w.finance, request) is True
    db.session.commit()
    for approver in (w.supervisor, w.supervisor_b, w.finance):
        assert [(n.kind, n.done) for n in notices(approver)] == [("fund_requested", True)]
    assert notices(w.caseworker) == [Seen("fund_approved", f"/fund/{request.id}", False, False, w.case.id)]
    assert kinds(w.supervisor2) == kinds(w.finance2) == []


def test_above_the_limit_the_first_approvers_notice_is_settled_and_the_others_wait_for_the_second(ctx, fund_world):
    w = fund_world
    request = _ask(w, amount="800.00")
    assert request.approvals_needed == 2
    assert fund.approve(w.supervisor, request) is False
    db.session.commit()
    assert [n.done for n in notices(w.supervisor)] == [True]
    assert [n.done for n in notices(w.supervisor_b)] == [False]
    assert [n.done for n in notices(w.finance)] == [False]
    assert kinds(w.caseworker) == []  # not approved yet

    assert fund.approve(w.finance, request) is True
    db.session.commit()
    assert [n.done for n in notices(w.supervisor_b)] == [True]
    assert [n.done for n in notices(w.finance)] == [True]
    assert kinds(w.caseworker) == ["fund_approved"]


def test_a_declined_request_settles_the_notices_and_tells_the_requester(ctx, fund_world):
    w = fund_world
    request = _ask(w)
    fund.decline(w.supervisor, request, "Another programme covers it.")
    db.session.commit()
    assert [n.done for n in notices(w.finance)] == [True]
    assert [n.done for n in notices(w.supervisor_b)] == [True]
    assert notices(w.caseworker) == [Seen("fund_declined", f"/fund/{request.id}", False, False, w.case.id)]


def test_a_cancelled_request_settles_the_notices_and_tells_nobody(ctx, fund_world):
    w = fund_world
    request = _ask(w)
    fund.cancel(w.caseworker, request, "The clinic treated her for free.")
    db.session.commit()
    for approver in (w.supervisor, w.supervisor_b, w.finance):
        assert [(n.kind, n.done) for n in notices(approver)] == [("fund_requested", True)]
    assert kinds(w.caseworker) == []


def test_a_new_amount_asks_the_approver_who_already_approved_again(ctx, fund_world):
    w = fund_world
    request = _ask(w, amount="800.00")
    fund.approve(w.supervisor, request)
    db.session.commit()
    values = {**corrections.request_snapshot(request), "amount": "700.00"}
    changed, dropped = corrections.correct_request(w.caseworker, request, values, request.version, "Lower quote.")
    db.session.commit()
    assert "amount" in changed and dropped
    # Everyone who may approve has one open notice: the old ones are settled, new ones ask again.
    for approver in (w.supervisor, w.supervisor_b, w.finance):
        assert [n.done for n in notices(approver, "fund_requested")][-1] is False
        assert sum(not n.done for n in notices(approver, "fund_requested")) == 1


def test_the_finance_officers_notice_never_names_the_person(ctx, fund_world):
    w = fund_world
    _ask(w)
    mine = list(db.session.scalars(queries.mine(w.finance)))
    shown = queries.rows(w.finance, mine)
    assert len(shown) == 1
    text = shown[0].text
    assert "assistance fund request" in text and "waiting for your approval" in text
    for word in (*support.PERSON.values(), support.JUSTIFICATION, "Clínica"):
        assert word not in text
    # The case's reference, which is what finance approves and pays against, but never the person.
    assert w.case.reference in text
    # The supervisor, who may open the case, reads its reference.
    supervisors = queries.rows(w.supervisor, list(db.session.scalars(queries.mine(w.supervisor))))
    assert w.case.reference in supervisors[0].text
