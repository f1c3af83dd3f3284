"""Referrals (sharing a case with another organisation), return hand-offs (the referral a return plan makes to its
receiving organisation) and transfers (handing a case over).

Each verb checks its policy first, changes the data, writes its audit event with codes and ids only, and leaves the
commit to the caller. Audit events carry the case id and both organisations (`to_organisation`,
`from_organisation`), so both organisations' supervisors find them with the case and notices can be derived.

Access to the case is never read from these rows: each verb that opens or closes access gives or ends a grant
(access/grants.py), which is what the access policies read. Accepting a referral or hand-off grants the receiving
organisation "referral" access (its supervisors and mission staff, and the caseworker who accepted); revoking it
revokes the grant. A transfer approved by the owning organisation grants the receiving organisation's supervisors
"review" access until they accept (the case changes owner) or decline. A grant that rests on the person's consent
names the consent record, so withdrawing that consent suspends it (consent.operations.withdraw_consent).
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, allowed, authorize, grants
from casemgmt.accounts.models import Organisation
from casemgmt.audit import record_event
from casemgmt.cases import age
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.queries import has_consent
from casemgmt.core.invariants import insert_or_refuse, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.referrals import queries
from casemgmt.referrals.models import (
    CONSENT_BASES,
    OPEN_REFERRAL_STATUSES,
    OPEN_TRANSFER_STATUSES,
    OVERRIDE_BASES,
    REFERRAL_REASONS,
    Referral,
    Transfer,
)


class ReferralError(ValueError):
    """A referral or transfer that cannot be made; the message is shown to the user (already translated)."""


def is_minor(case: Case, day: date | None = None) -> bool:
    """A child on `day` (the referral's date, today), by the age the record holds (cases.age.is_child: the date of
    birth, an estimate, a year of birth, a child's age band, or "recorded as a child")."""
    return age.is_child(case, day)


def _clean(text: str | None) -> str:
    return (text or "").strip()


def refused_bases(case: Case, day: date | None = None) -> dict[str, str]:
    """The bases for sharing the operations would refuse for this case on `day` (today: a referral is made the day
    it is sent), each with the reason shown to the user.

    The forms offer only the other bases and the operations refuse these, so a choice offered is a choice accepted.
    """
    refused = {}
    if not has_consent(case.id, "share"):
        refused["consent"] = gettext(
            "No consent to share this case is on record. Record the person's consent first; without it, only "
            "a minor or a person in imminent danger may be referred, and you must say why."
        )
    if not is_minor(case, day):
        refused["minor"] = gettext(
            "The record does not show this person as a child (under 18) today. Record the date of birth or an "
            "estimated age first, or record the person's consent."
        )
    return refused


def _check_consent(case: Case, basis: str, override_reason: str) -> None:
    """Sharing needs the person's consent, unless they are a minor or in imminent danger, which must be explained."""
    if basis not in CONSENT_BASES:
        raise ReferralError(gettext("Choose how sharing this case is justified."))
    refusal = refused_bases(case).get(basis)
    if refusal:
        raise ReferralError(refusal)
    if basis in OVERRIDE_BASES and not override_reason:
        raise ReferralError(gettext("Say why the case must be shared without the person's consent."))


def _receiving_organisation(actor, case: Case, organisation_id) -> Organisation:
    org = db.session.get(Organisation, organisation_id) if isinstance(organisation_id, int) else None
    if org is None:
        raise ReferralError(gettext("Choose an organisation from the list."))
    if org.id == case.organisation_id or org.id == actor.organisation_id:
        raise ReferralError(gettext("A case cannot be referred or transferred to its own organisation."))
    return org


def _audit_override(actor, case: Case, basis: str, object_type: str, object_id: str) -> None:
    if basis in OVERRIDE_BASES:
        record_event("referral.consent_override", object_type=object_type, object_id=object_id, case_id=case.id,
                     actor=actor, details={"basis": basis})


def load_case(actor, case_id: str, action: Action) -> Case:
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    authorize(actor, action, case)
    return case


# Referrals


def referred_organisation_ids(case: Case) -> set[int]:
    """Organisations holding an open referral of the case: another referral to them is refused, so not offered."""
    return set(db.session.scalars(
        select(Referral.to_organisation_id).where(
            Referral.case_id == case.id, Referral.status.in_(OPEN_REFERRAL_STATUSES),
        )
    ))


def create_referral(
    actor, case: Case, to_organisation_id: int | None, reason: str, note: str | None = None,
    consent_basis: str = "consent", override_reason: str | None = None,
) -> Referral:
    authorize(actor, Action.REFERRAL_CREATE, case)
    if reason not in REFERRAL_REASONS:
        raise ReferralError(gettext("Choose a reason for the referral."))
    org = _receiving_organisation(actor, case, to_organisation_id)
    override_reason = _clean(override_reason)
    _check_consent(case, consent_basis, override_reason)
    already_referred = ReferralError(gettext("This case is already referred to %(org)s.", org=org.name))
    if org.id in referred_organisation_ids(case):
        raise already_referred
    referral = Referral(
        id=new_uuid(), case_id=case.id, from_organisation_id=case.organisation_id, to_organisation_id=org.id,
        reason=reason, status="pending", consent_basis=consent_basis, created_by_id=actor.id, created_at=utcnow(),
        case=case, to_organisation=org,
    )
    seal(referral, "note", _clean(note) or None)
    seal(referral, "override_reason", override_reason if consent_basis in OVERRIDE_BASES else None)
    # Two referrals sent at the same instant both pass the check above; the unique index refuses the second.
    insert_or_refuse(referral, "uq_referrals_open_per_org", already_referred)
    record_event("referral.create", object_type="referral", object_id=referral.id, case_id=case.id, actor=actor,
                 details={**_parties(referral), "reason": reason, "consent_basis": consent_basis,
                          "fields": [f for f in ("note", "override_reason") if getattr(referral, f) is not None]})
    _audit_override(actor, case, consent_basis, "referral", referral.id)
    return referral


def _get_referral(referral_id: str) -> Referral:
    referral = db.session.get(Referral, referral_id) if referral_id and len(referral_id) <= 36 else None
    if referral is None:
        raise NotFound()
    return referral


def load_referral(actor, referral_id: str, action: Action, case_id: str | None = None) -> Referral:
    """A referral the actor may act on; another organisation's answers 404."""
    referral = _get_referral(referral_id)
    if case_id is not None and referral.case_id != case_id:
        raise NotFound()
    authorize(actor, action, referral)
    return referral


def _answered() -> ReferralError:
    return ReferralError(gettext("This referral has already been answered or withdrawn."))


def _respond(actor, referral: Referral, status: str) -> None:
    authorize(actor, Action.REFERRAL_RESPOND, referral)
    if referral.status != "pending":
        raise _answered()
    if referral.case.erased_at is not None:
        raise ReferralError(gettext("This case has been erased."))
    # One conditional UPDATE: an answer racing another answer or a revocation finds the referral moved on.
    if not transition(referral, Referral.status == "pending", status=status, responded_by_id=actor.id,
                      responded_at=utcnow()):
        raise _answered()


def _consent_relied_on(case: Case, basis: str, purpose: str) -> str | None:
    """The consent record a grant rests on (withdrawing it suspends the grant); none for an override basis."""
    return queries.consent_relied_on(case.id, purpose) if basis == "consent" else None


def _grant_referral(actor, referral: Referral, responder) -> None:
    grants.grant(actor, referral.case, referral.to_organisation_id, "referral", referral.kind, referral.id,
                 user=responder, consent_id=_consent_relied_on(referral.case, referral.consent_basis,
                                                               queries.consent_purpose(referral)))


def _parties(referral: Referral) -> dict:
    return {"from_organisation": referral.from_organisation_id, "to_organisation": referral.to_organisation_id,
            "kind": referral.kind}


def accept_referral(actor, referral: Referral) -> None:
    """The receiving organisation takes the case on: a grant of referral access to it (and to the accepting
    caseworker)."""
    authorize(actor, Action.REFERRAL_RESPOND, referral)
    refusal = queries.acceptance_refusal(referral) if referral.status == "pending" else None
    if refusal:
        raise ReferralError(refusal)
    _respond(actor, referral, "accepted")
    _grant_referral(actor, referral, actor)
    record_event("referral.accept", object_type="referral", object_id=referral.id, case_id=referral.case_id,
                 actor=actor, details=_parties(referral))


def decline_referral(actor, referral: Referral, reason: str | None = None) -> None:
    _respond(actor, referral, "declined")
    seal(referral, "decline_reason", _clean(reason) or None)
    record_event("referral.decline", object_type="referral", object_id=referral.id, case_id=referral.case_id,
                 actor=actor, details={**_parties(referral),
                                       "fields": ["decline_reason"] if referral.decline_reason is not None else []})


def _withdraw(actor, referral: Referral, **details) -> None:
    """Revoke an open referral or hand-off and the grant it gave; the receiver's access ends with this transaction."""
    previous = referral.status
    if not transition(referral, Referral.status == previous, status="revoked", revoked_by_id=actor.id,
                      revoked_at=utcnow()):
        raise ReferralError(gettext("Someone else changed this referral just now. Look at it again."))
    grants.revoke(actor, referral.kind, referral.id)
    record_event("referral.revoke", object_type="referral", object_id=referral.id, case_id=referral.case_id,
                 actor=actor, details={**_parties(referral), "was": previous, **details})


def revoke_referral(actor, referral: Referral) -> None:
    """The sender withdraws the case."""
    authorize(actor, Action.REFERRAL_REVOKE, referral)
    if referral.status not in OPEN_REFERRAL_STATUSES:
        raise ReferralError(gettext("Only a pending or accepted referral can be revoked."))
    _withdraw(actor, referral)


def resume_referral(actor, referral: Referral) -> None:
    """The person consented again: the receiving organisation's suspended access resumes under the new consent.
    Resuming shares the case again, so it needs the right to share it."""
    authorize(actor, Action.REFERRAL_CREATE, referral.case)
    refusal = queries.resume_refusal(referral)
    if refusal:
        raise ReferralError(refusal)
    grants.resume(actor, referral.kind, referral.id,
                  _consent_relied_on(referral.case, referral.consent_basis, queries.consent_purpose(referral)))
    record_event("referral.resume", object_type="referral", object_id=referral.id, case_id=referral.case_id,
                 actor=actor, details=_parties(referral))


# Return hand-offs: the referral a return plan makes to its receiving organisation


def open_referral_to(case: Case, organisation_id: int) -> Referral | None:
    """The pending or accepted referral (of any kind) of the case to this organisation: at most one exists."""
    return db.session.scalar(
        select(Referral).where(Referral.case_id == case.id, Referral.to_organisation_id == organisation_id,
                               Referral.status.in_(OPEN_REFERRAL_STATUSES)).limit(1)
    )


def handoff_blocker(actor, case: Case, organisation_id: int) -> str | None:
    """Why the hand-off to this organisation cannot be sent now (translated), or None: the return page says so
    instead of offering the button, and the plan's steps send it as soon as nothing stands in the way."""
    if organisation_id == case.organisation_id:
        return gettext("The receiving organisation owns the case: there is nothing to hand off.")
    if not allowed(actor, Action.REFERRAL_CREATE, case):
        return gettext("The hand-off is sent by %(org)s, which owns the case, with its next change to the plan.",
                       org=case.organisation.name)
    if not has_consent(case.id, "return"):
        return gettext("The hand-off is sent under the person's consent to return, which is not on record. Record "
                       "it on the consent page; the hand-off then goes with the next change to the plan, or from "
                       "here.")
    return None


def handoff_ended_since(case: Case, organisation_id: int, since: datetime) -> bool:
    """Whether a hand-off of the case to the organisation was declined, or withdrawn, at or after `since` (the plan's
    start): the plan's steps do not send it again by themselves; naming the organisation again, or the page's
    button, does."""
    return db.session.scalar(
        select(Referral.id).where(Referral.case_id == case.id, Referral.to_organisation_id == organisation_id,
                                  Referral.kind == "return_handoff", Referral.status.in_(("declined", "revoked")),
                                  Referral.created_at >= since).limit(1)
    ) is not None


def hand_off(actor, case: Case, organisation_id: int, *, insist: bool = False,
             unless_ended_since: datetime | None = None) -> Referral | None:
    """Send the return plan's receiving organisation a hand-off: a referral of kind "return_handoff" under the
    consent to return, which it accepts or declines in its inbox. Nothing is sent when the organisation already has
    an open referral of the case (it needs no second one), when a hand-off to it ended since `unless_ended_since`
    (handoff_ended_since), or when something stands in the way (handoff_blocker): the plan's steps call this again,
    and the return page says why it waits. insist (the page's button): say why instead of doing nothing."""
    authorize(actor, Action.RETURN_MANAGE, case)
    org = db.session.get(Organisation, organisation_id) if isinstance(organisation_id, int) else None
    if org is None:
        raise ReferralError(gettext("Choose an organisation from the list."))
    if not insist and unless_ended_since is not None and handoff_ended_since(case, org.id, unless_ended_since):
        return None
    already = open_referral_to(case, org.id)
    blocker = handoff_blocker(actor, case, org.id)
    if already is not None or blocker is not None:
        if insist:
            raise ReferralError(blocker or gettext("%(org)s already has this case's hand-off or referral.",
                                                   org=org.name))
        return None
    referral = Referral(
        id=new_uuid(), case_id=case.id, from_organisation_id=case.organisation_id, to_organisation_id=org.id,
        reason="MigrationOrChangeOfLocation", kind="return_handoff", status="pending", consent_basis="consent",
        created_by_id=actor.id, created_at=utcnow(), case=case, to_organisation=org,
    )
    insert_or_refuse(referral, "uq_referrals_open_per_org",
                     ReferralError(gettext("%(org)s already has this case's hand-off or referral.", org=org.name)))
    record_event("referral.create", object_type="referral", object_id=referral.id, case_id=case.id, actor=actor,
                 details={**_parties(referral), "reason": referral.reason, "consent_basis": "consent", "fields": []})
    return referral


def withdraw_handoff(actor, case: Case, organisation_id: int, why: str) -> Referral | None:
    """The plan no longer sends the person to this organisation (another one named, or the return cancelled before
    departure): its pending or accepted hand-off is revoked, and the grant with it. A referral someone sent stays."""
    authorize(actor, Action.RETURN_MANAGE, case)
    referral = open_referral_to(case, organisation_id)
    if referral is None or referral.kind != "return_handoff":
        return None
    _withdraw(actor, referral, why=why)
    return referral


# Transfers of ownership


def _transfer_waiting() -> ReferralError:
    return ReferralError(gettext("A transfer of this case is already waiting for a decision."))


def waiting_transfer(case: Case) -> Transfer | None:
    """The transfer of the case waiting for a decision (the owning organisation's, or once approved the receiving
    organisation's): while there is one, another is refused, so not offered."""
    return db.session.scalar(
        select(Transfer).where(Transfer.case_id == case.id, Transfer.status.in_(OPEN_TRANSFER_STATUSES)).limit(1)
    )


def request_transfer(
    actor, case: Case, to_organisation_id: int | None, reason: str, consent_basis: str = "consent",
    override_reason: str | None = None, keep_access: bool = False,
) -> Transfer:
    authorize(actor, Action.TRANSFER_REQUEST, case)
    org = _receiving_organisation(actor, case, to_organisation_id)
    reason = _clean(reason)
    if not reason:
        raise ReferralError(gettext("Say why the case should be transferred."))
    override_reason = _clean(override_reason)
    _check_consent(case, consent_basis, override_reason)
    if waiting_transfer(case) is not None:
        raise _transfer_waiting()
    transfer = Transfer(
        id=new_uuid(), case_id=case.id, from_organisation_id=case.organisation_id, to_organisation_id=org.id,
        requested_by_id=actor.id, requested_at=utcnow(), consent_basis=consent_basis, keep_access=bool(keep_access),
        status="requested", case=case, to_organisation=org,
    )
    seal(transfer, "reason", reason)
    seal(transfer, "override_reason", override_reason if consent_basis in OVERRIDE_BASES else None)
    insert_or_refuse(transfer, "uq_transfers_open_per_case", _transfer_waiting())
    record_event("transfer.request", object_type="transfer", object_id=transfer.id, case_id=case.id, actor=actor,
                 details={**_transfer_parties(transfer), "consent_basis": consent_basis,
                          "keep_access": transfer.keep_access})
    _audit_override(actor, case, consent_basis, "transfer", transfer.id)
    return transfer


def _get_transfer(transfer_id: str, case_id: str) -> Transfer:
    transfer = db.session.get(Transfer, transfer_id) if transfer_id and len(transfer_id) <= 36 else None
    if transfer is None or transfer.case_id != case_id:
        raise NotFound()
    return transfer


def load_transfer(actor, case_id: str, transfer_id: str, action: Action) -> Transfer:
    transfer = _get_transfer(transfer_id, case_id)
    authorize(actor, action, transfer)
    return transfer


def _close_transfer(actor, transfer: Transfer, status: str, *, seen: tuple[str, ...] = ("requested",)) -> bool:
    return transition(transfer, Transfer.status.in_(seen), status=status, decided_by_id=actor.id,
                      decided_at=utcnow())


def _transfer_parties(transfer: Transfer) -> dict:
    return {"from_organisation": transfer.from_organisation_id, "to_organisation": transfer.to_organisation_id}


def _decide(actor, transfer: Transfer, status: str, note: str | None) -> None:
    authorize(actor, Action.TRANSFER_APPROVE, transfer)
    if transfer.status != "requested":
        raise ReferralError(gettext("This transfer has already been decided or cancelled."))
    if transfer.case.organisation_id != transfer.from_organisation_id:
        raise ReferralError(gettext("This case has changed owner since the transfer was requested."))
    # Two supervisors deciding at once (or a decision racing a cancellation): the second finds it decided.
    if not _close_transfer(actor, transfer, status):
        raise ReferralError(gettext("This transfer has already been decided or cancelled."))
    seal(transfer, "decision_note", _clean(note) or None)


def approve_transfer(actor, transfer: Transfer, note: str | None = None) -> None:
    """The owning organisation agrees to hand the case over. The receiving organisation is asked next: its
    supervisors may read the case to decide (a review grant, under the consent the transfer rests on) until one of
    them accepts or declines."""
    _decide(actor, transfer, "approved", note)
    case = transfer.case
    grants.grant(actor, case, transfer.to_organisation_id, "review", "transfer_pending", transfer.id,
                 consent_id=_consent_relied_on(case, transfer.consent_basis, "share"))
    record_event("transfer.approve", object_type="transfer", object_id=transfer.id, case_id=case.id, actor=actor,
                 details=_transfer_parties(transfer))


def _not_waiting_for_answer() -> ReferralError:
    return ReferralError(gettext("This transfer is not waiting for your organisation's answer."))


def _answer(actor, transfer: Transfer, status: str, note: str | None) -> None:
    authorize(actor, Action.TRANSFER_ACCEPT, transfer)
    if transfer.status != "approved":
        raise _not_waiting_for_answer()
    if transfer.case.organisation_id != transfer.from_organisation_id:
        raise ReferralError(gettext("This case has changed owner since the transfer was requested."))
    # Two supervisors answering at once (or an answer racing the sender's withdrawal): the second finds it moved on.
    if not transition(transfer, Transfer.status == "approved", status=status, answered_by_id=actor.id,
                      answered_at=utcnow()):
        raise _not_waiting_for_answer()
    seal(transfer, "answer_note", _clean(note) or None)
    # The review grant served the decision; from now on the case is the receiver's own, or stays the sender's.
    grants.revoke(actor, "transfer_pending", transfer.id)


def accept_transfer(actor, transfer: Transfer, note: str | None = None) -> None:
    """The receiving organisation takes the case over: it owns it, and its supervisor assigns it."""
    _answer(actor, transfer, "accepted", note)
    case = transfer.case
    case.organisation_id = transfer.to_organisation_id
    case.assigned_to_id = None
    case.updated_at = utcnow()
    case.updated_by_id = actor.id
    record_event("transfer.accept", object_type="transfer", object_id=transfer.id, case_id=case.id, actor=actor,
                 details={**_transfer_parties(transfer),
                          "fields": ["answer_note"] if transfer.answer_note is not None else []})
    if transfer.keep_access:
        _keep_sender_involved(actor, transfer)


def decline_transfer(actor, transfer: Transfer, note: str | None = None) -> None:
    """The receiving organisation does not take the case: it stays with its owner, and the review access ends."""
    _answer(actor, transfer, "declined", note)
    record_event("transfer.decline", object_type="transfer", object_id=transfer.id, case_id=transfer.case_id,
                 actor=actor, details={**_transfer_parties(transfer),
                                       "fields": ["answer_note"] if transfer.answer_note is not None else []})


def _keep_sender_involved(actor, transfer: Transfer) -> None:
    """An accepted referral from the new owner back to the sender, so the sender's staff keep referral access (and
    the caseworker who asked for the transfer, as the one who 'accepted' it). The new owner can revoke it."""
    # An earlier referral from the sender to the new owner is moot now that the new owner owns the case.
    for old in db.session.scalars(
        select(Referral).where(
            Referral.case_id == transfer.case_id, Referral.to_organisation_id == transfer.from_organisation_id,
            Referral.status.in_(OPEN_REFERRAL_STATUSES),
        )
    ):
        old.status = "revoked"
        old.revoked_by_id = actor.id
        old.revoked_at = utcnow()
        grants.revoke(actor, old.kind, old.id)
    db.session.flush()  # free the one-open-referral-per-organisation slot before the new row takes it
    now = utcnow()
    referral = Referral(
        id=new_uuid(), case_id=transfer.case_id, from_organisation_id=transfer.to_organisation_id,
        to_organisation_id=transfer.from_organisation_id, reason="AdditionalServicesRequired", status="accepted",
        consent_basis=transfer.consent_basis, created_by_id=actor.id, created_at=now,
        responded_by_id=transfer.requested_by_id, responded_at=now, case=transfer.case,
    )
    db.session.add(referral)
    db.session.flush()
    _grant_referral(actor, referral, transfer.requested_by)
    record_event("referral.create", object_type="referral", object_id=referral.id, case_id=transfer.case_id,
                 actor=actor, details={**_parties(referral), "via": "transfer", "transfer": transfer.id,
                                       "consent_basis": transfer.consent_basis})


def reject_transfer(actor, transfer: Transfer, note: str | None = None) -> None:
    _decide(actor, transfer, "rejected", note)
    record_event("transfer.reject", object_type="transfer", object_id=transfer.id, case_id=transfer.case_id,
                 actor=actor, details={**_transfer_parties(transfer),
                                       "fields": ["decision_note"] if transfer.decision_note is not None else []})


def cancel_transfer(actor, transfer: Transfer) -> None:
    """Whoever may request a transfer of the case may withdraw it while it waits for a decision, by either
    organisation; a transfer already approved takes the receiving supervisors' review access with it."""
    authorize(actor, Action.TRANSFER_REQUEST, transfer)
    seen = transfer.status
    if seen not in OPEN_TRANSFER_STATUSES or not _close_transfer(actor, transfer, "cancelled", seen=(seen,)):
        raise ReferralError(gettext("This transfer has already been decided or cancelled."))
    if seen == "approved":
        grants.revoke(actor, "transfer_pending", transfer.id)
    record_event("transfer.cancel", object_type="transfer", object_id=transfer.id, case_id=transfer.case_id,
                 actor=actor, details=_transfer_parties(transfer))
