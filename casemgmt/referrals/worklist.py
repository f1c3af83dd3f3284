"""What waits for a user: referrals and return hand-offs to their organisation, transfers waiting for a supervisor's
decision, and transfers waiting for their organisation's answer."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed
from casemgmt.access.roles import Role
from casemgmt.cases.models import Case
from casemgmt.core.journey import WorkItem
from casemgmt.extensions import db
from casemgmt.referrals.models import Referral, Transfer
from casemgmt.referrals.queries import waiting_transfers

LIMIT = 50


def items(user) -> list[WorkItem]:
    result: list[WorkItem] = []
    if allowed(user, Action.REFERRAL_RESPOND):
        pending = db.session.scalars(
            select(Referral)
            .join(Case, Case.id == Referral.case_id)
            .where(Referral.to_organisation_id == user.organisation_id, Referral.status == "pending",
                   Case.erased_at.is_(None))
            .options(selectinload(Referral.case), selectinload(Referral.from_organisation))
            .order_by(Referral.created_at)
            .limit(LIMIT)
        )
        for r in pending:
            if r.kind == "return_handoff":
                title = gettext("Return hand-off of case %(ref)s from %(org)s: accept or decline it",
                                ref=r.case.reference, org=r.from_organisation.name)
            else:
                title = gettext("Referral of case %(ref)s from %(org)s", ref=r.case.reference,
                                org=r.from_organisation.name)
            result.append(WorkItem(section="referrals", title=title, url=url_for("referrals.inbox"),
                                   urgent=r.consent_basis == "imminent_danger", case_id=r.case_id))
    for offer in waiting_transfers(user, limit=LIMIT, reveal=False):
        if not offer.can_answer:  # its review access is suspended: nothing to do until the sender resolves it
            continue
        t = offer.transfer
        result.append(WorkItem(
            section="referrals",
            title=gettext("Transfer of case %(ref)s from %(org)s waits for your organisation's answer",
                          ref=t.case.reference, org=t.from_organisation.name),
            url=url_for("referrals.inbox"), case_id=t.case_id,
        ))
    if getattr(user, "role", None) == Role.SUPERVISOR and allowed(user, Action.TRANSFER_APPROVE):
        waiting = db.session.scalars(
            select(Transfer)
            .join(Case, Case.id == Transfer.case_id)
            .where(Transfer.from_organisation_id == user.organisation_id, Transfer.status == "requested",
                   Case.organisation_id == user.organisation_id, Case.erased_at.is_(None),
                   # Nobody approves what they requested: another supervisor decides.
                   Transfer.requested_by_id.is_(None) | (Transfer.requested_by_id != user.id))
            .options(selectinload(Transfer.case), selectinload(Transfer.to_organisation))
            .order_by(Transfer.requested_at)
            .limit(LIMIT)
        )
        for t in waiting:
            result.append(WorkItem(
                section="approvals",
                title=gettext("Transfer of case %(ref)s to %(org)s waits for your decision", ref=t.case.reference,
                              org=t.to_organisation.name),
                url=url_for("referrals.case_index", case_id=t.case_id), case_id=t.case_id,
            ))
    return result
