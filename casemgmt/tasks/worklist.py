"""The home page's "tasks" section: my open tasks due within a week, or overdue (flagged)."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import gettext

from casemgmt.core.journey import WorkItem
from casemgmt.tasks import queries


def items(user) -> list[WorkItem]:
    today = date.today()
    result = []
    tasks = queries.due_soon(user, today)
    openable = queries.openable_cases(user, tasks)
    for task in tasks:
        title = task.title
        if task.case is not None:
            title = gettext("%(ref)s: %(title)s", ref=task.case.reference, title=task.title)
        if task.case_id in openable:
            url = url_for("tasks.case_index", case_id=task.case_id)
        elif task.case_id:  # a task on a case of the organisation that the assignee does not work on
            url = url_for("tasks.edit", task_id=task.id)
        else:
            url = url_for("tasks.index")
        result.append(WorkItem(
            section="tasks", title=title, url=url, due=task.due_on, overdue=task.due_on < today,
            urgent=task.priority == "high", case_id=task.case_id,
        ))
    return result
