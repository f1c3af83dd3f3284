"""One policy per action, declared in one place.

Each policy answers "may this user do this action (to this object)?". Called with no object it answers the coarse
question a route asks before any object is loaded ("may this role list cases at all?"); operations call it again with
the object they are about to touch, so pages, the CLI and a future API share the same check. Anything that goes wrong
inside a policy denies.

Scopes (which cases a user may open):
- supervisor: every case of their organisation;
- caseworker: cases of their organisation assigned to them or created by them;
- mission staff: cases of their organisation;
- hotline operator: cases they created;
- administrator, installation administrator: none. They manage accounts, organisations and keys, never case
  contents (see _manageable_roles for who manages which accounts).
Access to another organisation's case comes from grants (access/grants.py), whatever the reason a feature had to
give one: an accepted referral or return hand-off gives the receiving organisation's mission staff and supervisors
(and the caseworker who accepted it) "referral" access: identity, consent, documents, the return and
reintegration, and the receiving organisation's own tasks; never screenings, counseling, shelter placements (the
timeline tells that a stay took place, not where), the sending organisation's tasks, or edits to the core record.
A transfer waiting for the receiving organisation's answer gives its supervisors "review" access: reading what they
need to decide, changing nothing. access/scope.py holds each level as a column of one table (_reaches() allows
through a grant what its level's column allows), and docs/access.md is rendered from it. This module imports no
feature: features create, suspend and revoke grants through their operations.
Nobody approves what they requested (not_own_request): closure, return plan, transfer and account approvals.
Reports (dashboard, donor report, exports) are for supervisors and cover their own organisation's cases only; an
identified export also needs the user's own `may_export_identified` grant.
A case of another organisation answers 404 (its existence is not disclosed); a case of the user's own organisation
outside their scope answers 403.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum

from flask import g, has_app_context
from sqlalchemy import ColumnElement, event, false, or_, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.access import grants, scope
from casemgmt.access.grants import CaseGrant
from casemgmt.access.roles import CASE_READING_ROLES, Role
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.extensions import db

log = logging.getLogger(__name__)


class Action(StrEnum):
    CASE_LIST = "case.list"
    CASE_CREATE = "case.create"
    CASE_VIEW = "case.view"
    CASE_VIEW_IDENTITY = "case.view_identity"
    CASE_EDIT = "case.edit"
    CASE_CHANGE_STAGE = "case.change_stage"
    CASE_FOLLOW_EVENT = "case.follow_event"
    CASE_ASSIGN = "case.assign"
    CASE_SEARCH = "case.search"
    CASE_ACCESS_LOG = "case.access_log"
    CASE_ERASE = "case.erase"
    AUDIT_VIEW = "audit.view"
    USERS_LIST = "users.list"
    USERS_MANAGE = "users.manage"
    USERS_BOOTSTRAP = "users.bootstrap"
    ACCOUNTS_APPROVE = "accounts.approve"
    ACCOUNTS_HISTORY = "accounts.history"
    ORGS_MANAGE = "orgs.manage"
    KEYS_MANAGE = "keys.manage"
    ACCOUNT_SELF = "account.self"
    HOME = "home"
    # The assisted person's journey
    CONTACT_LOG = "contact.log"
    CONTACT_VIEW = "contact.view"
    CONTACT_CORRECT = "contact.correct"
    CONTACT_DELETE = "contact.delete"
    SCREENING_RECORD = "screening.record"
    SCREENING_VIEW = "screening.view"
    CONSENT_RECORD = "consent.record"
    CONSENT_VIEW = "consent.view"
    FACILITY_MANAGE = "facility.manage"
    FACILITY_VIEW = "facility.view"
    PLACEMENT_MANAGE = "placement.manage"
    PLACEMENT_CORRECT = "placement.correct"
    PLACEMENT_DELETE = "placement.delete"
    COUNSELING_RECORD = "counseling.record"
    COUNSELING_VIEW = "counseling.view"
    COUNSELING_READ_NOTES = "counseling.read_notes"
    COUNSELING_CORRECT = "counseling.correct"
    COUNSELING_DELETE = "counseling.delete"
    RETURN_VIEW = "return.view"
    RETURN_MANAGE = "return.manage"
    RETURN_APPROVE = "return.approve"
    REINTEGRATION_MANAGE = "reintegration.manage"
    SERVICE_CORRECT = "reintegration.correct_service"
    SERVICE_DELETE = "reintegration.delete_service"
    VISIT_CORRECT = "reintegration.correct_visit"
    VISIT_DELETE = "reintegration.delete_visit"
    TASK_MANAGE = "task.manage"
    REFERRAL_CREATE = "referral.create"
    REFERRAL_RESPOND = "referral.respond"
    REFERRAL_REVOKE = "referral.revoke"
    REFERRAL_LIST = "referral.list"
    TRANSFER_REQUEST = "transfer.request"
    TRANSFER_APPROVE = "transfer.approve"
    TRANSFER_ACCEPT = "transfer.accept"
    DOCUMENT_UPLOAD = "document.upload"
    DOCUMENT_DOWNLOAD = "document.download"
    CLOSURE_APPROVE = "closure.approve"
    CLOSURE_WITHDRAW = "closure.withdraw"
    TIMELINE_VIEW = "timeline.view"
    # Reports and data sharing
    REPORT_VIEW = "report.view"
    EXPORT_CASELOAD = "export.caseload"
    EXPORT_IDENTIFIED = "export.identified"
    EXPORT_DEIDENTIFIED = "export.deidentified"
    # Projects and the emergency assistance fund
    PROJECT_VIEW = "project.view"
    PROJECT_MANAGE = "project.manage"
    RATES_MANAGE = "finance.rates"
    ENROLMENT_MANAGE = "enrolment.manage"
    FUND_REQUEST = "fund.request"
    FUND_LIST = "fund.list"
    FUND_VIEW = "fund.view"
    FUND_APPROVE = "fund.approve"
    FUND_DISBURSE = "fund.disburse"
    FUND_CANCEL = "fund.cancel"
    FUND_CORRECT = "fund.correct"
    # Children and families (issue 15)
    FAMILY_VIEW = "family.view"
    FAMILY_MANAGE = "family.manage"
    TRACING_MANAGE = "tracing.manage"
    BEST_INTERESTS_VIEW = "bestinterests.view"
    BEST_INTERESTS_RECORD = "bestinterests.record"
    BID_SIGN = "bestinterests.sign"
    RESIDENCE_VIEW = "residence.view"
    RESIDENCE_MANAGE = "residence.manage"


CASE_ROLES = frozenset({Role.HOTLINE, Role.CASEWORKER, Role.MISSION, Role.SUPERVISOR})
# Roles that work on a case: the journey's pages (shelter, counseling, return...) are theirs.
CASE_WORKERS = frozenset({Role.CASEWORKER, Role.MISSION, Role.SUPERVISOR})
REFERRAL_ROLES = frozenset({Role.CASEWORKER, Role.MISSION, Role.SUPERVISOR})


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


def _grant_filter(user, by_case: bool = False, listed: bool = False) -> ColumnElement[bool]:
    """Live grants (access/grants.py) that give this user access to a case of another organisation.

    Supervisors and mission staff are reached by their organisation's organisation-wide rows of the levels whose
    audience includes their role; a caseworker by the rows that name them. listed: only the levels whose cases join
    the case list and search (a case under review is read to decide, not worked on).
    by_case: for look-ups of given cases (a page's rows, one case, a few search candidates). SQLite without
    statistics would answer `case_id IN (...) AND organisation_id = ? ...` through ix_case_access_grants_org_live,
    reading every live grant of the organisation (17,000 for the mission at 100,000 cases) for each look-up;
    `+ 0` keeps the organisation out of index selection, so the case's own grants are read through
    ix_case_access_grants_case.
    """
    role = _role(user)
    organisation = CaseGrant.organisation_id + 0 if by_case else CaseGrant.organisation_id
    now = utcnow()
    live = (CaseGrant.revoked_at.is_(None) & CaseGrant.suspended_at.is_(None)
            & (CaseGrant.expires_at.is_(None) | (CaseGrant.expires_at > now)))
    levels = [level for level in (grants.LISTED_LEVELS if listed else grants.LEVELS)
              if role in grants.AUDIENCES[level]]
    if levels:
        whom = CaseGrant.user_id.is_(None) & CaseGrant.level.in_(levels)
    else:
        whom = CaseGrant.user_id == user.id
        if listed:
            whom = whom & CaseGrant.level.in_(grants.LISTED_LEVELS)
    return (organisation == user.organisation_id) & live & whom


# The order access levels are named in when a user holds several grants to one case (case_access names the first).
_GRANT_ORDER = {level: rank for rank, level in enumerate(grants.LEVELS)}


def _best(levels: frozenset[str]) -> str | None:
    return min(levels, key=_GRANT_ORDER.__getitem__) if levels else None


def _grant_memo() -> dict[tuple[int, str], frozenset[str]] | None:
    """Per-request answers to "which grant levels does this user hold to this case?". A page asks it for every tab
    and every row; without the memo each answer is a query. Any flush clears it (see _forget_grants), so a grant
    given, suspended or revoked in this request is seen at once."""
    if not has_app_context():
        return None
    if "_casemgmt_granted" not in g:
        g._casemgmt_granted = {}
    return g._casemgmt_granted


def _forget_grants(session, _flush_context) -> None:
    if has_app_context():
        g.pop("_casemgmt_granted", None)


event.listen(Session, "after_flush", _forget_grants)


def prefetch_case_access(user, case_ids) -> None:
    """Answer the grant question for many cases with one query (list pages, search results)."""
    memo = _grant_memo()
    wanted = [cid for cid in set(case_ids) if memo is not None and (getattr(user, "id", None), cid) not in memo]
    if not wanted or _role(user) not in REFERRAL_ROLES:
        return
    found: dict[str, set[str]] = {}
    for case_id, level in db.session.execute(
        select(CaseGrant.case_id, CaseGrant.level).where(CaseGrant.case_id.in_(wanted),
                                                         _grant_filter(user, by_case=True))
    ):
        found.setdefault(case_id, set()).add(level)
    for cid in wanted:
        memo[(user.id, cid)] = frozenset(found.get(cid, ()))


def _granted(user, case) -> frozenset[str]:
    """The grant levels the user holds to this case (none for an erased case)."""
    if _role(user) not in REFERRAL_ROLES or case.erased_at is not None:
        return frozenset()
    memo = _grant_memo()
    key = (user.id, case.id)
    if memo is not None and key in memo:
        return memo[key]
    levels = frozenset(db.session.scalars(
        select(CaseGrant.level).where(CaseGrant.case_id == case.id, _grant_filter(user, by_case=True))
    ))
    if memo is not None:
        memo[key] = levels
    return levels


def case_access(user, case) -> str | None:
    """"full" (the user's own organisation, in their scope), a grant level ("referral", "review": another
    organisation's case shared with the user, see access/grants.py; the widest when several), or None."""
    if case is None:
        return None
    if _in_case_scope(user, case):
        return "full"
    return _best(_granted(user, case))


def case_scope_filter(user, by_case: bool = False) -> ColumnElement[bool]:
    """The cases the user works on (full access, or a grant of a listed level), as a SQL condition for list and
    search queries.

    by_case: for a query another index has already narrowed to a few cases (search candidates): each case's own
    grants are probed instead of collecting every case granted to the organisation first."""
    role = _role(user)
    own_org = (Case.organisation_id == user.organisation_id) & Case.erased_at.is_(None)
    if role in REFERRAL_ROLES:
        if by_case:
            held = select(CaseGrant.id).where(CaseGrant.case_id == Case.id,
                                              _grant_filter(user, by_case=True, listed=True))
            shared = held.exists() & Case.erased_at.is_(None)
        else:
            shared = Case.id.in_(select(CaseGrant.case_id).where(_grant_filter(user, listed=True))) \
                & Case.erased_at.is_(None)
    if role in (Role.SUPERVISOR, Role.MISSION):
        return own_org | shared
    if role == Role.CASEWORKER:
        return (own_org & or_(Case.assigned_to_id == user.id, Case.created_by_id == user.id)) | shared
    if role == Role.HOTLINE:
        return own_org & (Case.created_by_id == user.id)
    return false()


def case_scope_parts(user) -> list[ColumnElement[bool]]:
    """case_scope_filter() as disjoint conditions whose union is the scope, each of which a database can read in
    created_at order through one index (own organisation, own assignments...) or which is small (shared in).

    With the OR of case_scope_filter() neither backend can walk an index in order: a list page would collect and
    sort the whole scope. Ordering each part through its index and merging them reads about one page of rows, and
    each part can be counted on its own. `tests/cases/test_scale_queries.py` checks the parts against the filter."""
    role = _role(user)
    live = Case.erased_at.is_(None)
    own_org = (Case.organisation_id == user.organisation_id) & live
    shared = Case.id.in_(select(CaseGrant.case_id).where(_grant_filter(user, listed=True))) & live
    if role in (Role.SUPERVISOR, Role.MISSION):
        # A case shared in that has since come to the organisation (a transfer) is already an own case.
        return [own_org, shared & (Case.organisation_id != user.organisation_id)]
    if role == Role.CASEWORKER:
        not_assigned_to_me = Case.assigned_to_id.is_(None) | (Case.assigned_to_id != user.id)
        not_created_by_me = Case.created_by_id.is_(None) | (Case.created_by_id != user.id)
        return [
            own_org & (Case.assigned_to_id == user.id),
            own_org & (Case.created_by_id == user.id) & not_assigned_to_me,
            shared & ((Case.organisation_id != user.organisation_id) | (not_assigned_to_me & not_created_by_me)),
        ]
    if role == Role.HOTLINE:
        return [own_org & (Case.created_by_id == user.id)]
    return []


def can_list_cases(user, obj=None) -> bool:
    return _role(user) in CASE_ROLES


def can_create_case(user, obj=None) -> bool:
    return _role(user) in CASE_ROLES


def can_view_case(user, case=None) -> bool:
    return _role(user) in CASE_ROLES and (case is None or _reaches(user, case, Action.CASE_VIEW))


def can_view_identity(user, case=None) -> bool:
    # Everyone who may open a case works with the person, including through a referral (access/scope.py).
    return _role(user) in CASE_ROLES and (case is None or _reaches(user, case, Action.CASE_VIEW_IDENTITY))


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


# (user id, case id) of the automatic stage moves under way in this context (see moving_by_event).
_EVENT_MOVES: ContextVar[frozenset[tuple[int | None, str]]] = ContextVar("casemgmt_event_moves", default=frozenset())


@contextmanager
def moving_by_event(user, case) -> Iterator[None]:
    """journey/automatic.py moves a case's stage because `user` has just recorded an event that moves it (an arrival
    confirmed by the receiving mission). Inside this block, moving this case's stage is answered by the policy of
    CASE_FOLLOW_EVENT instead of CASE_CHANGE_STAGE: the user could record the event, so the move it causes goes
    through the same path as a manual change (its transitions and guards) without giving them the manual right."""
    token = _EVENT_MOVES.set(_EVENT_MOVES.get() | {(getattr(user, "id", None), case.id)})
    try:
        yield
    finally:
        _EVENT_MOVES.reset(token)


def can_change_stage(user, case=None) -> bool:
    role = _role(user)
    if role not in (Role.CASEWORKER, Role.SUPERVISOR, Role.MISSION):
        return False
    if case is not None and (getattr(user, "id", None), case.id) in _EVENT_MOVES.get():
        return can_follow_event(user, case)
    return case is None or _in_case_scope(user, case)


def can_follow_event(user, case=None) -> bool:
    """A stage move caused by an event the user recorded (journey/automatic.py): whoever works on the case, in
    their organisation or through a grant whose level allows it; the move's guards still apply."""
    return _works_on(user, case, Action.CASE_FOLLOW_EVENT)


def can_assign_case(user, case=None) -> bool:
    return _role(user) == Role.SUPERVISOR and (case is None or _in_case_scope(user, case))


def can_search_cases(user, obj=None) -> bool:
    return _role(user) in CASE_ROLES


def can_see_access_log(user, case=None) -> bool:
    # Both sides of a referral see who looked at the record they share.
    return _role(user) == Role.SUPERVISOR and (case is None or _reaches(user, case, Action.CASE_ACCESS_LOG))


def can_erase_case(user, case=None) -> bool:
    if _is_system(user):
        return True
    return _role(user) == Role.SUPERVISOR and (case is None or _same_org(user, case))


def can_view_audit(user, obj=None) -> bool:
    return _role(user) in (Role.SUPERVISOR, Role.ADMIN)


def _manageable_roles(user) -> frozenset:
    """Separation of duties: an organisation's administrator manages the case-reading accounts of their organisation;
    the installation administrator manages the organisations' administrators. Neither can make an account of the
    other kind, so no administrator can turn an account they control into one that reads cases."""
    role = _role(user)
    if role == Role.ADMIN:
        return CASE_READING_ROLES
    if role == Role.INSTALL_ADMIN:
        return frozenset({Role.ADMIN})
    return frozenset()


def can_list_users(user, target=None) -> bool:
    """See an account (list, detail page): the installation administrator sees every organisation's accounts, an
    organisation's administrator only their own organisation's (another organisation's account answers 404)."""
    if _is_system(user) or _role(user) == Role.INSTALL_ADMIN:
        return True
    if _role(user) != Role.ADMIN:
        return False
    return target is None or target.organisation_id == user.organisation_id


def can_manage_users(user, target=None) -> bool:
    """Change an account, or create one: `target` is the user, or anything with the organisation_id and role of the
    account to be (a new account, a role to change to)."""
    if _is_system(user):
        return True
    if not _manageable_roles(user):
        return False
    if target is None:
        return True
    if _role(user) == Role.ADMIN and target.organisation_id != user.organisation_id:
        return False
    return target.role in _manageable_roles(user)


def can_bootstrap_users(user, obj=None) -> bool:
    # Choosing another person's passphrase, or acting without a supervisor's approval, is for the operator at the
    # server's shell only (the first accounts of a fresh install, an organisation without a supervisor yet).
    return _is_system(user)


def can_approve_account(user, request=None) -> bool:
    """Four eyes: a supervisor of the account's organisation approves; never their own request, nor one about
    their own account."""
    if _is_system(user):
        return True
    if _role(user) != Role.SUPERVISOR:
        return False
    if request is None:
        return True
    return (request.organisation_id == user.organisation_id and request.requested_by_id != user.id
            and request.user_id != user.id)


def can_view_account_history(user, org=None) -> bool:
    # Supervisors see the account changes of their organisation (who was created, changed, reset, approved).
    return _role(user) == Role.SUPERVISOR and (org is None or getattr(org, "id", org) == user.organisation_id)


def can_manage_orgs(user, obj=None) -> bool:
    return _is_system(user) or _role(user) == Role.INSTALL_ADMIN


def can_manage_keys(user, obj=None) -> bool:
    return _is_system(user) or _role(user) == Role.INSTALL_ADMIN


def can_manage_own_account(user, obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and not _is_system(user)


def _case_of(obj):
    """The case an object belongs to (the object itself when it is a case)."""
    if obj is None:
        return None
    if obj.__class__.__name__ == "Case":
        return obj
    return getattr(obj, "case", None)


def _reaches(user, case, action: Action) -> bool:
    """Full access to the case, or a grant whose level's column of access/scope.py includes the action (any of the
    user's grants: a supervisor who works on a referred case may also be reviewing its transfer)."""
    if case is None:
        return False
    if _in_case_scope(user, case):
        return True
    return any(scope.in_grant_scope(level, action) for level in _granted(user, case))


def _works_on(user, obj, action: Action) -> bool:
    """A case worker who reaches the object's case for this action (see _reaches)."""
    if _role(user) not in CASE_WORKERS:
        return False
    if obj is None:
        return True
    return _reaches(user, _case_of(obj), action)


def not_own_request(user, obj) -> bool:
    """Nobody approves what they requested (four eyes). Everything that waits for an approval names who asked for
    it as `requested_by_id` (a closure request, a transfer, a return plan's submitter, an account change)."""
    requester = getattr(obj, "requested_by_id", None) if obj is not None else None
    return requester is None or requester != getattr(user, "id", None)


def can_log_contact(user, contact=None) -> bool:
    return _role(user) in CASE_ROLES and (contact is None or contact.organisation_id == user.organisation_id)


def can_view_contact(user, contact=None) -> bool:
    # Contacts belong to the organisation that took them; hotline operators and case workers of it may read them.
    if _role(user) not in CASE_ROLES:
        return False
    return contact is None or contact.organisation_id == user.organisation_id


def can_record_screening(user, case=None) -> bool:
    if _role(user) == Role.HOTLINE:
        return case is None or (case_access(user, case) == "full" and case.stage == "intake")
    return _works_on(user, case, Action.SCREENING_RECORD)


def can_view_screening(user, case=None) -> bool:
    """Screening interviews (finding, indicators, who screened): the owning organisation's, like recording them;
    they are not in the referral scope."""
    return _role(user) in CASE_ROLES and (case is None or _reaches(user, _case_of(case), Action.SCREENING_VIEW))


def can_record_consent(user, obj=None) -> bool:
    if _role(user) == Role.HOTLINE:
        return obj is None or case_access(user, _case_of(obj)) == "full"
    return _works_on(user, obj, Action.CONSENT_RECORD)


def can_view_consent(user, obj=None) -> bool:
    # As recording it, and also through a review grant, which reads the consent a transfer relies on.
    if _role(user) == Role.HOTLINE:
        return obj is None or case_access(user, _case_of(obj)) == "full"
    return _works_on(user, obj, Action.CONSENT_VIEW)


def can_manage_facility(user, facility=None) -> bool:
    return _role(user) == Role.SUPERVISOR and (facility is None or facility.organisation_id == user.organisation_id)


def can_view_facility(user, facility=None) -> bool:
    # Who is in a shelter is itself sensitive: staff of the facility's organisation only.
    if _role(user) not in (Role.CASEWORKER, Role.SUPERVISOR):
        return False
    return facility is None or facility.organisation_id == user.organisation_id


def can_manage_placement(user, obj=None) -> bool:
    return _role(user) in (Role.CASEWORKER, Role.SUPERVISOR) and _works_on(user, obj, Action.PLACEMENT_MANAGE)


def can_record_counseling(user, obj=None) -> bool:
    return _role(user) in (Role.CASEWORKER, Role.SUPERVISOR) and _works_on(user, obj, Action.COUNSELING_RECORD)


def can_view_counseling(user, obj=None) -> bool:
    """That sessions took place (type, date, provider), not their notes."""
    return _works_on(user, obj, Action.COUNSELING_VIEW)


def can_read_counseling_notes(user, session=None) -> bool:
    """Need to know: the author, the case's assigned caseworker, and supervisors of the case's organisation."""
    role = _role(user)
    if role not in (Role.CASEWORKER, Role.SUPERVISOR):
        return False
    if session is None:
        return True
    case = _case_of(session)
    if case is None or case_access(user, case) != "full":
        return False
    if role == Role.SUPERVISOR:
        return True
    return user.id in (getattr(session, "author_id", None), case.assigned_to_id)


def can_view_return(user, obj=None) -> bool:
    return _works_on(user, obj, Action.RETURN_VIEW)


def can_manage_return(user, obj=None) -> bool:
    # Sending and receiving organisations both work on the return plan.
    return _works_on(user, obj, Action.RETURN_MANAGE)


def can_approve_return(user, obj=None) -> bool:
    # The sending organisation, which holds the person's consent and assessments, approves the departure; never
    # the supervisor who submitted the plan.
    if _role(user) != Role.SUPERVISOR:
        return False
    return obj is None or (_reaches(user, _case_of(obj), Action.RETURN_APPROVE) and not_own_request(user, obj))


def can_manage_reintegration(user, obj=None) -> bool:
    return _works_on(user, obj, Action.REINTEGRATION_MANAGE)


def can_manage_task(user, obj=None) -> bool:
    """obj is a case (list its tasks, add one) or a task. A task belongs to the organisation that created it: a
    referral never reaches the sending organisation's tasks, and the receiving organisation keeps its own."""
    if _role(user) not in CASE_ROLES:
        return False
    if obj is None:
        return True
    case = _case_of(obj)
    if obj is case:
        return _reaches(user, case, Action.TASK_MANAGE)
    if getattr(obj, "organisation_id", None) != user.organisation_id:
        return False
    if case is None or _reaches(user, case, Action.TASK_MANAGE):
        return True
    # A colleague given a task on one of the organisation's own cases may do it without opening the case.
    return getattr(obj, "assignee_id", None) == user.id and _same_org(user, case)


def can_create_referral(user, case=None) -> bool:
    return _role(user) in (Role.CASEWORKER, Role.SUPERVISOR, Role.MISSION) and _works_on(
        user, case, Action.REFERRAL_CREATE
    )


def can_respond_referral(user, referral=None) -> bool:
    if _role(user) not in REFERRAL_ROLES:
        return False
    return referral is None or referral.to_organisation_id == user.organisation_id


def can_revoke_referral(user, referral=None) -> bool:
    # The owning organisation manages all sharing of its case, including referrals made before a transfer.
    if _role(user) not in (Role.CASEWORKER, Role.SUPERVISOR, Role.MISSION):
        return False
    return referral is None or case_access(user, _case_of(referral)) == "full"


def can_list_referrals(user, obj=None) -> bool:
    return _role(user) in REFERRAL_ROLES


def can_request_transfer(user, case=None) -> bool:
    return _works_on(user, case, Action.TRANSFER_REQUEST)


def can_approve_transfer(user, obj=None) -> bool:
    if _role(user) != Role.SUPERVISOR:
        return False
    return obj is None or (_reaches(user, _case_of(obj), Action.TRANSFER_APPROVE) and not_own_request(user, obj))


def can_accept_transfer(user, obj=None) -> bool:
    """The receiving organisation takes the case on, or declines it: one of its supervisors, once a supervisor of
    the owning organisation has approved the transfer (which gave them the review grant to read it)."""
    if _role(user) != Role.SUPERVISOR:
        return False
    if obj is None:
        return True
    return (getattr(obj, "to_organisation_id", None) == user.organisation_id
            and _reaches(user, _case_of(obj), Action.TRANSFER_ACCEPT))


def can_upload_document(user, obj=None) -> bool:
    return _works_on(user, obj, Action.DOCUMENT_UPLOAD)


def can_download_document(user, document=None) -> bool:
    return _works_on(user, document, Action.DOCUMENT_DOWNLOAD)


def can_approve_closure(user, obj=None) -> bool:
    if _role(user) != Role.SUPERVISOR:
        return False
    return obj is None or (_reaches(user, _case_of(obj), Action.CLOSURE_APPROVE) and not_own_request(user, obj))


def can_withdraw_closure(user, obj=None) -> bool:
    """The one who asked for the closure takes the request back; a supervisor of the organisation may too, for a
    requester who is away or has left."""
    role = _role(user)
    if role not in (Role.CASEWORKER, Role.MISSION, Role.SUPERVISOR):
        return False
    if obj is None:
        return True
    if not _reaches(user, _case_of(obj), Action.CLOSURE_WITHDRAW):
        return False
    requester = getattr(obj, "requested_by_id", None)
    return role == Role.SUPERVISOR or (requester is not None and requester == getattr(user, "id", None))


def can_view_timeline(user, case=None) -> bool:
    # Each feature's entries then follow that feature's own policy (journey/queries.timeline).
    return _role(user) in CASE_ROLES and (case is None or _reaches(user, case, Action.TIMELINE_VIEW))


def _own_org_supervisor(user, org=None) -> bool:
    """Reports cover the supervisor's own organisation only; an organisation object, when given, must be theirs."""
    if _role(user) != Role.SUPERVISOR:
        return False
    return org is None or getattr(org, "id", org) == user.organisation_id


def can_view_reports(user, org=None) -> bool:
    return _own_org_supervisor(user, org)


def can_export_caseload(user, org=None) -> bool:
    return _own_org_supervisor(user, org)


def can_export_identified(user, org=None) -> bool:
    # Names leave the system in bulk only through a supervisor an administrator trusted with this grant.
    return _own_org_supervisor(user, org) and bool(getattr(user, "may_export_identified", False))


def can_export_deidentified(user, org=None) -> bool:
    return _own_org_supervisor(user, org)


# Corrections and deletions of recorded facts (issue 12, item 6) ----------------------------------------------------
# One rule for all five kinds, each action with its own policy: the record's author, the caseworker the case is
# assigned to, or a supervisor; each within the reach the feature already has (counseling and shelter placements
# never through a referral; reintegration through it, since the receiving organisation runs it; contacts stay with
# the organisation that took them). The earlier version is kept (casemgmt/revisions), so a correction loses nothing.


def _author_or_lead(user, record, *authors) -> bool:
    """The author of the record (any of `authors`), the caseworker its case is assigned to, or a supervisor."""
    if _role(user) == Role.SUPERVISOR:
        return True
    people = {a for a in authors if a is not None}
    case = _case_of(record)
    if case is not None and case.assigned_to_id is not None:
        people.add(case.assigned_to_id)
    return getattr(user, "id", None) in people


def _corrects_case_record(user, record, roles, *authors) -> bool:
    """A record of the owning organisation's own work on the case (full access only, never a referral)."""
    if _role(user) not in roles:
        return False
    if record is None:
        return True
    return case_access(user, _case_of(record)) == "full" and _author_or_lead(user, record, *authors)


def can_correct_counseling(user, session=None) -> bool:
    return _corrects_case_record(user, session, (Role.CASEWORKER, Role.SUPERVISOR),
                                 getattr(session, "author_id", None))


def can_delete_counseling(user, session=None) -> bool:
    return _corrects_case_record(user, session, (Role.CASEWORKER, Role.SUPERVISOR),
                                 getattr(session, "author_id", None))


def can_correct_placement(user, placement=None) -> bool:
    return _corrects_case_record(user, placement, (Role.CASEWORKER, Role.SUPERVISOR),
                                 getattr(placement, "created_by_id", None))


def can_delete_placement(user, placement=None) -> bool:
    return _corrects_case_record(user, placement, (Role.CASEWORKER, Role.SUPERVISOR),
                                 getattr(placement, "created_by_id", None))


def _corrects_reintegration(user, record, action: Action) -> bool:
    """Reintegration is in the referral scope: the receiving organisation's author or supervisor corrects too."""
    if _role(user) not in CASE_WORKERS:
        return False
    if record is None:
        return True
    return _reaches(user, _case_of(record), action) and _author_or_lead(
        user, record, getattr(record, "recorded_by_id", None), getattr(record, "visited_by_id", None))


def can_correct_service(user, service=None) -> bool:
    return _corrects_reintegration(user, service, Action.SERVICE_CORRECT)


def can_delete_service(user, service=None) -> bool:
    return _corrects_reintegration(user, service, Action.SERVICE_DELETE)


def can_correct_visit(user, visit=None) -> bool:
    return _corrects_reintegration(user, visit, Action.VISIT_CORRECT)


def can_delete_visit(user, visit=None) -> bool:
    return _corrects_reintegration(user, visit, Action.VISIT_DELETE)


def _corrects_contact(user, contact) -> bool:
    """A contact belongs to the organisation that took it: whoever took it, the caseworker of the case it joined, or
    a supervisor of that organisation."""
    if _role(user) not in CASE_ROLES:
        return False
    if contact is None:
        return True
    if contact.organisation_id != user.organisation_id:
        return False
    return _author_or_lead(user, contact, getattr(contact, "taken_by_id", None))


def can_correct_contact(user, contact=None) -> bool:
    return _corrects_contact(user, contact)


def can_delete_contact(user, contact=None) -> bool:
    return _corrects_contact(user, contact)


# Projects and the emergency assistance fund (issue 14) ------------------------------------------------------------
# Duck-typed like the rest of this module: a project says which organisations implement it (`organisation_ids`) and
# which one leads it (`organisation_id`); a fund request says which organisation made it (`organisation_id`), who
# asked (`requested_by_id`), who approved it so far (`approver_ids`) and its `status`. The finance officer is never
# allowed a case action: they reach requests through their organisation, not through the case.

MONEY_ROLES = frozenset({Role.SUPERVISOR, Role.FINANCE})


def can_view_project(user, project=None) -> bool:
    if _role(user) not in MONEY_ROLES:
        return False
    return project is None or user.organisation_id in getattr(project, "organisation_ids", ())


def can_manage_project(user, project=None) -> bool:
    if _role(user) != Role.SUPERVISOR:
        return False
    return project is None or getattr(project, "organisation_id", None) == user.organisation_id


def can_manage_rates(user, org=None) -> bool:
    return _role(user) in MONEY_ROLES and (org is None or getattr(org, "id", org) == user.organisation_id)


def can_manage_enrolment(user, obj=None) -> bool:
    """obj is a case (enrol it, charge work to a project) or an enrolment, which belongs to the organisation that
    made it."""
    if obj is not None and obj is not _case_of(obj) and getattr(obj, "organisation_id", None) != user.organisation_id:
        return False
    return _works_on(user, obj, Action.ENROLMENT_MANAGE)


def can_request_fund(user, case=None) -> bool:
    return _works_on(user, case, Action.FUND_REQUEST)


def can_list_fund(user, obj=None) -> bool:
    return _role(user) in CASE_WORKERS or _role(user) == Role.FINANCE


def _own_org_request(user, request) -> bool:
    return getattr(request, "organisation_id", None) == user.organisation_id


def can_view_fund(user, request=None) -> bool:
    """The requesting organisation's supervisors and finance officers, and its case workers who may ask the fund for
    this case (through a referral too, for the receiving organisation's own requests)."""
    if request is None:
        return can_list_fund(user)
    if not _own_org_request(user, request):
        return False
    return _role(user) in MONEY_ROLES or _works_on(user, _case_of(request), Action.FUND_REQUEST)


def can_approve_fund(user, request=None) -> bool:
    """A supervisor or finance officer of the requesting organisation, while it waits; never the requester, and
    never twice by one person (the second approval above the limit is someone else's)."""
    if _role(user) not in MONEY_ROLES:
        return False
    if request is None:
        return True
    return (_own_org_request(user, request) and getattr(request, "status", None) == "requested"
            and not_own_request(user, request) and user.id not in getattr(request, "approver_ids", ()))


def can_disburse_fund(user, request=None) -> bool:
    return _role(user) in MONEY_ROLES and (request is None or _own_org_request(user, request))


def can_cancel_fund(user, request=None) -> bool:
    """The requester (while they may still ask for the case) or a supervisor of the requesting organisation."""
    role = _role(user)
    if role not in CASE_WORKERS:
        return False
    if request is None:
        return True
    if not _own_org_request(user, request):
        return False
    if role == Role.SUPERVISOR:
        return True
    return (getattr(request, "requested_by_id", None) == user.id
            and _works_on(user, _case_of(request), Action.FUND_REQUEST))


def can_correct_fund(user, request=None) -> bool:
    if _role(user) in MONEY_ROLES:
        return request is None or _own_org_request(user, request)
    return can_cancel_fund(user, request) and _role(user) != Role.SUPERVISOR


# Children and families (issue 15). Family members identify people as much as the person's own record does: they are
# shown to those who may work on the case (never the hotline operator, never a transfer's reviewers); the receiving
# organisation of an accepted referral or return hand-off sees and traces them, because it looks for the family in
# the country of origin and visits it there.
def can_view_family(user, obj=None) -> bool:
    return _works_on(user, obj, Action.FAMILY_VIEW)


def can_manage_family(user, obj=None) -> bool:
    return _works_on(user, obj, Action.FAMILY_MANAGE)


def can_manage_tracing(user, obj=None) -> bool:
    """Open and close tracing requests, record tracing actions and the family assessment visit: the case's
    organisation and the receiving organisation of a referral."""
    return _works_on(user, obj, Action.TRACING_MANAGE)


def can_view_best_interests(user, obj=None) -> bool:
    return _works_on(user, obj, Action.BEST_INTERESTS_VIEW)


def can_record_best_interests(user, obj=None) -> bool:
    """Record a best-interests assessment, convene a determination's panel, a guardian, a care arrangement."""
    return _works_on(user, obj, Action.BEST_INTERESTS_RECORD)


def can_sign_determination(user, determination=None) -> bool:
    """A panel member signs for themselves only, once, while the panel is convened. The object names its panel
    (`member_ids`) and whose signatures still wait (`pending_member_ids`)."""
    if _role(user) not in CASE_WORKERS:
        return False
    if determination is None:
        return True
    return (user.id in getattr(determination, "pending_member_ids", ())
            and getattr(determination, "status", None) == "convened"
            and _reaches(user, _case_of(determination), Action.BID_SIGN))


def can_view_residence(user, obj=None) -> bool:
    return _works_on(user, obj, Action.RESIDENCE_VIEW)


def can_manage_residence(user, obj=None) -> bool:
    return _works_on(user, obj, Action.RESIDENCE_MANAGE)


POLICIES: dict[Action, Callable[..., bool]] = {
    Action.CASE_LIST: can_list_cases,
    Action.CASE_CREATE: can_create_case,
    Action.CASE_VIEW: can_view_case,
    Action.CASE_VIEW_IDENTITY: can_view_identity,
    Action.CASE_EDIT: can_edit_case,
    Action.CASE_CHANGE_STAGE: can_change_stage,
    Action.CASE_FOLLOW_EVENT: can_follow_event,
    Action.CASE_ASSIGN: can_assign_case,
    Action.CASE_SEARCH: can_search_cases,
    Action.CASE_ACCESS_LOG: can_see_access_log,
    Action.CASE_ERASE: can_erase_case,
    Action.AUDIT_VIEW: can_view_audit,
    Action.USERS_LIST: can_list_users,
    Action.USERS_MANAGE: can_manage_users,
    Action.USERS_BOOTSTRAP: can_bootstrap_users,
    Action.ACCOUNTS_APPROVE: can_approve_account,
    Action.ACCOUNTS_HISTORY: can_view_account_history,
    Action.ORGS_MANAGE: can_manage_orgs,
    Action.KEYS_MANAGE: can_manage_keys,
    Action.ACCOUNT_SELF: can_manage_own_account,
    Action.HOME: can_manage_own_account,
    Action.CONTACT_LOG: can_log_contact,
    Action.CONTACT_VIEW: can_view_contact,
    Action.CONTACT_CORRECT: can_correct_contact,
    Action.CONTACT_DELETE: can_delete_contact,
    Action.SCREENING_RECORD: can_record_screening,
    Action.SCREENING_VIEW: can_view_screening,
    Action.CONSENT_RECORD: can_record_consent,
    Action.CONSENT_VIEW: can_view_consent,
    Action.FACILITY_MANAGE: can_manage_facility,
    Action.FACILITY_VIEW: can_view_facility,
    Action.PLACEMENT_MANAGE: can_manage_placement,
    Action.PLACEMENT_CORRECT: can_correct_placement,
    Action.PLACEMENT_DELETE: can_delete_placement,
    Action.COUNSELING_RECORD: can_record_counseling,
    Action.COUNSELING_VIEW: can_view_counseling,
    Action.COUNSELING_READ_NOTES: can_read_counseling_notes,
    Action.COUNSELING_CORRECT: can_correct_counseling,
    Action.COUNSELING_DELETE: can_delete_counseling,
    Action.RETURN_VIEW: can_view_return,
    Action.RETURN_MANAGE: can_manage_return,
    Action.RETURN_APPROVE: can_approve_return,
    Action.REINTEGRATION_MANAGE: can_manage_reintegration,
    Action.SERVICE_CORRECT: can_correct_service,
    Action.SERVICE_DELETE: can_delete_service,
    Action.VISIT_CORRECT: can_correct_visit,
    Action.VISIT_DELETE: can_delete_visit,
    Action.TASK_MANAGE: can_manage_task,
    Action.REFERRAL_CREATE: can_create_referral,
    Action.REFERRAL_RESPOND: can_respond_referral,
    Action.REFERRAL_REVOKE: can_revoke_referral,
    Action.REFERRAL_LIST: can_list_referrals,
    Action.TRANSFER_REQUEST: can_request_transfer,
    Action.TRANSFER_APPROVE: can_approve_transfer,
    Action.TRANSFER_ACCEPT: can_accept_transfer,
    Action.DOCUMENT_UPLOAD: can_upload_document,
    Action.DOCUMENT_DOWNLOAD: can_download_document,
    Action.CLOSURE_APPROVE: can_approve_closure,
    Action.CLOSURE_WITHDRAW: can_withdraw_closure,
    Action.TIMELINE_VIEW: can_view_timeline,
    Action.REPORT_VIEW: can_view_reports,
    Action.EXPORT_CASELOAD: can_export_caseload,
    Action.EXPORT_IDENTIFIED: can_export_identified,
    Action.EXPORT_DEIDENTIFIED: can_export_deidentified,
    Action.PROJECT_VIEW: can_view_project,
    Action.PROJECT_MANAGE: can_manage_project,
    Action.RATES_MANAGE: can_manage_rates,
    Action.ENROLMENT_MANAGE: can_manage_enrolment,
    Action.FUND_REQUEST: can_request_fund,
    Action.FUND_LIST: can_list_fund,
    Action.FUND_VIEW: can_view_fund,
    Action.FUND_APPROVE: can_approve_fund,
    Action.FUND_DISBURSE: can_disburse_fund,
    Action.FUND_CANCEL: can_cancel_fund,
    Action.FUND_CORRECT: can_correct_fund,
    Action.FAMILY_VIEW: can_view_family,
    Action.FAMILY_MANAGE: can_manage_family,
    Action.TRACING_MANAGE: can_manage_tracing,
    Action.BEST_INTERESTS_VIEW: can_view_best_interests,
    Action.BEST_INTERESTS_RECORD: can_record_best_interests,
    Action.BID_SIGN: can_sign_determination,
    Action.RESIDENCE_VIEW: can_view_residence,
    Action.RESIDENCE_MANAGE: can_manage_residence,
}


def allowed(user, action: Action, obj=None) -> bool:
    try:
        return bool(POLICIES[action](user, obj))
    except Exception:  # ASVS 4.1.5: an error inside a policy denies.
        log.exception("policy %s raised; denying", action)
        return False


class OwnRequestRefused(Forbidden):
    """The 403 of an approval (an action named "*.approve") of the user's own request; the error page shows
    `user_message`, so the supervisor learns why rather than reading that their role does not allow it."""

    def __init__(self, message: str):
        super().__init__()
        self.user_message = message


def authorize(user, action: Action, obj=None) -> None:
    """Raise 404 for an object of another organisation, 403 otherwise; audit the denial."""
    if allowed(user, action, obj):
        return
    from casemgmt.audit.denials import record_denial

    own_request = obj is not None and str(action).endswith(".approve") and not not_own_request(user, obj)

    # Objects of a case the user cannot open at all answer 404, so their existence is not disclosed.
    case = _case_of(obj)
    if _is_system(user) or obj is None:
        other_org = False
    elif case is not None:
        other_org = case_access(user, case) is None and (
            case.organisation_id != getattr(user, "organisation_id", None) or case.erased_at is not None
        )
    else:
        other_org = hasattr(obj, "organisation_id") and obj.organisation_id != getattr(user, "organisation_id", None)
    record_denial(action, obj, actor=None if getattr(user, "role", None) == "system" else user)
    if own_request and not other_org:
        from flask_babel import gettext

        raise OwnRequestRefused(gettext("You asked for this yourself, and nobody approves what they requested: "
                                        "another supervisor of your organisation decides."))
    raise NotFound() if other_org else Forbidden()
