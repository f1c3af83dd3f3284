"""Four eyes on the accounts that read cases.

A new account in a case-reading role, a role change into one, and a reset of such an account are requests until a
supervisor of the account's organisation approves them; nobody approves what they requested, nor a change to their
own account. The enrolment or reset link is made at approval and shown once to the approving supervisor, who knows
the person and hands it over: an administrator never holds a link that opens a case-reading account. An
organisation without a supervisor yet gets its first one from the command line (`casemgmt users create` or
`casemgmt users approve`, the operator at the server's shell).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.roles import CASE_READING_ROLES, Role
from casemgmt.accounts import enrolment
from casemgmt.accounts.errors import AccountError, _
from casemgmt.accounts.models import AccountRequest, User
from casemgmt.audit import record_event
from casemgmt.auth.sessions import end_all_sessions
from casemgmt.core.invariants import insert_or_refuse, transition
from casemgmt.core.time import utcnow
from casemgmt.extensions import db

KINDS = ("create", "role", "reset")
WORKLIST_LIMIT = 50


def needs_approval(actor, role: str) -> bool:
    """A case-reading role needs a supervisor's approval, except from the operator at the shell."""
    return role in CASE_READING_ROLES and not allowed(actor, Action.USERS_BOOTSTRAP)


def pending_request(user: User) -> AccountRequest | None:
    return db.session.scalar(
        select(AccountRequest).where(AccountRequest.user_id == user.id, AccountRequest.status == "requested")
        .order_by(AccountRequest.id.desc()).limit(1)
    )


def awaiting_creation(user: User) -> bool:
    request = pending_request(user)
    return request is not None and request.kind == "create"


def file_request(actor, user: User, kind: str, role: str | None = None) -> AccountRequest:
    """Record a request for a supervisor; a newer request about the same account withdraws the older one."""
    if kind not in KINDS:
        raise ValueError(kind)
    previous = pending_request(user)
    if previous is not None and previous.kind == "create":
        raise AccountError(_("This account waits for a supervisor's approval of its creation."))
    raced = AccountError(_("Someone else has just filed a request about this account. Look at it again."))
    if previous is not None:
        # Conditional, like every decision below: two requests filed at once cannot both withdraw the same one.
        if not transition(previous, AccountRequest.status == "requested", status="withdrawn", decided_at=utcnow()):
            raise raced
        record_event("account_request.withdraw", object_type="account_request", object_id=previous.id, actor=actor,
                     subject_organisation_id=user.organisation_id, details={"kind": previous.kind})
    request = AccountRequest(user_id=user.id, organisation_id=user.organisation_id, kind=kind, role=role,
                             from_role=user.role if kind == "role" else None,
                             requested_by_id=getattr(actor, "id", None))
    # One request waiting per account: the unique index refuses the second of two filed at the same instant.
    insert_or_refuse(request, "uq_account_requests_user_pending", raced)
    details = {"kind": kind, "user_id": user.id}
    if role:
        details["role"] = role
    record_event("account_request.create", object_type="account_request", object_id=request.id, actor=actor,
                 subject_organisation_id=user.organisation_id, details=details)
    return request


def apply_role(user: User, role: str) -> None:
    user.role = role
    if role != Role.SUPERVISOR and user.may_export_identified:
        # The grant belongs to the supervisor role; a new role starts without it.
        user.may_export_identified = False
    # A role change takes effect at once: the user logs in again under the new role.
    end_all_sessions(user.id)


def _decide(actor, request: AccountRequest, status: str) -> None:
    """One conditional UPDATE decides, before anything else happens: of two supervisors deciding at once, the
    second finds the request decided and carries out nothing (no second link, no second role change)."""
    if request.status != "requested" or not transition(
        request, AccountRequest.status == "requested", status=status, decided_by_id=getattr(actor, "id", None),
        decided_at=utcnow(),
    ):
        raise AccountError(_("This request has already been decided."))


def approve(actor, request: AccountRequest) -> str | None:
    """Carry out the request. Returns the enrolment or reset link's token when one is made, to be shown once to the
    approving supervisor."""
    authorize(actor, Action.ACCOUNTS_APPROVE, request)
    _decide(actor, request, "approved")
    user = request.user
    token = None
    if request.kind == "create":
        token = enrolment.issue_link(actor, user, "enrol")
    elif request.kind == "role":
        came_from_outside = request.from_role not in CASE_READING_ROLES
        apply_role(user, request.role)
        if came_from_outside:
            # The account was not a case-reading one: whoever ran it (an administrator) may know its passphrase.
            # It opens cases only with a passphrase its new holder sets through the approver's link.
            enrolment.revoke_credentials(user)
            token = enrolment.issue_link(actor, user, "enrol")
    elif request.kind == "reset":
        enrolment.revoke_credentials(user)
        token = enrolment.issue_link(actor, user, "reset")
    details = {"kind": request.kind, "user_id": user.id}
    if request.kind == "role":
        details.update({"from": request.from_role, "to": request.role})
    record_event("account_request.approve", object_type="account_request", object_id=request.id, actor=actor,
                 subject_organisation_id=request.organisation_id, details=details)
    return token


def refuse(actor, request: AccountRequest) -> None:
    authorize(actor, Action.ACCOUNTS_APPROVE, request)
    _decide(actor, request, "refused")
    if request.kind == "create":
        # A refused account never becomes usable; its username stays taken so the audit trail stays readable.
        request.user.active = False
    record_event("account_request.refuse", object_type="account_request", object_id=request.id, actor=actor,
                 subject_organisation_id=request.organisation_id,
                 details={"kind": request.kind, "user_id": request.user_id})


def requests_of_organisation(organisation_id: int, limit: int = WORKLIST_LIMIT) -> list[AccountRequest]:
    return list(db.session.scalars(
        select(AccountRequest)
        .where(AccountRequest.organisation_id == organisation_id, AccountRequest.status == "requested")
        .options(selectinload(AccountRequest.user), selectinload(AccountRequest.requested_by))
        .order_by(AccountRequest.requested_at, AccountRequest.id)
        .limit(limit)
    ))


def waiting_for(user) -> list[AccountRequest]:
    """The requests this supervisor may decide (not their own, not about themselves)."""
    if not allowed(user, Action.ACCOUNTS_APPROVE):
        return []
    return [r for r in requests_of_organisation(user.organisation_id) if allowed(user, Action.ACCOUNTS_APPROVE, r)]


@dataclass(frozen=True)
class Outcome:
    """What an administrator's change led to: a request waiting for a supervisor, or a link for the requester to
    hand over (administrator accounts only), or neither (done at once)."""

    user: User
    request: AccountRequest | None = None
    token: str | None = None
