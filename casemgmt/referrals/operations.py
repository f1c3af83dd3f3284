"""Referrals (sharing a case with another organisation) and transfers (handing it over).

Each verb checks its policy first, changes the data, writes its audit event with codes and ids only, and leaves the
commit to the caller. Audit events carry the case id, so both organisations' supervisors find them with the case.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.accounts.models import Organisation
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.queries import has_consent
from casemgmt.core.invariants import insert_or_refuse, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.referrals.models import (
    CONSENT_BASES,
    OPEN_REFERRAL_STATUSES,
    OVERRIDE_BASES,
    REFERRAL_REASONS,
    Referral,
    Transfer,
)

MINOR_AGE_BANDS = ("0-8", "9-17")


class ReferralError(ValueError):
    """A referral or transfer that cannot be made; the message is shown to the user (already translated)."""


def is_minor(case: Case) -> bool:
    person = case.person
    return bool(case.unaccompanied_minor or (person is not None and person.age_band in MINOR_AGE_BANDS))


def _clean(text: str | None) -> str:
    return (text or "").strip()


def refused_bases(case: Case) -> dict[str, str]:
    """The bases for sharing the operations would refuse for this case, each with the reason shown to the user.

    The forms offer only the other bases and the operations refuse these, so a choice offered is a choice accepted.
    """
    refused = {}
    if not has_consent(case.id, "share"):
        refused["consent"] = gettext(
            "No consent to share this case is on record. Record the person's consent first; without it, only "
            "a minor or a person in imminent danger may be referred, and you must say why."
        )
    if not is_minor(case):
        refused["minor"] = gettext(
            "The record does not show this person as a minor (age band or unaccompanied minor). Record the age "
            "first, or record the person's consent."
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
                 details={"to_organisation": org.id, "reason": reason, "consent_basis": consent_basis,
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


def accept_referral(actor, referral: Referral) -> None:
    """The receiving organisation takes the case on; access follows from access.policies.case_access()."""
    _respond(actor, referral, "accepted")
    record_event("referral.accept", object_type="referral", object_id=referral.id, case_id=referral.case_id,
                 actor=actor, details={"from_organisation": referral.from_organisation_id})


def decline_referral(actor, referral: Referral, reason: str | None = None) -> None:
    _respond(actor, referral, "declined")
    seal(referral, "decline_reason", _clean(reason) or None)
    record_event("referral.decline", object_type="referral", object_id=referral.id, case_id=referral.case_id,
                 actor=actor, details={"from_organisation": referral.from_organisation_id,
                                       "fields": ["decline_reason"] if referral.decline_reason is not None else []})


def revoke_referral(actor, referral: Referral) -> None:
    """The sender withdraws the case; the receiver's access ends with this transaction."""
    authorize(actor, Action.REFERRAL_REVOKE, referral)
    if referral.status not in OPEN_REFERRAL_STATUSES:
        raise ReferralError(gettext("Only a pending or accepted referral can be revoked."))
    previous = referral.status
    if not transition(referral, Referral.status == previous, status="revoked", revoked_by_id=actor.id,
                      revoked_at=utcnow()):
        raise ReferralError(gettext("Someone else changed this referral just now. Look at it again."))
    record_event("referral.revoke", object_type="referral", object_id=referral.id, case_id=referral.case_id,
                 actor=actor, details={"to_organisation": referral.to_organisation_id, "was": previous})


# Transfers of ownership


def _transfer_waiting() -> ReferralError:
    return ReferralError(gettext("A transfer of this case is already waiting for a decision."))


def waiting_transfer(case: Case) -> Transfer | None:
    """The transfer of the case waiting for a decision: while there is one, another is refused, so not offered."""
    return db.session.scalar(
        select(Transfer).where(Transfer.case_id == case.id, Transfer.status == "requested").limit(1)
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
                 details={"to_organisation": org.id, "consent_basis": consent_basis,
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


def _close_transfer(actor, transfer: Transfer, status: str) -> bool:
    return transition(transfer, Transfer.status == "requested", status=status, decided_by_id=actor.id,
                      decided_at=utcnow())


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
    """Hand the case over: the receiving organisation owns it and its supervisor assigns it."""
    _decide(actor, transfer, "approved", note)
    case = transfer.case
    case.organisation_id = transfer.to_organisation_id
    case.assigned_to_id = None
    case.updated_at = utcnow()
    case.updated_by_id = actor.id
    record_event("transfer.approve", object_type="transfer", object_id=transfer.id, case_id=case.id, actor=actor,
                 details={"from_organisation": transfer.from_organisation_id,
                          "to_organisation": transfer.to_organisation_id})
    if transfer.keep_access:
        _keep_sender_involved(actor, transfer)


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
    db.session.flush()  # free the one-open-referral-per-organisation slot before the new row takes it
    now = utcnow()
    referral = Referral(
        id=new_uuid(), case_id=transfer.case_id, from_organisation_id=transfer.to_organisation_id,
        to_organisation_id=transfer.from_organisation_id, reason="AdditionalServicesRequired", status="accepted",
        consent_basis=transfer.consent_basis, created_by_id=actor.id, created_at=now,
        responded_by_id=transfer.requested_by_id, responded_at=now, case=transfer.case,
    )
    db.session.add(referral)
    record_event("referral.create", object_type="referral", object_id=referral.id, case_id=transfer.case_id,
                 actor=actor, details={"to_organisation": referral.to_organisation_id, "via": "transfer",
                                       "transfer": transfer.id, "consent_basis": transfer.consent_basis})


def reject_transfer(actor, transfer: Transfer, note: str | None = None) -> None:
    _decide(actor, transfer, "rejected", note)
    record_event("transfer.reject", object_type="transfer", object_id=transfer.id, case_id=transfer.case_id,
                 actor=actor, details={"to_organisation": transfer.to_organisation_id,
                                       "fields": ["decision_note"] if transfer.decision_note is not None else []})


def cancel_transfer(actor, transfer: Transfer) -> None:
    """Whoever may request a transfer of the case may withdraw a request still waiting for a decision."""
    authorize(actor, Action.TRANSFER_REQUEST, transfer)
    if transfer.status != "requested" or not _close_transfer(actor, transfer, "cancelled"):
        raise ReferralError(gettext("This transfer has already been decided or cancelled."))
    record_event("transfer.cancel", object_type="transfer", object_id=transfer.id, case_id=transfer.case_id,
                 actor=actor, details={"to_organisation": transfer.to_organisation_id})
