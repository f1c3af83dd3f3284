"""Reads for task pages, the home page and the timeline. Each list is one query (plus one for the related rows)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, case, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, authorize
from casemgmt.access.policies import CASE_ROLES
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


def case_tasks(case: Case) -> list[Task]:
    """Every task of a case: open ones by due date first, then done ones, latest first."""
    return list(db.session.scalars(
        select(Task)
        .where(Task.case_id == case.id)
        .options(selectinload(Task.assignee), selectinload(Task.done_by), selectinload(Task.created_by))
        .order_by(Task.done_at.is_not(None), Task.due_on, _PRIORITY_RANK, Task.done_at.desc(), Task.id)
    ))


def due_soon(user, today: date | None = None) -> list[Task]:
    """The user's open tasks due within a week or overdue, for the home page."""
    today = today or date.today()
    return list(db.session.scalars(
        select(Task)
        .where(Task.assignee_id == user.id, Task.done_at.is_(None),
               Task.due_on <= today + timedelta(days=WORKLIST_DAYS))
        .options(selectinload(Task.case))
        .order_by(Task.due_on, _PRIORITY_RANK, Task.id)
        .limit(WORKLIST_LIMIT)
    ))


def assignees(actor) -> list[tuple[int, str]]:
    """Who in the actor's organisation may be given a task."""
    rows = db.session.execute(
        select(User.id, User.display_name)
        .where(User.organisation_id == actor.organisation_id, User.active.is_(True), User.role.in_(list(CASE_ROLES)))
        .order_by(User.display_name)
    )
    return [(uid, name) for uid, name in rows]
