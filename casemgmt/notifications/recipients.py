"""Who is who for the rules: the staff of an organisation, narrowed by the policy of what they would do.

Asking the policies (access/policies.py) rather than naming roles keeps a notice in step with the button it leads to:
a supervisor who may not approve a plan (the one who submitted it) is not told that it waits for their approval.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from casemgmt.access import Action, allowed
from casemgmt.access.grants import AUDIENCES, CaseGrant
from casemgmt.access.roles import Role
from casemgmt.accounts.models import User

STAFF_ROLES = (Role.HOTLINE, Role.CASEWORKER, Role.MISSION, Role.SUPERVISOR)


def staff(session: Session, organisation_id: int | None, roles: Iterable[str] = STAFF_ROLES) -> list[User]:
    """The active accounts of an organisation in these roles (one query on users' organisation index)."""
    if organisation_id is None:
        return []
    return list(session.scalars(
        select(User).where(User.organisation_id == organisation_id, User.active.is_(True),
                           User.role.in_([str(r) for r in roles]))
        .order_by(User.id)
    ))


def users(session: Session, ids: Iterable[int | None]) -> list[User]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return []
    return list(session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True)).order_by(User.id)))


def who_may(candidates: Iterable[User], action: Action, obj) -> list[User]:
    """The candidates the policy allows `action` on `obj`."""
    return [user for user in candidates if allowed(user, action, obj)]


def sharing_organisations(session: Session, case_id: str) -> dict[int, tuple[set[str], set[int]]]:
    """The organisations holding live access to a case (access/grants.py): for each, the roles its grants reach
    organisation-wide and the people they name (the caseworker who accepted a referral)."""
    found: dict[int, tuple[set[str], set[int]]] = {}
    for grant in session.scalars(select(CaseGrant).where(CaseGrant.case_id == case_id)):
        if not grant.live:
            continue
        roles, named = found.setdefault(grant.organisation_id, (set(), set()))
        roles.update(AUDIENCES.get(grant.level, ()))
        if grant.user_id is not None:
            named.add(grant.user_id)
    return found


def grant_audience(session: Session, grant_ids: Iterable[str]) -> tuple[set[int], dict[int, set[str]], set[int]]:
    """For the grant rows named by an audit event: their organisations, the roles each level reaches there, and
    the people named personally."""
    organisations: set[int] = set()
    roles: dict[int, set[str]] = {}
    people: set[int] = set()
    for grant in session.scalars(select(CaseGrant).where(CaseGrant.id.in_(list(grant_ids)))):
        organisations.add(grant.organisation_id)
        roles.setdefault(grant.organisation_id, set()).update(AUDIENCES.get(grant.level, ()))
        if grant.user_id is not None:
            people.add(grant.user_id)
    return organisations, roles, people
