"""Tasks and follow-ups: validation, my tasks in order, per-case lists, done/reopen, audit, encryption, scope."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from casemgmt.accounts.models import User
from casemgmt.extensions import db
from casemgmt.tasks import operations, worklist
from casemgmt.tasks.models import Task
from tests import factories
from tests.tasks.conftest import audit_events

TODAY = date.today()


def _task_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Task))


def _new_case(app, actor, **kw) -> str:
    with app.app_context():
        return factories.case(actor, **kw).id


def _make_task(app, actor_name: str, case_id: str | None, **values) -> str:
    with app.app_context():
        actor = db.session.scalar(select(User).where(User.username == actor_name))
        from casemgmt.cases.models import Case

        case = db.session.get(Case, case_id) if case_id else None
        task = operations.create_task(actor, case, {"title": "Follow up", "due_on": TODAY, **values})
        db.session.commit()
        return task.id


def _form(w, **overrides) -> dict:
    data = {"title": "Book a medical check-up", "description": "", "due_on": (TODAY + timedelta(days=3)).isoformat(),
            "priority": "normal", "assignee_id": str(w.caseworker.id)}
    data.update(overrides)
    return data


BAD_INPUT = [
    ("title", "", "Give the task a short title."),
    ("title", "x" * 121, "Field cannot be longer than 120 characters."),
    ("due_on", "", "A task needs a due date."),
    ("due_on", "31/02/2026", "Not a valid date value."),
    ("due_on", (TODAY + timedelta(days=800)).isoformat(), "The due date is more than two years ahead."),
    ("due_on", (TODAY - timedelta(days=400)).isoformat(), "The due date is more than a year in the past."),
    ("priority", "urgentest", "Not a valid choice."),
    ("assignee_id", "999999", "Not a valid choice."),
    ("assignee_id", "", "Choose who is to do it."),
]


def test_bad_task_input_is_refused_with_a_message_and_nothing_is_saved(app, web, w):
    case_id = _new_case(app, w.caseworker)
    web.login("caseworker")
    for field, value, message in BAD_INPUT:
        response = web.post(f"/cases/{case_id}/tasks", _form(w, **{field: value}))
        assert response.status_code == 422, (field, value)
        assert message in response.get_data(as_text=True), (field, value)
    assert _task_count(app) == 0


def test_the_assignee_must_be_an_active_colleague_of_the_organisation(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    values = {"title": "Call back", "due_on": TODAY}
    for outsider in (w.caseworker2, w.mission, w.admin):
        with pytest.raises(operations.TaskError, match="active colleague of your organisation"):
            operations.create_task(w.caseworker, case, {**values, "assignee_id": outsider.id})
    w.caseworker_b.active = False
    with pytest.raises(operations.TaskError, match="active colleague"):
        operations.create_task(w.caseworker, case, {**values, "assignee_id": w.caseworker_b.id})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0
    # A colleague (even one who cannot open the case) may be given the task; nobody named means the author.
    task = operations.create_task(w.caseworker, case, {**values, "assignee_id": w.hotline.id})
    mine = operations.create_task(w.caseworker, case, values)
    assert (task.assignee_id, mine.assignee_id) == (w.hotline.id, w.caseworker.id)


def test_a_general_task_has_no_description(app, ctx):
    w = factories.world()
    with pytest.raises(operations.TaskError, match="Only a task about a case can have a description"):
        operations.create_task(w.supervisor, None, {"title": "Donor report", "due_on": TODAY,
                                                    "description": "about María"})
    task = operations.create_task(w.supervisor, None, {"title": "Donor report", "due_on": TODAY})
    db.session.commit()
    assert (task.case_id, task.organisation_id, task.description) == (None, w.ngo.id, None)


def test_a_case_task_is_saved_encrypted_and_audited_without_values(app, web, w):
    case_id = _new_case(app, w.caseworker)
    web.login("caseworker")
    secret = "Ask the lawyer about the claim against the workshop owner."
    response = web.post(f"/cases/{case_id}/tasks", _form(w, description=secret, priority="high"))
    assert response.status_code == 302
    page = web.get(f"/cases/{case_id}/tasks").get_data(as_text=True)
    assert "Book a medical check-up" in page and secret in page
    with app.app_context():
        raw = db.session.execute(text("SELECT description FROM tasks")).scalar_one()
        assert raw is not None and b"lawyer" not in bytes(raw)
        task = db.session.scalars(select(Task)).one()
        assert (task.case_id, task.priority, task.created_by_id) == (case_id, "high", w.caseworker.id)
    created = audit_events(app, "task.create")
    assert len(created) == 1 and created[0].case_id == case_id
    assert '"description"' in created[0].details and "lawyer" not in created[0].details
    views = audit_events(app, "case.tasks_view")
    assert [v.case_id for v in views] == [case_id]


def test_my_tasks_lists_overdue_and_due_first(app, web, w):
    case_id = _new_case(app, w.caseworker)
    for title, days, priority in [("Later", 5, "normal"), ("Late", -3, "normal"), ("Today", 0, "normal"),
                                  ("Tomorrow low", 1, "low"), ("Tomorrow high", 1, "high")]:
        _make_task(app, "caseworker", case_id, title=title, due_on=TODAY + timedelta(days=days), priority=priority)
    _make_task(app, "supervisor", None, title="Not mine", assignee_id=w.supervisor.id)
    done = _make_task(app, "caseworker", None, title="Finished one")
    web.login("caseworker")
    assert web.post(f"/tasks/{done}/complete", {}).status_code == 302
    page = web.get("/tasks/").get_data(as_text=True)
    titles = re.findall(r"<td>(Late|Today|Tomorrow high|Tomorrow low|Later|Not mine|Finished one)</td>", page)
    assert titles == ["Late", "Today", "Tomorrow high", "Tomorrow low", "Later"]
    assert page.count("Overdue") == 1 and "Due today" in page
    done_page = web.get("/tasks/?show=done").get_data(as_text=True)
    assert "Finished one" in done_page and "Later" not in done_page


def test_general_tasks_can_be_added_from_my_tasks(app, web, w):
    web.login("supervisor")
    response = web.post("/tasks/", {"title": "Prepare the donor report", "due_on": TODAY.isoformat(),
                                    "priority": "normal", "assignee_id": str(w.caseworker.id)})
    assert response.status_code == 302
    bad = web.post("/tasks/", {"title": "", "due_on": TODAY.isoformat(), "priority": "normal",
                               "assignee_id": str(w.supervisor.id)})
    assert bad.status_code == 422 and "Give the task a short title." in bad.get_data(as_text=True)
    web.logout()
    web.login("caseworker")
    assert "Prepare the donor report" in web.get("/tasks/").get_data(as_text=True)
    assert _task_count(app) == 1


def test_done_and_reopen_are_audited_and_return_to_a_local_page_only(app, web, w):
    case_id = _new_case(app, w.caseworker)
    task_id = _make_task(app, "caseworker", case_id)
    web.login("caseworker")
    response = web.post(f"/tasks/{task_id}/complete", {"next": "https://evil.example/"})
    assert response.headers["Location"] == f"/cases/{case_id}/tasks"
    again = web.post(f"/tasks/{task_id}/complete", {"next": "/tasks/"}, follow_redirects=True)
    assert "This task is already done." in again.get_data(as_text=True)
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.done_at is not None and task.done_by_id == w.caseworker.id
    assert web.post(f"/tasks/{task_id}/reopen", {"next": "/tasks/"}).headers["Location"] == "/tasks/"
    with app.app_context():
        assert db.session.get(Task, task_id).done_at is None
    assert len(audit_events(app, "task.complete")) == 1
    assert len(audit_events(app, "task.reopen")) == 1


def test_editing_a_task_records_the_changed_fields(app, web, w):
    case_id = _new_case(app, w.caseworker)
    task_id = _make_task(app, "caseworker", case_id, description="First details")
    web.login("caseworker")
    form = web.get(f"/tasks/{task_id}/edit").get_data(as_text=True)
    assert "First details" in form
    new_due = (TODAY + timedelta(days=10)).isoformat()
    response = web.post(f"/tasks/{task_id}/edit", {
        "title": "Follow up", "description": "Second details", "due_on": new_due, "priority": "normal",
        "assignee_id": str(w.caseworker_b.id), "version": "1",
    })
    assert response.status_code == 302
    far = web.post(f"/tasks/{task_id}/edit", {"title": "Follow up", "due_on": "2999-01-01", "priority": "normal",
                                              "assignee_id": str(w.caseworker.id), "version": "2"})
    assert far.status_code == 422 and "more than two years ahead" in far.get_data(as_text=True)
    updates = audit_events(app, "task.update")
    assert len(updates) == 1
    assert updates[0].details == '{"fields":["description","due_on","assignee_id"]}'
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert (task.due_on.isoformat(), task.assignee_id) == (new_due, w.caseworker_b.id)


def test_another_organisations_tasks_answer_404_and_colleagues_outside_the_case_403(app, web, w):
    case_id = _new_case(app, w.caseworker)
    task_id = _make_task(app, "caseworker", case_id)
    web.login("caseworker2")
    assert web.get(f"/tasks/{task_id}/edit").status_code == 404
    assert web.post(f"/tasks/{task_id}/complete", {}).status_code == 404
    assert web.get(f"/cases/{case_id}/tasks").status_code == 404
    assert web.post(f"/cases/{case_id}/tasks", _form(w)).status_code == 404
    assert web.get("/tasks/no-such-task/edit").status_code == 404
    web.logout()
    web.login("caseworkerb")  # same organisation, not on the case
    assert web.get(f"/tasks/{task_id}/edit").status_code == 403
    assert web.get(f"/cases/{case_id}/tasks").status_code == 403
    web.logout()
    web.login("admin")
    assert web.get("/tasks/").status_code == 403
    with app.app_context():
        assert db.session.get(Task, task_id).done_at is None


def test_the_assignee_may_manage_their_task_without_access_to_the_case(app, web, w):
    case_id = _new_case(app, w.caseworker)
    task_id = _make_task(app, "caseworker", case_id, assignee_id=w.caseworker_b.id)
    web.login("caseworkerb")
    assert web.get(f"/tasks/{task_id}/edit").status_code == 200
    assert web.post(f"/tasks/{task_id}/complete", {}).status_code == 302


def test_worklist_shows_my_tasks_due_within_a_week_or_overdue(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    for title, days in [("overdue", -2), ("soon", 6), ("later", 8)]:
        operations.create_task(w.caseworker, case, {"title": title, "due_on": TODAY + timedelta(days=days)})
    done = operations.create_task(w.caseworker, case, {"title": "done", "due_on": TODAY})
    operations.complete_task(w.caseworker, done)
    operations.create_task(w.supervisor, None, {"title": "theirs", "due_on": TODAY, "assignee_id": w.supervisor.id})
    db.session.commit()
    items = worklist.items(w.caseworker)
    assert [(i.title, i.overdue) for i in items] == [
        (f"{case.reference}: overdue", True), (f"{case.reference}: soon", False),
    ]
    assert {i.section for i in items} == {"tasks"} and items[0].url == f"/cases/{case.id}/tasks"
