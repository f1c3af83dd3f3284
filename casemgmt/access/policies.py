"""One policy per action, declared in one place.

Each policy answers "may this user do this action (to this object)?". Called with no object it answers the coarse
question a route asks before any object is loaded ("may this role list cases at all?"); operations call it again with
the object they are about to touch, so pages, the CLI and a future API share the same check. Anything that goes wrong
inside a policy denies.

Scopes (which cases a user may open):
- supervisor: every case of their organisation;
- caseworker: cases of their organisation assigned to them or created by them;
- mission staff: cases of their organisation (referred-in cases arrive with the referrals issue);
- hotline operator: cases they created;
- administrator: none. Administrators manage users, organisations and keys, never case contents.
A case of another organisation answers 404 (its existence is not disclosed); a case of the user's own organisation
outside their scope answers 403.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy import ColumnElement, false, or_
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.access.roles import Role

log = logging.getLogger(__name__)


class Action(StrEnum):
    CASE_LIST = "case.list"
    CASE_CREATE = "case.create"
    CASE_VIEW = "case.view"
    CASE_VIEW_IDENTITY = "case.view_identity"
    CASE_EDIT = "case.edit"
    CASE_CHANGE_STAGE = "case.change_stage"
    CASE_ASSIGN = "case.assign"
    CASE_SEARCH = "case.search"
    CASE_ACCESS_LOG = "case.access_log"
    CASE_ERASE = "case.erase"
    AUDIT_VIEW = "audit.view"
    USERS_MANAGE = "users.manage"
    ORGS_MANAGE = "orgs.manage"
    KEYS_MANAGE = "keys.manage"
    ACCOUNT_SELF = "account.self"
    HOME = "home"


CASE_ROLES = frozenset({Role.HOTLINE, Role.CASEWORKER, Role.MISSION, Role.SUPERVISOR})


def _role(user) -> str:
    return getattr(user, "role", None) or ""


def _is_system(user) -> bool:
    return _role(user) == "system"


def _same_org(user, case) -> bool:
    return case.organisation_id == user.organisation_id


def _in_case_scope(user, case) -> bool:
    role = _role(user)
    if not _same_org(user, case) or case.erased_at is not None:
        return False
    if role == Role.SUPERVISOR or role == Role.MISSION:
        return True
    if role == Role.CASEWORKER:
        return user.id in (case.assigned_to_id, case.created_by_id)
    if role == Role.HOTLINE:
        return case.created_by_id == user.id
    return False


def case_scope_filter(user) -> ColumnElement[bool]:
    """The same scope as _in_case_scope, as a SQL condition for list and search queries."""
    from casemgmt.cases.models import Case

    role = _role(user)
    own_org = (Case.organisation_id == user.organisation_id) & Case.erased_at.is_(None)
    if role in (Role.SUPERVISOR, Role.MISSION):
        return own_org
    if role == Role.CASEWORKER:
        return own_org & or_(Case.assigned_to_id == user.id, Case.created_by_id == user.id)
    if role == Role.HOTLINE:
        return own_org & (Case.created_by_id == user.id)
    return false()


def can_list_cases(user, obj=None) -> bool:
    return _role(user) in CASE_ROLES


def can_create_case(user, obj=None) -> bool:
    return _role(user) in CASE_ROLES


def can_view_case(user, case=None) -> bool:
    return _role(user) in CASE_ROLES and (case is None or _in_case_scope(user, case))


def can_view_identity(user, case=None) -> bool:
    # Everyone who may open a case works with the person; the referrals issue narrows this for referred-in access.
    return can_view_case(user, case)


def can_edit_case(user, case=None) -> bool:
    role = _role(user)
    if role not in CASE_ROLES:
        return False
    if case is None:
        return True
    if not _in_case_scope(user, case) or case.stage == "closed":
        return False
    # A hotline operator records intake; once the case moves on, its caseworker takes over.
    return not (role == Role.HOTLINE and case.stage != "intake")


def can_change_stage(user, case=None) -> bool:
    role = _role(user)
    if role not in (Role.CASEWORKER, Role.SUPERVISOR, Role.MISSION):
        return False
    return case is None or _in_case_scope(user, case)


def can_assign_case(user, case=None) -> bool:
    return _role(user) == Role.SUPERVISOR and (case is None or _in_case_scope(user, case))


def can_search_cases(user, obj=None) -> bool:
    return _role(user) in CASE_ROLES


def can_see_access_log(user, case=None) -> bool:
    return _role(user) == Role.SUPERVISOR and (case is None or _in_case_scope(user, case))


def can_erase_case(user, case=None) -> bool:
    if _is_system(user):
        return True
    return _role(user) == Role.SUPERVISOR and (case is None or _same_org(user, case))


def can_view_audit(user, obj=None) -> bool:
    return _role(user) in (Role.SUPERVISOR, Role.ADMIN)


def can_manage_users(user, obj=None) -> bool:
    return _is_system(user) or _role(user) == Role.ADMIN


def can_manage_orgs(user, obj=None) -> bool:
    return _is_system(user) or _role(user) == Role.ADMIN


def can_manage_keys(user, obj=None) -> bool:
    return _is_system(user) or _role(user) == Role.ADMIN


def can_manage_own_account(user, obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and not _is_system(user)


POLICIES: dict[Action, Callable[..., bool]] = {
    Action.CASE_LIST: can_list_cases,
    Action.CASE_CREATE: can_create_case,
    Action.CASE_VIEW: can_view_case,
    Action.CASE_VIEW_IDENTITY: can_view_identity,
    Action.CASE_EDIT: can_edit_case,
    Action.CASE_CHANGE_STAGE: can_change_stage,
    Action.CASE_ASSIGN: can_assign_case,
    Action.CASE_SEARCH: can_search_cases,
    Action.CASE_ACCESS_LOG: can_see_access_log,
    Action.CASE_ERASE: can_erase_case,
    Action.AUDIT_VIEW: can_view_audit,
    Action.USERS_MANAGE: can_manage_users,
    Action.ORGS_MANAGE: can_manage_orgs,
    Action.KEYS_MANAGE: can_manage_keys,
    Action.ACCOUNT_SELF: can_manage_own_account,
    Action.HOME: can_manage_own_account,
}


def allowed(user, action: Action, obj=None) -> bool:
    try:
        return bool(POLICIES[action](user, obj))
    except Exception:  # ASVS 4.1.5: an error inside a policy denies.
        log.exception("policy %s raised; denying", action)
        return False


def authorize(user, action: Action, obj=None) -> None:
    """Raise 404 for an object of another organisation, 403 otherwise; audit the denial."""
    if allowed(user, action, obj):
        return
    from casemgmt.audit.denials import record_denial

    other_org = obj is not None and hasattr(obj, "organisation_id") and not _is_system(user) and (
        obj.organisation_id != getattr(user, "organisation_id", None) or getattr(obj, "erased_at", None)
    )
    record_denial(action, obj, actor=None if getattr(user, "role", None) == "system" else user)
    raise NotFound() if other_org else Forbidden()
