"""Tasks on the case timeline: when each was set and when it was done (titles only; details stay on the tasks
page)."""

from __future__ import annotations

from flask import url_for
from flask_babel import format_date, gettext

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry
from casemgmt.tasks import queries


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.TASK_MANAGE, case):
        return []
    url = url_for("tasks.case_index", case_id=case.id)
    result = []
    for task in queries.case_tasks(actor, case):
        assignee = task.assignee.display_name if task.assignee else ""
        result.append(TimelineEntry(
            at=task.created_at, kind="task", title=gettext("Task set: %(title)s", title=task.title),
            detail=gettext("Due on %(date)s, assigned to %(name)s.", date=format_date(task.due_on), name=assignee),
            actor=task.created_by.display_name if task.created_by else "", url=url,
        ))
        if task.done_at is not None:
            result.append(TimelineEntry(
                at=task.done_at, kind="task", title=gettext("Task done: %(title)s", title=task.title),
                actor=task.done_by.display_name if task.done_by else "", url=url,
            ))
    return result
