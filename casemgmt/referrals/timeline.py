"""Referrals, return hand-offs and transfers on the case timeline: who shared the case with whom, and what became of
it (accepted, declined, revoked, access suspended when the consent it relied on was withdrawn)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import grants
from casemgmt.access.policies import case_access
from casemgmt.core.journey import TimelineEntry
from casemgmt.extensions import db
from casemgmt.referrals.models import REFERRAL_REASONS, Referral, Transfer


def _name(user) -> str:
    return user.display_name if user is not None else ""


def entries(actor, case) -> list[TimelineEntry]:
    access = case_access(actor, case)
    if access is None:
        return []
    query = (
        select(Referral)
        .where(Referral.case_id == case.id)
        .options(selectinload(Referral.from_organisation), selectinload(Referral.to_organisation),
                 selectinload(Referral.created_by), selectinload(Referral.responded_by),
                 selectinload(Referral.revoked_by))
    )
    if access != "full":
        # Referred-in staff know of the referrals made to their own organisation only.
        query = query.where(Referral.to_organisation_id == actor.organisation_id)
    url = url_for("referrals.case_index", case_id=case.id)
    result: list[TimelineEntry] = []
    referrals = list(db.session.scalars(query))
    suspended = _suspensions(referrals)
    for r in referrals:
        to, sender = r.to_organisation.name, r.from_organisation.name
        handoff = r.kind == "return_handoff"
        result.append(TimelineEntry(
            at=r.created_at, kind="referral",
            title=gettext("Return hand-off sent to %(org)s", org=to) if handoff
            else gettext("Referred to %(org)s", org=to),
            detail=REFERRAL_REASONS.label(r.reason), actor=_name(r.created_by), url=url,
        ))
        if r.responded_at is not None:
            # Only an answer sets responded_at; a revoked referral that had been accepted keeps its acceptance.
            if handoff:
                title = (gettext("Return hand-off declined by %(org)s", org=to) if r.status == "declined"
                         else gettext("Return hand-off accepted by %(org)s", org=to))
            else:
                title = (gettext("Referral declined by %(org)s", org=to) if r.status == "declined"
                         else gettext("Referral accepted by %(org)s", org=to))
            result.append(TimelineEntry(at=r.responded_at, kind="referral", title=title,
                                        actor=_name(r.responded_by), url=url))
        if r.id in suspended:
            result.append(TimelineEntry(
                at=suspended[r.id], kind="referral", title=gettext("Access of %(org)s suspended", org=to),
                detail=gettext("The person withdrew the consent it relied on."), url=url,
            ))
        if r.revoked_at is not None:
            result.append(TimelineEntry(
                at=r.revoked_at, kind="referral",
                title=gettext("Return hand-off to %(org)s withdrawn", org=to) if handoff
                else gettext("Referral to %(org)s revoked", org=to),
                detail=gettext("Revoked by %(org)s", org=sender), actor=_name(r.revoked_by), url=url,
            ))
    if access == "full":
        result.extend(_transfer_entries(case, url))
    return result


def _suspensions(referrals) -> dict:
    """When the access each referral gave was suspended, for those still suspended (a resumed one is live again)."""
    found = {}
    for kind in {r.kind for r in referrals if r.responded_at is not None}:
        for reason_id, grant in grants.states(kind, [r.id for r in referrals if r.kind == kind]).items():
            if grant.suspended_at is not None and grant.revoked_at is None:
                found[reason_id] = grant.suspended_at
    return found


def _transfer_entries(case, url: str) -> list[TimelineEntry]:
    rows = db.session.scalars(
        select(Transfer)
        .where(Transfer.case_id == case.id)
        .options(selectinload(Transfer.from_organisation), selectinload(Transfer.to_organisation),
                 selectinload(Transfer.requested_by), selectinload(Transfer.decided_by),
                 selectinload(Transfer.answered_by))
    )
    result = []
    for t in rows:
        to = t.to_organisation.name
        result.append(TimelineEntry(at=t.requested_at, kind="transfer",
                                    title=gettext("Transfer to %(org)s requested", org=to),
                                    actor=_name(t.requested_by), url=url))
        if t.decided_at is not None:
            # An answered transfer was approved first; its answer is an entry of its own, below.
            title = {
                "approved": gettext("Transfer to %(org)s approved: it waits for %(org)s to answer", org=to),
                "accepted": gettext("Transfer to %(org)s approved", org=to),
                "declined": gettext("Transfer to %(org)s approved", org=to),
                "rejected": gettext("Transfer to %(org)s rejected", org=to),
                "cancelled": gettext("Transfer request to %(org)s withdrawn", org=to),
            }.get(t.status, "")
            result.append(TimelineEntry(at=t.decided_at, kind="transfer", title=title, actor=_name(t.decided_by),
                                        url=url))
        if t.answered_at is not None:
            title = (gettext("Transfer accepted by %(org)s: the case changed owner", org=to) if t.status == "accepted"
                     else gettext("Transfer declined by %(org)s", org=to))
            result.append(TimelineEntry(at=t.answered_at, kind="transfer", title=title, actor=_name(t.answered_by),
                                        url=url))
    return result
