"""Reads for the referral pages: a case's referrals and transfers, the organisation's inbox, the chooser."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_access, case_scope_filter, not_own_request
from casemgmt.accounts.models import Organisation
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.referrals.models import Referral, Transfer

INBOX_LIMIT = 100

_REFERRAL_LOADS = (
    selectinload(Referral.case), selectinload(Referral.from_organisation), selectinload(Referral.to_organisation),
    selectinload(Referral.created_by), selectinload(Referral.responded_by), selectinload(Referral.revoked_by),
)


@dataclass
class ReferralRow:
    referral: Referral
    note: str | None
    override_reason: str | None
    decline_reason: str | None
    can_revoke: bool


@dataclass
class TransferRow:
    transfer: Transfer
    reason: str | None
    override_reason: str | None
    decision_note: str | None
    can_decide: bool
    can_cancel: bool
    waits_for_another: bool  # a supervisor's own request: another supervisor decides


def case_referrals(actor, case: Case) -> list[ReferralRow]:
    """The case's referrals the actor may know of: all of them with full access, with referral access only those
    made to the actor's organisation. Free text is decrypted for rows the actor may see."""
    access = case_access(actor, case)
    if access is None:
        return []
    query = select(Referral).where(Referral.case_id == case.id).options(*_REFERRAL_LOADS)
    if access != "full":
        query = query.where(Referral.to_organisation_id == actor.organisation_id)
    rows = db.session.scalars(query.order_by(Referral.created_at.desc(), Referral.id)).all()
    return [
        ReferralRow(
            referral=r, note=unseal(r, "note"), override_reason=unseal(r, "override_reason"),
            decline_reason=unseal(r, "decline_reason"),
            can_revoke=r.status in ("pending", "accepted") and allowed(actor, Action.REFERRAL_REVOKE, r),
        )
        for r in rows
    ]


def case_transfers(actor, case: Case) -> list[TransferRow]:
    """Transfers are the owning organisation's business: shown to those with full access to the case."""
    if case_access(actor, case) != "full":
        return []
    rows = db.session.scalars(
        select(Transfer)
        .where(Transfer.case_id == case.id)
        .options(selectinload(Transfer.from_organisation), selectinload(Transfer.to_organisation),
                 selectinload(Transfer.requested_by), selectinload(Transfer.decided_by), selectinload(Transfer.case))
        .order_by(Transfer.requested_at.desc(), Transfer.id)
    ).all()
    result = []
    for t in rows:
        waiting = t.status == "requested"
        result.append(TransferRow(
            transfer=t, reason=unseal(t, "reason"), override_reason=unseal(t, "override_reason"),
            decision_note=unseal(t, "decision_note"),
            can_decide=waiting and allowed(actor, Action.TRANSFER_APPROVE, t),
            can_cancel=waiting and allowed(actor, Action.TRANSFER_REQUEST, t),
            waits_for_another=waiting and allowed(actor, Action.TRANSFER_APPROVE) and not not_own_request(actor, t),
        ))
    return result


def organisation_choices(actor, case: Case | None = None) -> list[tuple[int, str]]:
    """Every other organisation (than the actor's and the case's owner), with its type and country, for the referral
    and transfer forms."""
    from casemgmt import htcds

    own = {actor.organisation_id} | ({case.organisation_id} if case is not None else set())
    rows = db.session.scalars(
        select(Organisation).where(Organisation.id.not_in(own)).order_by(Organisation.name)
    ).all()
    return [
        (org.id, f"{org.name} ({htcds.ORGANISATION_TYPES.label(org.org_type)}, {htcds.country_name(org.country)})")
        for org in rows
    ]


@dataclass
class Inbox:
    incoming_pending: list[Referral]
    incoming_answered: list[Referral]
    outgoing: list[Referral]
    openable: set[str]  # ids of the incoming cases the actor may open


def inbox(actor) -> Inbox:
    """Referrals to the actor's organisation (pending ones show no identity: the template gets no names), and
    referrals the actor's organisation made of cases in the actor's scope. Nothing here is decrypted."""
    authorize(actor, Action.REFERRAL_LIST)
    incoming = (
        select(Referral)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.to_organisation_id == actor.organisation_id, Case.erased_at.is_(None))
        .options(*_REFERRAL_LOADS)
    )
    pending = db.session.scalars(
        incoming.where(Referral.status == "pending").order_by(Referral.created_at).limit(INBOX_LIMIT)
    ).all()
    answered = db.session.scalars(
        incoming.where(Referral.status != "pending").order_by(Referral.created_at.desc()).limit(INBOX_LIMIT)
    ).all()
    # Links only where they open (a caseworker reaches the referred cases they accepted themselves): one query.
    accepted_ids = [r.case_id for r in answered if r.status == "accepted"]
    openable = set(db.session.scalars(
        select(Case.id).where(Case.id.in_(accepted_ids), case_scope_filter(actor))
    )) if accepted_ids else set()
    outgoing = db.session.scalars(
        select(Referral)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.from_organisation_id == actor.organisation_id, case_scope_filter(actor))
        .options(*_REFERRAL_LOADS)
        .order_by(Referral.created_at.desc())
        .limit(INBOX_LIMIT)
    ).all()
    return Inbox(incoming_pending=list(pending), incoming_answered=list(answered), outgoing=list(outgoing),
                 openable=openable)
