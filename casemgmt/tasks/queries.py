"""Reads for task pages, the home page and the timeline. Each list is one query (plus one for the related rows)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, case, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import CASE_ROLES, case_access, prefetch_case_access
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.tasks.models import Task

# High before normal before low among tasks due the same day.
_PRIORITY_RANK = case({"high": 0, "normal": 1, "low": 2}, value=Task.priority, else_=1)

WORKLIST_DAYS = 7
WORKLIST_LIMIT = 50


def my_tasks_query(actor, done: bool = False) -> Select:
    """The actor's tasks: open ones by due date (so the overdue come first), or the done ones, latest first."""
    authorize(actor, Action.TASK_MANAGE)
    query = select(Task).where(Task.assignee_id == actor.id).options(selectinload(Task.case))
    if done:
        return query.where(Task.done_at.is_not(None)).order_by(Task.done_at.desc(), Task.id)
    return query.where(Task.done_at.is_(None)).order_by(Task.due_on, _PRIORITY_RANK, Task.created_at, Task.id)


def case_tasks(actor, case: Case) -> list[Task]:
    """The case's tasks the actor may see: open ones by due date first, then done ones, latest first.

    The owning organisation sees every task of its case (those of organisations it referred the case to as well);
    through a referral, the actor sees only their own organisation's: a task belongs to the organisation that
    created it, and the sending organisation's tasks are not in the referral scope (access/scope.py)."""
    query = select(Task).where(Task.case_id == case.id)
    if case_access(actor, case) != "full":
        query = query.where(Task.organisation_id == actor.organisation_id)
    return list(db.session.scalars(
        query
        .options(selectinload(Task.assignee), selectinload(Task.done_by), selectinload(Task.created_by))
        .order_by(Task.done_at.is_not(None), Task.due_on, _PRIORITY_RANK, Task.done_at.desc(), Task.id)
    ))


def manageable(actor, tasks: list[Task]) -> set[str]:
    """Ids of the tasks the actor may edit, complete and reopen (the pages offer buttons for those only)."""
    prefetch_case_access(actor, {t.case_id for t in tasks if t.case_id})
    return {t.id for t in tasks if allowed(actor, Action.TASK_MANAGE, t)}


def openable_cases(actor, tasks: list[Task]) -> set[str]:
    """Ids of the tasks' cases whose task page the actor may open (links are shown for those only)."""
    cases = {t.case_id: t.case for t in tasks if t.case is not None}
    prefetch_case_access(actor, cases)
    return {cid for cid, case in cases.items() if allowed(actor, Action.TASK_MANAGE, case)}


def due_soon(user, today: date | None = None) -> list[Task]:
    """The user's open tasks due within a week or overdue, for the home page: those they may still act on (a
    referral revoked or a case transferred away takes its tasks off the list)."""
    today = today or date.today()
    tasks = list(db.session.scalars(
        select(Task)
        .where(Task.assignee_id == user.id, Task.done_at.is_(None),
               Task.due_on <= today + timedelta(days=WORKLIST_DAYS))
        .options(selectinload(Task.case))
        .order_by(Task.due_on, _PRIORITY_RANK, Task.id)
        .limit(WORKLIST_LIMIT)
    ))
    mine = manageable(user, tasks)
    return [t for t in tasks if t.id in mine]


def assignees(actor) -> list[tuple[int, str]]:
    """Who in the actor's organisation may be given a task."""
    rows = db.session.execute(
        select(User.id, User.display_name)
        .where(User.organisation_id == actor.organisation_id, User.active.is_(True), User.role.in_(list(CASE_ROLES)))
        .order_by(User.display_name)
    )
    return [(uid, name) for uid, name in rows]
