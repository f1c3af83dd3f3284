"""Reads for the account pages: which accounts an administrator sees, what an account is waiting for, and the
account changes a supervisor reviews."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from casemgmt.access import Action, allowed
from casemgmt.access.roles import Role
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit.models import AuditEvent

# The audit actions that are account changes (see operations, approvals, enrolment).
ACCOUNT_ACTION_PREFIXES = ("user.", "account_request.", "account.")


def visible_users(actor) -> Select:
    """The installation administrator sees every organisation's accounts; an organisation's administrator their
    own organisation's."""
    query = select(User).order_by(User.username)
    if actor.role != Role.INSTALL_ADMIN:
        query = query.where(User.organisation_id == actor.organisation_id)
    return query


def assignable_roles(actor, organisation_id: int) -> list[Role]:
    from casemgmt.accounts.operations import AccountTarget

    return [role for role in Role if allowed(actor, Action.USERS_MANAGE, AccountTarget(organisation_id, role))]


def organisation_choices(actor) -> list[tuple[int, str]] | None:
    """Organisations the actor may create accounts in, or None when it is only their own (no choice offered)."""
    if actor.role != Role.INSTALL_ADMIN:
        return None
    from casemgmt.extensions import db

    return [(o.id, o.name) for o in db.session.scalars(select(Organisation).order_by(Organisation.name))]


def account_changes(organisation_id: int) -> Select:
    """Every account change about the organisation's accounts, whoever made it (installation administrator,
    administrator, supervisor, the operator at the shell, the user themselves), newest first."""
    return (
        select(AuditEvent)
        .where(AuditEvent.subject_organisation_id == organisation_id,
               or_(*(AuditEvent.action.startswith(prefix) for prefix in ACCOUNT_ACTION_PREFIXES)))
        .order_by(AuditEvent.seq.desc())
    )
