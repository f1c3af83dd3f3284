"""Referrals and transfers on the case timeline: who shared the case with whom, and what became of it."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

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
    for r in db.session.scalars(query):
        to, sender = r.to_organisation.name, r.from_organisation.name
        result.append(TimelineEntry(
            at=r.created_at, kind="referral", title=gettext("Referred to %(org)s", org=to),
            detail=REFERRAL_REASONS.label(r.reason), actor=_name(r.created_by), url=url,
        ))
        if r.responded_at is not None:
            # Only an answer sets responded_at; a revoked referral that had been accepted keeps its acceptance.
            title = (gettext("Referral declined by %(org)s", org=to) if r.status == "declined"
                     else gettext("Referral accepted by %(org)s", org=to))
            result.append(TimelineEntry(at=r.responded_at, kind="referral", title=title,
                                        actor=_name(r.responded_by), url=url))
        if r.revoked_at is not None:
            result.append(TimelineEntry(
                at=r.revoked_at, kind="referral", title=gettext("Referral to %(org)s revoked", org=to),
                detail=gettext("Revoked by %(org)s", org=sender), actor=_name(r.revoked_by), url=url,
            ))
    if access == "full":
        result.extend(_transfer_entries(case, url))
    return result


def _transfer_entries(case, url: str) -> list[TimelineEntry]:
    rows = db.session.scalars(
        select(Transfer)
        .where(Transfer.case_id == case.id)
        .options(selectinload(Transfer.from_organisation), selectinload(Transfer.to_organisation),
                 selectinload(Transfer.requested_by), selectinload(Transfer.decided_by))
    )
    result = []
    for t in rows:
        to = t.to_organisation.name
        result.append(TimelineEntry(at=t.requested_at, kind="transfer",
                                    title=gettext("Transfer to %(org)s requested", org=to),
                                    actor=_name(t.requested_by), url=url))
        if t.decided_at is not None:
            title = {
                "approved": gettext("Transfer to %(org)s approved: the case changed owner", org=to),
                "rejected": gettext("Transfer to %(org)s rejected", org=to),
                "cancelled": gettext("Transfer request to %(org)s withdrawn", org=to),
            }.get(t.status, "")
            result.append(TimelineEntry(at=t.decided_at, kind="transfer", title=title, actor=_name(t.decided_by),
                                        url=url))
    return result
