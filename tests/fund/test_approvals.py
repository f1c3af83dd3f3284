"""The fund's approval rules, budget refusal, decimal conversion and refunds, cancellation, corrections."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.access import Action, allowed
from casemgmt.access.policies import OwnRequestRefused
from casemgmt.audit.models import AuditEvent
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.fund import budget, corrections, operations, worklist
from casemgmt.fund.models import FundApproval, FundRequest, Refund
from casemgmt.fund.operations import FundError
from tests import factories
from tests.fund import support
from tests.fund.support import JUSTIFICATION, ask


def test_under_the_limit_one_approval_approves(fund):
    r = ask(fund.w.caseworker, fund.case, fund.project, amount="500.00")  # the limit itself: one approver
    assert (r.status, r.approvals_needed) == ("requested", 1)
    assert operations.approve(fund.w.supervisor, r) is True
    db.session.commit()
    assert r.status == "approved" and r.decided_by_id == fund.w.supervisor.id
    assert not allowed(fund.finance, Action.FUND_APPROVE, r)  # nothing left to approve


def test_above_the_limit_two_different_approvers(fund):
    r = ask(fund.w.caseworker, fund.case, fund.project, amount="500.01")
    assert r.approvals_needed == 2
    assert operations.approve(fund.w.supervisor, r) is False
    db.session.commit()
    assert r.status == "requested" and operations.approval_count(r.id) == 1
    # The same person never approves twice: the policy refuses (no button, 403), and the database would too.
    assert not allowed(fund.w.supervisor, Action.FUND_APPROVE, r)
    with pytest.raises(Forbidden):
        operations.approve(fund.w.supervisor, r)
    db.session.rollback()
    # The worklist offers it to the finance officer, not to the supervisor who approved.
    assert [i.section for i in worklist.items(fund.finance)] == ["approvals"]
    assert "1 of 2" in worklist.items(fund.finance)[0].title
    assert worklist.items(fund.w.supervisor) == []
    assert operations.approve(fund.finance, r) is True  # a finance officer is an approver
    db.session.commit()
    assert r.status == "approved"
    assert sorted(a.approver_id for a in db.session.scalars(
        select(FundApproval).where(FundApproval.request_id == r.id))) == sorted([fund.w.supervisor.id,
                                                                                  fund.finance.id])


def test_nobody_approves_their_own_request(fund):
    sup_case = factories.case(fund.w.supervisor)
    support.enrol(sup_case, fund.project, fund.w.ngo, fund.w.supervisor)
    r = ask(fund.w.supervisor, sup_case, fund.project)
    assert not allowed(fund.w.supervisor, Action.FUND_APPROVE, r)
    with pytest.raises(OwnRequestRefused):
        operations.approve(fund.w.supervisor, r)
    db.session.rollback()
    assert worklist.items(fund.w.supervisor) == []
    assert len(worklist.items(fund.finance)) == 1


def test_another_organisations_approvers_get_404(fund):
    r = ask(fund.w.caseworker, fund.case, fund.project)
    for outsider in (fund.w.supervisor2, fund.finance2):
        with pytest.raises(NotFound):
            operations.load(outsider, r.id, Action.FUND_APPROVE)
        db.session.rollback()
        assert worklist.items(outsider) == []
    assert r.status == "requested"


def test_a_request_over_the_remaining_budget_is_refused_with_the_figures(fund):
    first = ask(fund.w.caseworker, fund.case, fund.project, category="emergency_shelter", amount="180.00")
    assert first.status == "requested"
    r = ask(fund.w.caseworker, fund.case, fund.project, category="emergency_shelter", amount="300.00")
    assert r.status == "refused" and r.remaining_when_refused == Decimal("120.00")
    assert operations.refusal_message(r) == ("Refused: the Emergency shelter line has $120.00 left; this request "
                                             "needs $300.00. It is kept as refused, with these figures.")
    # A refused request holds nothing and waits for nobody.
    shelter = next(f for f in budget.line_figures(fund.project) if f.line.category == "emergency_shelter")
    assert (shelter.waiting, shelter.remaining) == (Decimal("180.00"), Decimal("120.00"))
    assert not allowed(fund.w.supervisor, Action.FUND_APPROVE, r)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == r.id,
                                                       AuditEvent.action == "fund.request"))
    assert '"status":"refused"' in event.details and '"remaining":"120.00"' in event.details
    assert JUSTIFICATION not in event.details and "Clínica" not in event.details


def test_a_category_the_project_does_not_fund_is_refused_naming_what_it_funds(fund):
    with pytest.raises(FundError, match=re.escape("has no budget line for Legal assistance. It funds: Medical care, "
                                                  "Emergency shelter")):
        operations.request_assistance(fund.w.caseworker, fund.case, support.values(fund.project, category="legal"))


def test_a_case_not_enrolled_cannot_ask(fund):
    other = factories.case(fund.w.caseworker)
    with pytest.raises(FundError, match="not enrolled in a project"):
        operations.request_assistance(fund.w.caseworker, other, support.values(fund.project))


def test_htg_converted_at_the_months_rate_and_refunds_add_up_exactly(fund):
    support.rate(fund.w.ngo, "HTG", "USD", "0.0075718")
    r = ask(fund.w.caseworker, fund.case, fund.project, amount="10000.00", currency="HTG", payee_kind="person",
            payee_name="")
    # 10,000.00 HTG x 0.0075718 = 75.718 USD, half-even to the cent: 75.72. Decimal all the way.
    assert (r.amount, r.currency, r.project_amount) == (Decimal("10000.00"), "HTG", Decimal("75.72"))
    assert r.rate == Decimal("0.0075718") and r.rate_month == support.TODAY.replace(day=1)
    assert isinstance(r.project_amount, Decimal)
    operations.approve(fund.w.supervisor, r)
    operations.disburse(fund.finance, r, {"method": "cash", "paid_on": support.TODAY, "reference": "V-1"})
    db.session.commit()
    assert r.status == "disbursed"
    parts = []
    for amount in ("3333.33", "3333.33"):
        parts.append(operations.refund(fund.finance, r, {"amount": amount, "refunded_on": support.TODAY,
                                                         "reason": "Part of the cash was not used"}))
        db.session.commit()
    assert r.status == "disbursed"  # refunded in part only
    with pytest.raises(FundError, match="At most"):
        operations.refund(fund.finance, r, {"amount": "3333.35", "refunded_on": support.TODAY, "reason": "x"})
    db.session.rollback()
    parts.append(operations.refund(fund.finance, r, {"amount": "3333.34", "refunded_on": support.TODAY,
                                                     "reason": "The rest"}))
    db.session.commit()
    # Each part at the request's rate (3,333.33 x 0.0075718 = 25.239... -> 25.24), the last one what is left.
    assert [p.project_amount for p in parts] == [Decimal("25.24"), Decimal("25.24"), Decimal("25.24")]
    assert sum((p.amount for p in parts), Decimal(0)) == r.amount
    assert sum((p.project_amount for p in parts), Decimal(0)) == r.project_amount
    assert (r.status, r.refunded_amount, r.refunded_project_amount) == ("refunded", r.amount, r.project_amount)
    medical = next(f for f in budget.line_figures(fund.project) if f.line.category == "medical")
    assert medical.spent == Decimal("0.00") and medical.remaining == Decimal("1000.00")


def test_the_last_refund_takes_exactly_what_is_left(fund):
    support.rate(fund.w.ngo, "PEN", "USD", "0.2666667")
    r = ask(fund.w.caseworker, fund.case, fund.project, amount="100.00", currency="PEN")
    assert r.project_amount == Decimal("26.67")
    operations.approve(fund.w.supervisor, r)
    operations.disburse(fund.finance, r, {"method": "voucher", "paid_on": support.TODAY})
    a = operations.refund(fund.finance, r, {"amount": "50.00", "refunded_on": support.TODAY, "reason": "half"})
    b = operations.refund(fund.finance, r, {"amount": "50.00", "refunded_on": support.TODAY, "reason": "rest"})
    db.session.commit()
    # 50 x 0.2666667 = 13.333335 -> 13.33; the last takes 26.67 - 13.33 = 13.34, not a second 13.33.
    assert (a.project_amount, b.project_amount) == (Decimal("13.33"), Decimal("13.34"))
    assert a.project_amount + b.project_amount == r.project_amount
    assert db.session.scalar(select(db.func.count()).select_from(Refund)) == 2


def test_a_missing_rate_names_the_month_and_pair_and_saves_nothing(fund):
    with pytest.raises(FundError) as refused:
        operations.request_assistance(fund.w.caseworker, fund.case,
                                      support.values(fund.project, currency="HTG", amount="500.00"))
    db.session.rollback()
    month = support.TODAY.strftime("%B %Y")
    assert f"Finance has not recorded the HTG to USD rate for {month}" in str(refused.value)
    assert db.session.scalar(select(db.func.count()).select_from(FundRequest)) == 0


@pytest.mark.parametrize("amount, message", [("-5", "more than zero"), ("10.555", "at most that many"),
                                             ("1e3x", "as digits"), ("0", "more than zero")])
def test_bad_amounts_are_refused(fund, amount, message):
    with pytest.raises(FundError, match=message):
        operations.request_assistance(fund.w.caseworker, fund.case, support.values(fund.project, amount=amount))


def test_decline_and_cancel_need_a_reason_and_release_the_money(fund):
    a = ask(fund.w.caseworker, fund.case, fund.project, amount="400.00")
    b = ask(fund.w.caseworker, fund.case, fund.project, amount="400.00")
    with pytest.raises(FundError, match="Say why"):
        operations.decline(fund.w.supervisor, a, "  ")
    operations.decline(fund.finance, a, "Covered by the public health insurance (SIS)")
    db.session.commit()
    assert a.status == "declined" and unseal(a, "reason").startswith("Covered")
    operations.approve(fund.w.supervisor, b)
    operations.cancel(fund.w.caseworker, b, "The clinic waived its fee")
    db.session.commit()
    assert b.status == "cancelled"
    # A finance officer cancels nothing; nobody pays a cancelled request.
    assert not allowed(fund.finance, Action.FUND_CANCEL, b)
    with pytest.raises(FundError, match="Only an approved request"):
        operations.disburse(fund.finance, b, {"method": "cash", "paid_on": support.TODAY})
    db.session.rollback()
    medical = next(f for f in budget.line_figures(fund.project) if f.line.category == "medical")
    assert medical.remaining == Decimal("1000.00")


def test_corrections_keep_the_earlier_version_and_a_new_amount_drops_approvals(fund):
    r = ask(fund.w.caseworker, fund.case, fund.project, amount="600.00")
    operations.approve(fund.w.supervisor, r)
    db.session.commit()
    base = r.version
    changed, dropped = corrections.correct_request(
        fund.w.caseworker, r, {**support.values(fund.project, amount="450.00"), "justification": "Revised quote"},
        base, "The clinic sent a lower quote")
    db.session.commit()
    assert sorted(changed) == ["amount", "justification"] and dropped is True
    assert (r.amount, r.project_amount, r.approvals_needed, r.status) == (Decimal("450.00"), Decimal("450.00"), 1,
                                                                          "requested")
    assert operations.approval_count(r.id) == 0
    kept = corrections.history(fund.w.caseworker, corrections.REQUEST_KIND, r)
    assert kept[0].reason == "The clinic sent a lower quote"
    assert ("Justification", JUSTIFICATION) in kept[0].fields and ("Amount", "600.00") in kept[0].fields
    # Over the line's remaining funds: refused with the figures, nothing changed.
    with pytest.raises(FundError, match=r"has \$1,000.00 left for this request; the new amount needs \$1,200.00"):
        corrections.correct_request(fund.w.caseworker, r, support.values(fund.project, amount="1200.00"),
                                    r.version, "typo")
    db.session.rollback()
    assert r.amount == Decimal("450.00")
    # The finance officer never corrects what they may not read.
    with pytest.raises(Forbidden):
        corrections.correct_request(fund.finance, r, support.values(fund.project), r.version, "x")
    db.session.rollback()
    operations.approve(fund.finance, r)
    operations.disburse(fund.finance, r, {"method": "cash", "paid_on": support.TODAY, "reference": "REC-1"})
    db.session.commit()
    changed = corrections.correct_payment(fund.finance, r, {"method": "voucher", "paid_on": support.TODAY,
                                                            "reference": "VCH-77"},
                                          r.disbursement.version, "It was a voucher")
    db.session.commit()
    assert sorted(changed) == ["method", "reference"]
    assert (r.disbursement.method, unseal(r.disbursement, "reference")) == ("voucher", "VCH-77")
    with pytest.raises(Forbidden):  # earlier versions may hold what the finance officer never reads
        corrections.history(fund.finance, corrections.PAYMENT_KIND, r)
    db.session.rollback()
    earlier = corrections.history(fund.w.supervisor, corrections.PAYMENT_KIND, r)
    assert earlier[0].reason == "It was a voucher"
    assert ("Payment reference (voucher number, transfer reference)", "REC-1") in earlier[0].fields
    with pytest.raises(FundError, match="Say what was wrong"):
        corrections.correct_payment(fund.finance, r, {"method": "cash", "paid_on": support.TODAY}, None, " ")
