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
    for task in queries.due_soon(user, today):
        title = task.title
        if task.case is not None:
            title = gettext("%(ref)s: %(title)s", ref=task.case.reference, title=task.title)
        url = url_for("tasks.case_index", case_id=task.case_id) if task.case_id else url_for("tasks.index")
        result.append(WorkItem(
            section="tasks", title=title, url=url, due=task.due_on, overdue=task.due_on < today,
            urgent=task.priority == "high",
        ))
    return result
