from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.cases.queries import names_for_ids
from casemgmt.core import submissions, versions
from casemgmt.core.pagination import paginate
from casemgmt.core.redirects import safe_next
from casemgmt.extensions import db
from casemgmt.tasks import operations, queries
from casemgmt.tasks.forms import EditTaskForm, NewTaskForm, TaskActionForm
from casemgmt.tasks.models import PRIORITIES

bp = Blueprint("tasks", __name__)


@bp.route("/tasks/", methods=["GET", "POST"])
@requires(Action.TASK_MANAGE)
def index():
    """My tasks (due and overdue first), and a form for a general task that is about no case."""
    form = NewTaskForm(assignees=queries.assignees(current_user), with_description=False)
    if request.method == "GET":
        form.assignee_id.data = current_user.id
    if form.validate_on_submit():
        try:
            operations.create_task(current_user, None, form.values())
        except operations.TaskError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("tasks.index")
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Task added."), "success")
            return redirect(shown)
    done = request.args.get("show") == "done"
    page = paginate(queries.my_tasks_query(current_user, done=done), current_app.config["SETTINGS"].page_size)
    return render_template(
        "tasks/index.html", page=page, done=done, form=form, action_form=TaskActionForm(), today=date.today(),
        priorities=PRIORITIES, manageable=queries.manageable(current_user, page.items),
        openable=queries.openable_cases(current_user, page.items),
        names=names_for_ids(current_user, [t.case_id for t in page.items]),  # this page's cases only
    ), 200 if request.method == "GET" else 422


@bp.route("/cases/<case_id>/tasks", methods=["GET", "POST"])
@requires(Action.TASK_MANAGE)
def case_index(case_id):
    case = operations.open_case_tasks(current_user, case_id, audit=request.method == "GET")
    form = NewTaskForm(assignees=queries.assignees(current_user))
    if request.method == "GET":
        form.assignee_id.data = case.assigned_to_id or current_user.id
    if form.validate_on_submit():
        try:
            operations.create_task(current_user, case, form.values())
        except operations.TaskError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("tasks.case_index", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Task added."), "success")
            return redirect(shown)
    tasks = queries.case_tasks(current_user, case)
    descriptions = {t.id: operations.readable_description(t) for t in tasks}
    if request.method == "GET":
        db.session.commit()  # the view event
    return render_template(
        "tasks/case_index.html", case=case, tasks=tasks, descriptions=descriptions, form=form,
        action_form=TaskActionForm(), today=date.today(), priorities=PRIORITIES,
        manageable=queries.manageable(current_user, tasks),
    ), 200 if request.method == "GET" else 422


@bp.route("/tasks/<task_id>/edit", methods=["GET", "POST"])
@requires(Action.TASK_MANAGE)
def edit(task_id):
    task = operations.load_task(current_user, task_id)
    form = EditTaskForm(
        assignees=queries.assignees(current_user), with_description=task.case_id is not None,
        data={**operations.snapshot(task), "version": task.version} if request.method == "GET" else None,
    )
    if form.validate_on_submit():
        try:
            changed = operations.update_task(current_user, task, form.values(), versions.base_of(form.version.data))
        except versions.EditConflict as conflict:
            db.session.rollback()
            submissions.replay_if_used(form)  # the same edit sent twice is not a conflict with itself
            return versions.conflict_page(
                conflict, form, heading=_("Someone else saved this task while you were editing it"),
                action=url_for("tasks.edit", task_id=task_id), submit=_("Save"), discard=_back(conflict.record),
                case=conflict.record.case if conflict.record.case_id else None)
        except operations.TaskError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            back = _back(task)
            submissions.consume(form, back)
            db.session.commit()
            flash(_("Saved.") if changed else _("Nothing had changed."), "success" if changed else "info")
            return redirect(back)
    return render_template("tasks/edit.html", task=task, form=form), 200 if request.method == "GET" else 422


def _back(task) -> str:
    return url_for("tasks.case_index", case_id=task.case_id) if task.case_id else url_for("tasks.index")


def _done_or_reopen(task_id, verb, message):
    task = operations.load_task(current_user, task_id)
    form = TaskActionForm()
    target = safe_next(form.next.data) or _back(task)
    if not form.validate_on_submit():
        flash(_("The form had expired; please try again."), "danger")
        return redirect(target)
    try:
        verb(current_user, task)
    except operations.TaskError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(target)


@bp.post("/tasks/<task_id>/complete")
@requires(Action.TASK_MANAGE)
def complete(task_id):
    return _done_or_reopen(task_id, operations.complete_task, _("Task marked as done."))


@bp.post("/tasks/<task_id>/reopen")
@requires(Action.TASK_MANAGE)
def reopen(task_id):
    return _done_or_reopen(task_id, operations.reopen_task, _("Task reopened."))
