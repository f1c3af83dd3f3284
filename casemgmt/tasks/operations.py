"""Named verbs for tasks and follow-ups. Each checks Action.TASK_MANAGE on the task (or its case), validates, changes,
and writes its audit event with field names only; the caller commits."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.access.policies import CASE_ROLES
from casemgmt.accounts.models import User
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core import versions
from casemgmt.core.invariants import transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db
from casemgmt.tasks.models import PRIORITIES, Task

TITLE_MAX = 120
DESCRIPTION_MAX = 4000
FIELDS = ("title", "description", "due_on", "priority", "assignee_id")


class TaskError(ValueError):
    """A task that cannot be saved; the message is shown to the user (already translated)."""


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def due_date_problem(due: date | None, today: date | None = None) -> str | None:
    """Why a due date is not acceptable, or None. Far-off dates are almost always typing mistakes (2062 for 2026)."""
    today = today or date.today()
    if due is None:
        return gettext("A task needs a due date.")
    if due > _years_from(today, 2):
        return gettext("The due date is more than two years ahead.")
    if due < _years_from(today, -1):
        return gettext("The due date is more than a year in the past.")
    return None


def _check_assignee(organisation_id: int, assignee_id) -> int:
    user = db.session.get(User, assignee_id) if isinstance(assignee_id, int) else None
    if user is None or not user.active or user.organisation_id != organisation_id or user.role not in CASE_ROLES:
        raise TaskError(gettext("A task can only be assigned to an active colleague of your organisation."))
    return user.id


def _clean(actor, organisation_id: int, case_id: str | None, values: dict) -> dict:
    title = (values.get("title") or "").strip()
    if not title:
        raise TaskError(gettext("Give the task a short title."))
    if len(title) > TITLE_MAX:
        raise TaskError(gettext("The title is too long: keep it under %(n)d characters.", n=TITLE_MAX))
    due = values.get("due_on")
    problem = due_date_problem(due if isinstance(due, date) else None)
    if problem:
        raise TaskError(problem)
    priority = values.get("priority") or "normal"
    if priority not in PRIORITIES:
        raise TaskError(gettext("Choose one of the priorities offered."))
    description = (values.get("description") or "").strip() or None
    if description and len(description) > DESCRIPTION_MAX:
        raise TaskError(gettext("The description is too long."))
    if description and case_id is None:
        raise TaskError(gettext("Only a task about a case can have a description (it is encrypted with the case's "
                                "key). Keep a general task to its title."))
    assignee = values.get("assignee_id")
    assignee_id = _check_assignee(organisation_id, actor.id if assignee in (None, "") else assignee)
    return {"title": title, "description": description, "due_on": due, "priority": priority,
            "assignee_id": assignee_id}


def create_task(actor, case: Case | None, values: dict) -> Task:
    """A task about `case`, or a general task of the actor's organisation when `case` is None."""
    authorize(actor, Action.TASK_MANAGE, case)
    clean = _clean(actor, actor.organisation_id, case.id if case else None, values)
    task = Task(
        id=new_uuid(), organisation_id=actor.organisation_id, case_id=case.id if case else None,
        title=clean["title"], due_on=clean["due_on"], priority=clean["priority"], assignee_id=clean["assignee_id"],
        created_by_id=actor.id,
    )
    seal(task, "description", clean["description"])
    db.session.add(task)
    record_event("task.create", object_type="task", object_id=task.id, case_id=task.case_id, actor=actor,
                 details={"fields": sorted(k for k in FIELDS if clean[k] is not None)})
    return task


def readable_description(task: Task) -> str | None:
    # An erased case's keys are gone (crypto-shredding): its tasks keep their titles, not their descriptions.
    if task.case_id is None or task.case is None or task.case.erased_at is not None:
        return None
    return unseal(task, "description")


def snapshot(task: Task) -> dict:
    return {"title": task.title, "description": readable_description(task),
            "due_on": task.due_on, "priority": task.priority, "assignee_id": task.assignee_id}


def update_task(actor, task: Task, values: dict, base: int | None = None) -> list[str]:
    """Save an edit made from version `base` of the task (core/versions.py): EditConflict instead of writing over a
    newer version (someone else's edit, or the task marked done meanwhile)."""
    authorize(actor, Action.TASK_MANAGE, task)
    before = snapshot(task)
    sealable = task.case_id if task.case is not None and task.case.erased_at is None else None
    clean = _clean(actor, task.organisation_id, sealable, {**before, **values})
    shown = [k for k in FIELDS if k in values]  # a general task's form has no description
    versions.check(task, "task", base, lambda: snapshot(task), clean, shown)
    changed = [k for k in FIELDS if clean[k] != before[k]]
    if not changed:
        return []
    task.title, task.due_on, task.priority = clean["title"], clean["due_on"], clean["priority"]
    task.assignee_id = clean["assignee_id"]
    if "description" in changed:
        seal(task, "description", clean["description"])
    task.updated_at = utcnow()
    versions.flush(task, "task", snapshot, clean, shown)
    record_event("task.update", object_type="task", object_id=task.id, case_id=task.case_id, actor=actor,
                 details={"fields": changed})
    return changed


def complete_task(actor, task: Task) -> None:
    authorize(actor, Action.TASK_MANAGE, task)
    now = utcnow()
    # Conditional: two clicks on "done" at once complete it once (one audit event, the first person's name).
    if task.done_at is not None or not transition(task, Task.done_at.is_(None), done_at=now, done_by_id=actor.id,
                                                  updated_at=now):
        raise TaskError(gettext("This task is already done."))
    record_event("task.complete", object_type="task", object_id=task.id, case_id=task.case_id, actor=actor)


def reopen_task(actor, task: Task) -> None:
    authorize(actor, Action.TASK_MANAGE, task)
    if task.done_at is None or not transition(task, Task.done_at.is_not(None), done_at=None, done_by_id=None,
                                              updated_at=utcnow()):
        raise TaskError(gettext("This task is still open."))
    record_event("task.reopen", object_type="task", object_id=task.id, case_id=task.case_id, actor=actor)


def load_task(actor, task_id: str) -> Task:
    """A task the actor may manage; another organisation's task answers 404."""
    task = db.session.get(Task, task_id) if task_id and len(task_id) <= 36 else None
    if task is None:
        raise NotFound()
    authorize(actor, Action.TASK_MANAGE, task)
    return task


def open_case_tasks(actor, case_id: str, audit: bool = True) -> Case:
    """The case whose tasks the actor lists (descriptions are decrypted there, so the view is audited)."""
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    authorize(actor, Action.TASK_MANAGE, case)
    if audit:
        record_event("case.tasks_view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case
