"""The fund on the case timeline: each request of the case and its steps (approvals, decision, payment, refunds).

Who may view a request (FUND_VIEW) sees the kind of assistance and the amounts; someone else who reads the case's
timeline (another organisation working on a referred case) sees only that assistance was requested, with no amount,
no link and no step. The justification and the reasons are never on the timeline.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed
from casemgmt.core import money
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.extensions import db
from casemgmt.fund import queries
from casemgmt.fund.models import CATEGORIES, METHODS, FundRequest


def entries(actor, case) -> list[TimelineEntry]:
    requests = list(db.session.scalars(
        select(FundRequest).where(FundRequest.case_id == case.id)
        .options(selectinload(FundRequest.approvals), selectinload(FundRequest.refunds),
                 selectinload(FundRequest.disbursement), selectinload(FundRequest.project))
        .order_by(FundRequest.requested_at)
    ))
    if not requests:
        return []
    ids = set()
    for r in requests:
        ids |= {r.requested_by_id, r.decided_by_id, *(a.approver_id for a in r.approvals),
                *(x.recorded_by_id for x in r.refunds)}
        if r.disbursement:
            ids.add(r.disbursement.recorded_by_id)
    names = queries.user_names(ids)
    out: list[TimelineEntry] = []
    for r in requests:
        if not allowed(actor, Action.FUND_VIEW, r):
            if not allowed(actor, Action.TIMELINE_VIEW, case):
                continue
            out.append(TimelineEntry(at=r.requested_at, kind="fund", title=gettext("Assistance fund request")))
            continue
        out.extend(_steps(r, names, url_for("fund.request_page", request_id=r.id)))
    return out


def _steps(r: FundRequest, names: dict, url: str) -> list[TimelineEntry]:
    amount = money.format_money(r.amount, r.currency)
    category = CATEGORIES.label(r.category)
    out = [TimelineEntry(
        at=r.requested_at, kind="fund", url=url, actor=names.get(r.requested_by_id, ""),
        title=gettext("Assistance fund request refused: over the remaining budget") if r.status == "refused"
        else gettext("Assistance requested from the fund"),
        detail=gettext("%(category)s, %(amount)s", category=category, amount=amount))]
    for a in r.approvals:
        out.append(TimelineEntry(at=a.approved_at, kind="fund", url=url, actor=names.get(a.approver_id, ""),
                                 title=gettext("Assistance fund request approved"),
                                 detail=gettext("%(category)s, %(amount)s", category=category, amount=amount)))
    if r.status in ("declined", "cancelled") and r.decided_at:
        out.append(TimelineEntry(
            at=r.decided_at, kind="fund", url=url, actor=names.get(r.decided_by_id, ""),
            title=gettext("Assistance fund request declined") if r.status == "declined"
            else gettext("Assistance fund request cancelled")))
    if r.disbursement:
        d = r.disbursement
        out.append(dated(d.paid_on, d.recorded_at, kind="fund", url=url, actor=names.get(d.recorded_by_id, ""),
                         title=gettext("Assistance paid"),
                         detail=gettext("%(category)s, %(amount)s by %(method)s", category=category, amount=amount,
                                        method=METHODS.label(d.method).lower())))
    for x in r.refunds:
        out.append(dated(x.refunded_on, x.recorded_at, kind="fund", url=url, actor=names.get(x.recorded_by_id, ""),
                         title=gettext("Assistance refunded"),
                         detail=money.format_money(x.amount, r.currency)))
    return out
