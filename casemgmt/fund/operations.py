"""Named verbs of the emergency assistance fund: request, approve, decline, disburse, refund, cancel.

Each checks its policy, writes its audit event (codes, ids and amounts; never the payee's name, the justification
or a reason) and leaves the commit to the caller. Money is Decimal throughout (core/money.py); an amount in another
currency is converted into the project's at the month's rate finance recorded (programmes/rates.py), and that
project amount is what the budget line holds from then on.

Concurrency (docs/invariants.md):
- a request checks the line's remaining funds and inserts itself under the line's row lock (budget.lock_line), so
  two requests for the last funds queue and the second counts the first;
- an approval locks the request's row before counting approvals, so two approvers at once are ordered: the second
  sees the first's approval (and two approvals of a two-approval request move it to "approved" exactly once);
- every status step is a conditional UPDATE (core.invariants.transition): a step cannot be applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import format_date, gettext
from sqlalchemy import func, select

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core import money
from casemgmt.core.invariants import insert_or_refuse, lock_row, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.fund import budget, receipts
from casemgmt.fund.models import CATEGORIES, METHODS, OPEN, PAYEE_KINDS, Disbursement, FundApproval, FundRequest, Refund
from casemgmt.programmes import queries as programmes
from casemgmt.programmes.models import BudgetLine, Project
from casemgmt.programmes.rates import MissingRate, to_currency

MAX_NAME = 200
MAX_TEXT = 5000


class FundError(ValueError):
    """A step that cannot be taken; the message is shown to the user (already translated)."""


def _clean(value, limit: int = MAX_TEXT) -> str | None:
    value = value.strip() if isinstance(value, str) else ""
    return value[:limit] or None


def _today() -> date:
    return date.today()


def missing_rate_message(exc: MissingRate) -> str:
    return gettext("Finance has not recorded the %(currency)s to %(quote)s rate for %(month)s: ask them to record it "
                   "on the exchange rates page, then submit the request again. Nothing was saved.",
                   currency=exc.currency, quote=exc.quote_currency, month=format_date(exc.month, "MMMM y"))


def line_for(project: Project, category: str) -> BudgetLine | None:
    return next((line for line in project.lines if line.category == category), None)


def funded_categories(project: Project) -> list[str]:
    return [CATEGORIES.label(line.category) for line in project.lines if line.category in CATEGORIES]


def _audit(action: str, request: FundRequest, actor, **details) -> None:
    record_event(action, object_type="fund_request", object_id=request.id, case_id=request.case_id, actor=actor,
                 details=details)


# Requests ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Priced:
    """An amount checked and converted into its project's currency."""

    amount: Decimal
    currency: str
    project_amount: Decimal
    rate: Decimal | None
    rate_month: date | None


def price(organisation_id: int, project: Project, raw_amount, currency, day: date) -> Priced:
    currency = (currency or "").strip().upper() if isinstance(currency, str) else ""
    try:
        amount = money.parse_amount(raw_amount, currency)
    except money.MoneyError as exc:
        raise FundError(str(exc)) from None
    try:
        project_amount, rate, month = to_currency(organisation_id, amount, currency, project.currency, day)
    except MissingRate as exc:
        raise FundError(missing_rate_message(exc)) from None
    return Priced(amount, currency, project_amount, rate, month)


def approvals_needed(project: Project, project_amount: Decimal) -> int:
    return 2 if project_amount > project.single_approval_limit else 1


def clean_texts(values: dict) -> dict:
    """The payee and the justification (the same checks for a request and its correction)."""
    payee_kind = values.get("payee_kind")
    if payee_kind not in PAYEE_KINDS:
        raise FundError(gettext("Choose who is paid: the person, a vendor or a clinic."))
    payee_name = _clean(values.get("payee_name"), MAX_NAME + 1)
    if payee_name is not None and len(payee_name) > MAX_NAME:
        raise FundError(gettext("The payee's name can have at most %(n)d characters.", n=MAX_NAME))
    if payee_name is None and payee_kind != "person":
        raise FundError(gettext("Name the vendor or clinic to be paid."))
    justification = _clean(values.get("justification"))
    if justification is None:
        raise FundError(gettext("Explain why the person needs this assistance."))
    needed_by = values.get("needed_by")
    if needed_by is not None and not isinstance(needed_by, date):
        raise FundError(gettext("Give the date the assistance is needed by, or leave it empty."))
    return {"payee_kind": payee_kind, "payee_name": payee_name, "justification": justification,
            "needed_by": needed_by}


def request_assistance(actor, case: Case, values: dict) -> FundRequest:
    """Ask the fund for assistance for the case. A request the line cannot pay for is saved as "refused" with the
    line's remaining funds (the caller commits it and shows the figures); a missing exchange rate saves nothing."""
    authorize(actor, Action.FUND_REQUEST, case)
    if case.stage == "closed":
        raise FundError(gettext("This case is closed: reopen it before asking the fund for assistance."))
    today = _today()
    enrolled = {p.id: p for p in programmes.enrolled_projects(case.id, actor.organisation_id, today)}
    if not enrolled:
        raise FundError(gettext("This case is not enrolled in a project of your organisation today: enrol it in a "
                                "project first."))
    project = enrolled.get(values.get("project_id"))
    if project is None:
        raise FundError(gettext("Choose one of the projects the case is enrolled in."))
    category = values.get("category")
    if category not in CATEGORIES:
        raise FundError(gettext("Choose the kind of assistance."))
    line = line_for(project, category)
    if line is None:
        raise FundError(gettext(
            "Project %(code)s has no budget line for %(category)s. It funds: %(funded)s.",
            code=project.code, category=CATEGORIES.label(category),
            funded=", ".join(funded_categories(project)) or gettext("no assistance category")))
    texts = clean_texts(values)
    # Queue behind any other request for this line's funds before counting them (see the module's docstring).
    budget.lock_line(line.id)
    priced = price(actor.organisation_id, project, values.get("amount"), values.get("currency"), today)
    remaining = budget.remaining_on(line)
    refused = priced.project_amount > remaining
    request = FundRequest(
        id=new_uuid(), case_id=case.id, organisation_id=actor.organisation_id, project_id=project.id,
        budget_line_id=line.id, category=category, amount=priced.amount, currency=priced.currency,
        project_amount=priced.project_amount, rate=priced.rate, rate_month=priced.rate_month,
        payee_kind=texts["payee_kind"], needed_by=texts["needed_by"],
        status="refused" if refused else "requested",
        approvals_needed=approvals_needed(project, priced.project_amount),
        remaining_when_refused=remaining if refused else None,
        requested_by_id=actor.id, requested_at=utcnow(), updated_at=utcnow(),
        refunded_amount=Decimal("0.00"), refunded_project_amount=Decimal("0.00"),
    )
    request.case = case
    seal(request, "payee_name", texts["payee_name"])
    seal(request, "justification", texts["justification"])
    db.session.add(request)
    db.session.flush()
    _audit("fund.request", request, actor, status=request.status, project_id=project.id, budget_line_id=line.id,
           category=category, amount=str(priced.amount), currency=priced.currency,
           project_amount=str(priced.project_amount), project_currency=project.currency,
           rate=str(priced.rate) if priced.rate is not None else None,
           approvals_needed=request.approvals_needed,
           remaining=str(remaining) if refused else None)
    return request


def refusal_message(request: FundRequest) -> str:
    project = request.project
    return gettext(
        "Refused: the %(line)s line has %(left)s left; this request needs %(needed)s. It is kept as refused, with "
        "these figures.", line=request.budget_line.name,
        left=money.format_money(request.remaining_when_refused, project.currency),
        needed=money.format_money(request.project_amount, project.currency))


# Approval ----------------------------------------------------------------------------------------------------------

def _lock(request: FundRequest) -> None:
    """Hold the request's row until commit and read it again: what others did before us is now seen."""
    lock_row(FundRequest, request.id, FundRequest.updated_at)
    db.session.refresh(request)
    db.session.expire(request, ["approvals"])


def approval_count(request_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(FundApproval)
                             .where(FundApproval.request_id == request_id)) or 0


def approve(actor, request: FundRequest) -> bool:
    """Add the actor's approval; returns whether it completed the approvals needed (the request is approved)."""
    authorize(actor, Action.FUND_APPROVE, request)
    _lock(request)
    if request.status != "requested":
        raise FundError(gettext("This request is no longer waiting for approval: it is %(status)s.",
                                status=_status_label(request.status)))
    already = FundError(gettext("You have already approved this request; a second approval must come from "
                                "someone else."))
    if actor.id in request.approver_ids:
        raise already
    authorize(actor, Action.FUND_APPROVE, request)  # again, on what the lock let us read
    approval = FundApproval(request_id=request.id, approver_id=actor.id, approver_role=actor.role,
                            approved_at=utcnow())
    insert_or_refuse(approval, "ix_fund_approvals_request_approver", already)
    given = approval_count(request.id)
    done = given >= request.approvals_needed
    _audit("fund.approve", request, actor, approvals=given, approvals_needed=request.approvals_needed,
           completed=done)
    if done:
        now = utcnow()
        if not transition(request, FundRequest.status == "requested", status="approved", decided_by_id=actor.id,
                          decided_at=now, updated_at=now):
            db.session.rollback()
            raise FundError(gettext("Someone else has just decided this request. Look at it again."))
    db.session.expire(request, ["approvals"])
    return done


def _status_label(code: str) -> str:
    from casemgmt.fund.models import STATUSES

    return STATUSES.label(code).lower()


def decline(actor, request: FundRequest, reason: str | None) -> None:
    authorize(actor, Action.FUND_APPROVE, request)
    reason = _clean(reason)
    if reason is None:
        raise FundError(gettext("Say why the request is declined."))
    _close(actor, request, "declined", reason, ("requested",), "fund.decline")


def cancel(actor, request: FundRequest, reason: str | None) -> None:
    authorize(actor, Action.FUND_CANCEL, request)
    reason = _clean(reason)
    if reason is None:
        raise FundError(gettext("Say why the request is cancelled."))
    _close(actor, request, "cancelled", reason, OPEN, "fund.cancel")


def _close(actor, request: FundRequest, status: str, reason: str, from_statuses: tuple[str, ...],
           event: str) -> None:
    before = request.status
    now = utcnow()
    if before not in from_statuses or not transition(
        request, FundRequest.status == before, status=status, decided_by_id=actor.id, decided_at=now,
        updated_at=now,
    ):
        db.session.rollback()
        raise FundError(gettext("This request has changed meanwhile (it is no longer waiting or approved). Look at "
                                "it again."))
    seal(request, "reason", reason)
    db.session.flush()
    _audit(event, request, actor, from_status=before, to_status=status, project_amount=str(request.project_amount))


# Disbursement and refunds ------------------------------------------------------------------------------------------

def clean_payment(values: dict, request: FundRequest) -> dict:
    method = values.get("method")
    if method not in METHODS:
        raise FundError(gettext("Choose how it was paid."))
    paid_on = values.get("paid_on")
    if not isinstance(paid_on, date):
        raise FundError(gettext("Give the date it was paid."))
    if paid_on > _today():
        raise FundError(gettext("The payment date cannot be in the future."))
    if paid_on < request.requested_at.date():
        raise FundError(gettext("The payment date cannot be before the request (%(day)s).",
                                day=format_date(request.requested_at.date())))
    return {"method": method, "paid_on": paid_on, "reference": _clean(values.get("reference"), MAX_NAME)}


def disburse(actor, request: FundRequest, values: dict, receipt: tuple[str | None, bytes] | None = None
             ) -> Disbursement:
    """Record the payment of an approved request, with its receipt when there is one (stored as an encrypted
    document of the case: see receipts.py). The caller removes the receipt's file if its commit fails."""
    authorize(actor, Action.FUND_DISBURSE, request)
    if request.status != "approved":
        raise FundError(gettext("Only an approved request can be paid; this one is %(status)s.",
                                status=_status_label(request.status)))
    cleaned = clean_payment(values, request)
    now = utcnow()
    if not transition(request, FundRequest.status == "approved", status="disbursed", updated_at=now):
        db.session.rollback()
        raise FundError(gettext("Someone else has just recorded this payment, or cancelled the request. Look at it "
                                "again."))
    disbursement = Disbursement(id=new_uuid(), request_id=request.id, case_id=request.case_id,
                                method=cleaned["method"], paid_on=cleaned["paid_on"], recorded_by_id=actor.id,
                                recorded_at=now)
    seal(disbursement, "reference", cleaned["reference"])
    if receipt is not None:
        document = receipts.store(actor, request.case, receipt[0], receipt[1])
        disbursement.receipt_document_id = document.id
    stored = (request.case_id, disbursement.receipt_document_id)
    try:
        insert_or_refuse(disbursement, "ix_fund_disbursements_request", FundError(gettext(
            "Someone else has just recorded this payment. Look at it again.")))
    except Exception:
        receipts.discard(*stored)
        raise
    _audit("fund.disburse", request, actor, method=cleaned["method"], paid_on=cleaned["paid_on"].isoformat(),
           amount=str(request.amount), currency=request.currency, project_amount=str(request.project_amount),
           receipt=disbursement.receipt_document_id is not None)
    return disbursement


def attach_receipt(actor, request: FundRequest, filename: str | None, data: bytes) -> Disbursement:
    """A receipt for a payment recorded without one."""
    authorize(actor, Action.FUND_DISBURSE, request)
    disbursement = request.disbursement
    if disbursement is None:
        raise FundError(gettext("Record the payment first."))
    if disbursement.receipt_document_id is not None:
        raise FundError(gettext("This payment already has its receipt."))
    document = receipts.store(actor, request.case, filename, data)
    disbursement.receipt_document_id = document.id
    db.session.flush()
    _audit("fund.receipt", request, actor, document_id=document.id, size=document.size,
           content_type=document.content_type)
    return disbursement


def refund_share(request: FundRequest, amount: Decimal) -> Decimal:
    """A refund's amount in the project's currency, at the request's own rate. The refund that completes the
    request takes exactly what is left, so the parts always add up to the request's project amount."""
    left = request.project_amount - request.refunded_project_amount
    if request.refunded_amount + amount == request.amount:
        return left
    if request.rate is None:
        share = money.quantize(amount, request.project.currency)
    else:
        share = money.convert(amount, request.rate, request.project.currency)
    # Rounded parts could pass the total by a cent before the last one; never let a part take more than is left.
    return min(share, left)


def refund(actor, request: FundRequest, values: dict) -> Refund:
    authorize(actor, Action.FUND_DISBURSE, request)
    if request.status not in ("disbursed", "refunded") or request.refunded_amount >= request.amount:
        raise FundError(gettext("Only money paid and not yet refunded in full can be refunded."))
    try:
        amount = money.parse_amount(values.get("amount"), request.currency)
    except money.MoneyError as exc:
        raise FundError(str(exc)) from None
    left = request.amount - request.refunded_amount
    if amount > left:
        raise FundError(gettext("At most %(left)s can be refunded.", left=money.format_money(left, request.currency)))
    refunded_on = values.get("refunded_on")
    if not isinstance(refunded_on, date):
        raise FundError(gettext("Give the date of the refund."))
    if refunded_on > _today():
        raise FundError(gettext("The refund date cannot be in the future."))
    paid_on = request.disbursement.paid_on if request.disbursement else None
    if paid_on is not None and refunded_on < paid_on:
        raise FundError(gettext("The refund cannot be before the payment (%(day)s).", day=format_date(paid_on)))
    reason = _clean(values.get("reason"))
    if reason is None:
        raise FundError(gettext("Say why the money was refunded."))
    share = refund_share(request, amount)
    before_amount, before_project = request.refunded_amount, request.refunded_project_amount
    new_amount = before_amount + amount
    status = "refunded" if new_amount == request.amount else "disbursed"
    if not transition(request, FundRequest.refunded_amount == before_amount,
                      FundRequest.status.in_(("disbursed", "refunded")),
                      refunded_amount=new_amount, refunded_project_amount=before_project + share, status=status,
                      updated_at=utcnow()):
        db.session.rollback()
        raise FundError(gettext("Someone else has just recorded a refund of this request. Look at it again."))
    record = Refund(id=new_uuid(), request_id=request.id, case_id=request.case_id, amount=amount,
                    project_amount=share, refunded_on=refunded_on, recorded_by_id=actor.id, recorded_at=utcnow())
    seal(record, "reason", reason)
    db.session.add(record)
    db.session.flush()
    db.session.expire(request, ["refunds"])
    _audit("fund.refund", request, actor, refund_id=record.id, amount=str(amount), currency=request.currency,
           project_amount=str(share), refunded_in_full=status == "refunded")
    return record


# Reads that operations and pages share ----------------------------------------------------------------------------

def load(actor, request_id: str, action: Action = Action.FUND_VIEW) -> FundRequest:
    from werkzeug.exceptions import NotFound

    request = db.session.get(FundRequest, request_id) if request_id and len(request_id) <= 36 else None
    if request is None or request.case is None or request.case.erased_at is not None:
        raise NotFound()
    authorize(actor, action, request)
    return request


def lock_request_line(request: FundRequest) -> None:
    budget.lock_line(request.budget_line_id)


def reprice(actor, request: FundRequest, raw_amount, currency) -> tuple[Priced, bool]:
    """A waiting request's amount changed (a correction): convert it at today's rate and check the line again under
    its lock, counting everything but this request. Returns the new figures and whether approvals were dropped."""
    budget.lock_line(request.budget_line_id)
    project = request.project
    priced = price(request.organisation_id, project, raw_amount, currency, _today())
    remaining = budget.remaining_on(request.budget_line) + request.project_amount
    if priced.project_amount > remaining:
        raise FundError(gettext(
            "The %(line)s line has %(left)s left for this request; the new amount needs %(needed)s. Nothing was "
            "changed.", line=request.budget_line.name, left=money.format_money(remaining, project.currency),
            needed=money.format_money(priced.project_amount, project.currency)))
    dropped = bool(request.approvals)
    for approval in list(request.approvals):
        db.session.delete(approval)
    request.amount, request.currency = priced.amount, priced.currency
    request.project_amount, request.rate, request.rate_month = priced.project_amount, priced.rate, priced.rate_month
    request.approvals_needed = approvals_needed(project, priced.project_amount)
    return priced, dropped
