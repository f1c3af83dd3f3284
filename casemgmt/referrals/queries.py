"""Reads for the referral pages: a case's referrals and transfers, the organisation's inbox, the chooser, the state
of a return plan's hand-off, and the consent a grant rests on."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize, grants
from casemgmt.access.policies import case_access, case_scope_filter, not_own_request, prefetch_case_access
from casemgmt.accounts.models import Organisation
from casemgmt.cases.models import Case
from casemgmt.consent.models import ConsentRecord
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.referrals.models import OPEN_REFERRAL_STATUSES, Referral, Transfer

INBOX_LIMIT = 100
_CONSENT_COLUMN = {"share": ConsentRecord.consents_to_share, "return": ConsentRecord.consents_to_return}


def consent_relied_on(case_id: str, purpose: str) -> str | None:
    """The consent record sharing the case rests on now: the newest one, not withdrawn, that covers the interview
    and `purpose` ("share" for a referral or transfer, "return" for a return hand-off). A grant names it, so that
    withdrawing it suspends the grant."""
    return db.session.scalar(
        select(ConsentRecord.id)
        .where(ConsentRecord.case_id == case_id, ConsentRecord.withdrawn_at.is_(None),
               ConsentRecord.point_interview.is_(True), _CONSENT_COLUMN[purpose].is_(True))
        .order_by(ConsentRecord.obtained_on.desc(), ConsentRecord.created_at.desc(), ConsentRecord.id)
        .limit(1)
    )


def consent_purpose(referral: Referral) -> str:
    # A hand-off rests on the consent to return the return plan requires; any other referral on consent to share.
    return "return" if referral.kind == "return_handoff" else "share"


def acceptance_refusal(referral: Referral) -> str | None:
    """Why the receiving organisation cannot accept this referral now (translated), or None. The consent it was
    sent under may have been withdrawn since: accepting would share the case without it. The inbox shows this
    instead of the Accept button; declining stays possible."""
    if referral.consent_basis != "consent":
        return None
    if consent_relied_on(referral.case_id, consent_purpose(referral)) is None:
        if referral.kind == "return_handoff":
            return gettext("The person's consent to return has been withdrawn since this hand-off was sent, so it "
                           "cannot be accepted now: decline it, or wait until the sending organisation records a "
                           "new consent.")
        return gettext("The person's consent to share has been withdrawn since this referral was sent, so it cannot "
                       "be accepted now: decline it, or wait until the sending organisation records a new consent.")
    return None


def resume_refusal(referral: Referral) -> str | None:
    """Why the access this referral gave cannot be resumed now (translated), or None."""
    if referral.status != "accepted":
        return gettext("Only the access of an accepted referral can be resumed.")
    if not any(g.suspended_at is not None for g in grants.of_reason(referral.kind, referral.id)):
        return gettext("The access this referral gives is not suspended.")
    if referral.consent_basis == "consent" and consent_relied_on(referral.case_id, consent_purpose(referral)) is None:
        if referral.kind == "return_handoff":
            return gettext("Record the person's new consent to return first: the access resumes under it.")
        return gettext("Record the person's new consent to share first: the access resumes under it.")
    return None


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
    grant: grants.CaseGrant | None = None  # the access an accepted referral gave (live, suspended or revoked)
    can_resume: bool = False
    resume_refusal: str | None = None  # why a suspended access cannot be resumed yet

    @property
    def suspended(self) -> bool:
        return self.grant is not None and self.grant.revoked_at is None and self.grant.suspended_at is not None


@dataclass
class TransferRow:
    transfer: Transfer
    reason: str | None
    override_reason: str | None
    decision_note: str | None
    can_decide: bool
    can_cancel: bool
    waits_for_another: bool  # a supervisor's own request: another supervisor decides
    answer_note: str | None = None  # the receiving organisation's note on its answer
    review_suspended: bool = False  # waiting for the receiver, whose access to read it was suspended


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
    states = _grant_states(rows)
    may_share = access == "full" and allowed(actor, Action.REFERRAL_CREATE, case)
    result = []
    for r in rows:
        row = ReferralRow(
            referral=r, note=unseal(r, "note"), override_reason=unseal(r, "override_reason"),
            decline_reason=unseal(r, "decline_reason"),
            can_revoke=r.status in OPEN_REFERRAL_STATUSES and allowed(actor, Action.REFERRAL_REVOKE, r),
            grant=states.get(r.id),
        )
        if row.suspended and may_share:
            row.resume_refusal = resume_refusal(r)
            row.can_resume = row.resume_refusal is None
        result.append(row)
    return result


def _grant_states(referrals) -> dict[str, grants.CaseGrant]:
    """The grant each accepted referral gave, by referral id: two queries (one per kind) whatever the rows."""
    found: dict[str, grants.CaseGrant] = {}
    for kind in {r.kind for r in referrals if r.responded_at is not None}:
        found.update(grants.states(kind, [r.id for r in referrals if r.kind == kind]))
    return found


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
    reviews = grants.states("transfer_pending", [t.id for t in rows if t.status == "approved"])
    result = []
    for t in rows:
        waiting = t.status == "requested"
        review = reviews.get(t.id)
        result.append(TransferRow(
            transfer=t, reason=unseal(t, "reason"), override_reason=unseal(t, "override_reason"),
            decision_note=unseal(t, "decision_note"),
            can_decide=waiting and allowed(actor, Action.TRANSFER_APPROVE, t),
            # Withdrawing stays possible while the receiving organisation has not answered either.
            can_cancel=t.status in ("requested", "approved") and allowed(actor, Action.TRANSFER_REQUEST, t),
            waits_for_another=waiting and allowed(actor, Action.TRANSFER_APPROVE) and not not_own_request(actor, t),
            answer_note=unseal(t, "answer_note"),
            review_suspended=review is not None and review.revoked_at is None and review.suspended_at is not None,
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
class TransferOffer:
    """A transfer waiting for the actor's organisation: what its supervisors read before they answer."""

    transfer: Transfer
    reason: str | None
    openable: bool  # the review grant lets the actor open the case (not when it is suspended)
    can_answer: bool


@dataclass
class Inbox:
    incoming_pending: list[Referral]
    incoming_answered: list[Referral]
    outgoing: list[Referral]
    openable: set[str]  # ids of the incoming cases the actor may open
    refusals: dict[str, str]  # pending referral id -> why it cannot be accepted now (instead of the button)
    suspended: set[str]  # ids of answered referrals whose access is suspended (the consent was withdrawn)
    transfers: list[TransferOffer]


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
    refusals = {r.id: why for r in pending if (why := acceptance_refusal(r))}
    states = _grant_states([r for r in answered if r.status == "accepted"])
    suspended = {rid for rid, g in states.items() if g.revoked_at is None and g.suspended_at is not None}
    return Inbox(incoming_pending=list(pending), incoming_answered=list(answered), outgoing=list(outgoing),
                 openable=openable, refusals=refusals, suspended=suspended, transfers=waiting_transfers(actor))


def waiting_transfers(actor, limit: int = INBOX_LIMIT, reveal: bool = True) -> list[TransferOffer]:
    """Transfers approved by their owning organisation and waiting for the actor's organisation to answer, oldest
    first. Shown to those who may answer (its supervisors); with reveal, the reason is decrypted for those who may
    answer (they read the case to decide)."""
    if not allowed(actor, Action.TRANSFER_ACCEPT):
        return []
    rows = db.session.scalars(
        select(Transfer)
        .join(Case, Case.id == Transfer.case_id)
        .where(Transfer.to_organisation_id == actor.organisation_id, Transfer.status == "approved",
               Case.erased_at.is_(None))
        .options(selectinload(Transfer.case), selectinload(Transfer.from_organisation))
        .order_by(Transfer.decided_at, Transfer.id)
        .limit(limit)
    ).all()
    prefetch_case_access(actor, [t.case_id for t in rows])
    offers = []
    for t in rows:
        can_answer = allowed(actor, Action.TRANSFER_ACCEPT, t)
        offers.append(TransferOffer(transfer=t, reason=unseal(t, "reason") if can_answer and reveal else None,
                                    openable=case_access(actor, t.case) is not None, can_answer=can_answer))
    return offers


@dataclass
class Handoff:
    """Where the hand-off of a return plan to its receiving organisation stands, for the return page."""

    organisation: Organisation
    referral: Referral | None  # the latest referral (of any kind) of the case to that organisation
    grant: grants.CaseGrant | None  # the access it gave, if accepted
    decline_reason: str | None = None

    @property
    def state(self) -> str:
        """none, pending, accepted, suspended, declined or revoked."""
        r = self.referral
        if r is None:
            return "none"
        if r.status == "accepted" and self.grant is not None and self.grant.revoked_at is None \
                and self.grant.suspended_at is not None:
            return "suspended"
        return r.status


def handoff(case: Case, organisation_id: int) -> Handoff:
    """The case's latest referral to the organisation, the open one first. Its decline reason is decrypted: the
    return page that asks for this is the owning organisation's and the receiving one's."""
    organisation = db.session.get(Organisation, organisation_id)
    referral = db.session.scalar(
        select(Referral)
        .where(Referral.case_id == case.id, Referral.to_organisation_id == organisation_id)
        .order_by(Referral.status.in_(OPEN_REFERRAL_STATUSES).desc(), Referral.created_at.desc(), Referral.id)
        .limit(1)
    )
    grant = grants.states(referral.kind, [referral.id]).get(referral.id) if referral is not None else None
    return Handoff(organisation=organisation, referral=referral, grant=grant,
                   decline_reason=unseal(referral, "decline_reason") if referral is not None else None)
