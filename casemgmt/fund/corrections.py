"""Correcting a step of the fund with a reason, keeping the version it replaces (casemgmt/revisions).

- A request waiting for approval: its payee, justification, needed-by date and amount. Only someone who may read
  who the person is corrects it (the requester, a supervisor): the finance officer never sees the justification or
  a person payee's name, so is never shown this form. A new amount is converted at today's rate and checked against
  the line again under its lock; the approvals already given are dropped (they approved another amount), and the
  request waits for them again.
- A payment: its method, date and reference (the finance officer who recorded it may correct it).
"""

from __future__ import annotations

import json

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from casemgmt.access import Action, allowed, authorize
from casemgmt.audit import record_event
from casemgmt.core import money
from casemgmt.crypto import seal, unseal
from casemgmt.fund import operations, queries
from casemgmt.fund.forms import CorrectDisbursementForm, CorrectRequestForm
from casemgmt.fund.models import Disbursement, FundRequest
from casemgmt.fund.operations import FundError
from casemgmt.revisions import operations as revisions

REQUEST_FIELDS = ("amount", "currency", "payee_kind", "payee_name", "justification", "needed_by")
PAYMENT_FIELDS = ("method", "paid_on", "reference")


def request_snapshot(request: FundRequest) -> dict:
    return {"amount": request.amount, "currency": request.currency, "payee_kind": request.payee_kind,
            "payee_name": unseal(request, "payee_name"), "justification": unseal(request, "justification"),
            "needed_by": request.needed_by}


def payment_snapshot(disbursement: Disbursement) -> dict:
    return {"method": disbursement.method, "paid_on": disbursement.paid_on,
            "reference": unseal(disbursement, "reference")}


REQUEST_KIND = revisions.Kind(
    name="fund_request", title=lambda: str(_l("Assistance fund request")), read_action=Action.FUND_VIEW,
    fields=REQUEST_FIELDS, events=("fund.request_correct", "fund.request_delete"), snapshot=request_snapshot,
    describe=lambda content: revisions.describe(content, CorrectRequestForm(formdata=None), REQUEST_FIELDS),
)
PAYMENT_KIND = revisions.Kind(
    name="fund_disbursement", title=lambda: str(_l("Assistance fund payment")), read_action=Action.FUND_VIEW,
    fields=PAYMENT_FIELDS, events=("fund.payment_correct", "fund.payment_delete"), snapshot=payment_snapshot,
    describe=lambda content: revisions.describe(content, CorrectDisbursementForm(formdata=None), PAYMENT_FIELDS),
)


def reads_identity(actor, request: FundRequest) -> bool:
    """Whether the actor may read what the request says about the person (justification, a person payee's name,
    reasons): those who may open the person's identity on the case; never the finance officer."""
    return allowed(actor, Action.CASE_VIEW_IDENTITY, request.case)


def may_correct_request(actor, request: FundRequest) -> bool:
    return (request.status == "requested" and allowed(actor, Action.FUND_CORRECT, request)
            and reads_identity(actor, request))


def may_correct_payment(actor, request: FundRequest) -> bool:
    return request.disbursement is not None and allowed(actor, Action.FUND_CORRECT, request)


def _reason(reason: str | None) -> str:
    cleaned = revisions.clean_reason(reason)
    if cleaned is None:
        raise FundError(gettext("Say what was wrong: a correction keeps its reason."))
    return cleaned


def correct_request(actor, request: FundRequest, values: dict, base: int | None,
                    reason: str | None) -> tuple[list[str], bool]:
    """Returns the fields changed and whether approvals already given were dropped (a new amount)."""
    authorize(actor, Action.FUND_CORRECT, request)
    if not reads_identity(actor, request):
        authorize(actor, Action.CASE_VIEW_IDENTITY, request.case)  # refused, and audited as such
    if request.status != "requested":
        raise FundError(gettext("Only a request waiting for approval can be corrected."))
    reason = _reason(reason)
    currency = values.get("currency") if isinstance(values.get("currency"), str) else ""
    try:
        amount = money.parse_amount(values.get("amount"), currency)
    except money.MoneyError as exc:
        raise FundError(str(exc)) from None
    cleaned = {"amount": amount, "currency": currency, **operations.clean_texts(values)}
    dropped = {"value": False}

    def apply(changed: list[str]) -> None:
        if "amount" in changed or "currency" in changed:
            _priced, dropped["value"] = operations.reprice(actor, request, amount, currency)
        if "payee_kind" in changed:
            request.payee_kind = cleaned["payee_kind"]
        if "needed_by" in changed:
            request.needed_by = cleaned["needed_by"]
        for name in ("payee_name", "justification"):
            if name in changed:
                seal(request, name, cleaned[name])

    changed = revisions.correct(actor, REQUEST_KIND, request, cleaned, base, reason, apply)
    return changed, dropped["value"]


def correct_payment(actor, request: FundRequest, values: dict, base: int | None, reason: str | None) -> list[str]:
    authorize(actor, Action.FUND_CORRECT, request)
    disbursement = request.disbursement
    if disbursement is None:
        raise FundError(gettext("No payment has been recorded for this request."))
    reason = _reason(reason)
    cleaned = operations.clean_payment(values, request)

    def apply(changed: list[str]) -> None:
        for name in changed:
            if name == "reference":
                seal(disbursement, "reference", cleaned["reference"])
            else:
                setattr(disbursement, name, cleaned[name])

    return revisions.correct(actor, PAYMENT_KIND, disbursement, cleaned, base, reason, apply)


def history(actor, kind: revisions.Kind, request: FundRequest) -> list[revisions.Shown]:
    """Earlier versions of the request (REQUEST_KIND) or of its payment (PAYMENT_KIND). They hold the justification,
    a person payee's name and the reasons, so only those who read what the request says about the person see them
    (never the finance officer); the reading is audited. (revisions.history checks kind.read_action on the record
    itself, which a payment, reached through its request, cannot answer.)"""
    authorize(actor, Action.FUND_VIEW, request)
    authorize(actor, Action.CASE_VIEW_IDENTITY, request.case)
    record = request if kind is REQUEST_KIND else request.disbursement
    if record is None:
        return []
    found = revisions.revisions_of(kind, record.id)
    names = queries.user_names({r.changed_by_id for r in found})
    shown = [revisions.Shown(
        version=r.version, change=r.change, changed_by=names.get(r.changed_by_id, "—"), changed_at=r.changed_at,
        reason=unseal(r, "reason"), fields=kind.describe(json.loads(unseal(r, "content") or "{}")),
    ) for r in found]
    record_event("revision.view", object_type=kind.name, object_id=record.id, case_id=request.case_id, actor=actor,
                 details={"revisions": len(found)})
    return shown
