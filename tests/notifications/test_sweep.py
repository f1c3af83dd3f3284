"""Overdue tasks: no event says a task fell overdue, so the sweep looks for them (CLI, and the home page at most
once an hour per organisation), one notice per task, assignee and due date."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import event, select, update

from casemgmt.accounts.models import User
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.notifications import sweep
from casemgmt.notifications.models import NotificationSweep
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.cli.support import run_cli
from tests.conftest import signed_in
from tests.notifications.support import notices

TODAY = date.today()
DAY = timedelta(days=1)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _task(actor, assignee, due: date, case=None):
    task = tasks.create_task(actor, case, {"title": "Follow up", "due_on": due, "assignee_id": assignee.id})
    db.session.commit()
    return task


def _overdue(user) -> list:
    return [n for n in notices(user) if n.kind == "task_overdue"]


def test_the_sweep_tells_each_assignee_once_per_overdue_task(ctx, world):
    case = factories.case(world.caseworker)
    late = _task(world.caseworker, world.caseworker_b, TODAY - DAY, case)
    own = _task(world.caseworker, world.caseworker, TODAY - 3 * DAY)
    _task(world.caseworker, world.caseworker_b, TODAY)  # due today: not overdue yet
    _task(world.caseworker, world.caseworker_b, TODAY - 10 * DAY)  # overdue for long: on the home page already
    done = _task(world.caseworker, world.caseworker_b, TODAY - 2 * DAY)
    tasks.complete_task(world.caseworker_b, done)
    _task(world.caseworker2, world.caseworker2, TODAY - DAY)  # another organisation's
    db.session.commit()

    assert sweep.sweep_all() == {world.ngo.id: 2, world.ngo2.id: 1, world.mission_org.id: 0}
    assert [(n.link, n.case_id) for n in _overdue(world.caseworker_b)] == [(f"/tasks/{late.id}/edit", case.id)]
    assert [n.link for n in _overdue(world.caseworker)] == [f"/tasks/{own.id}/edit"]
    assert len(_overdue(world.caseworker2)) == 1
    # Again, and again: nothing new.
    assert sweep.sweep_all() == {world.ngo.id: 0, world.ngo2.id: 0, world.mission_org.id: 0}
    assert len(_overdue(world.caseworker_b)) == 1


def test_a_postponed_or_handed_over_task_that_falls_overdue_again_is_told_again(ctx, world):
    task = _task(world.caseworker, world.caseworker_b, TODAY - 2 * DAY)
    sweep.sweep_all()
    tasks.update_task(world.caseworker, task, {"due_on": TODAY - DAY})
    db.session.commit()
    sweep.sweep_all()
    assert len(_overdue(world.caseworker_b)) == 2
    tasks.update_task(world.caseworker, task, {"assignee_id": world.supervisor.id})
    db.session.commit()
    sweep.sweep_all()
    assert len(_overdue(world.supervisor)) == 1
    assert all(n.done for n in _overdue(world.caseworker_b))  # handed over: no longer hers

    tasks.complete_task(world.supervisor, task)
    db.session.commit()
    assert all(n.done for n in _overdue(world.supervisor))


def test_the_sweep_reads_the_same_few_queries_however_many_tasks_are_overdue(ctx, world):
    def queries_of_a_sweep() -> int:
        counted = []
        engine = db.engine

        def count(*_args):
            counted.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            sweep.sweep(world.ngo)
            db.session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    queries_of_a_sweep()  # the organisation's first sweep also makes its sweep row
    for _ in range(2):
        _task(world.caseworker, world.caseworker_b, TODAY - DAY)
    few = queries_of_a_sweep()
    for _ in range(40):
        _task(world.caseworker, world.caseworker_b, TODAY - 2 * DAY)
    many = queries_of_a_sweep()
    assert many == few
    assert len(_overdue(world.caseworker_b)) == 42


def test_the_cli_sweeps_every_organisation_and_can_run_again(app, w):
    with app.app_context():
        _task(_user("caseworker"), _user("caseworkerb"), TODAY - DAY)
    first = run_cli(app, ["notifications", "sweep"])
    assert first.exit_code == 0, first.output
    assert "1 overdue-task notices added (3 organisations swept)" in first.output
    again = run_cli(app, ["notifications", "sweep"])
    assert "0 overdue-task notices added" in again.output
    with app.app_context():
        assert len(_overdue(_user("caseworkerb"))) == 1


def test_the_home_page_sweeps_its_organisation_at_most_once_an_hour(app, w):
    with app.app_context():  # her own tasks: no notice of their assignment, only of their being overdue
        _task(_user("caseworkerb"), _user("caseworkerb"), TODAY - DAY)
        _task(_user("caseworker2"), _user("caseworker2"), TODAY - DAY)
    colleague = signed_in(app, "caseworkerb")
    page = colleague.get("/").get_data(as_text=True)
    assert 'aria-label="Notifications: 1 unread notice"' in page
    with app.app_context():
        assert len(_overdue(_user("caseworker2"))) == 0  # another organisation: swept by its own people's pages
        _task(_user("caseworkerb"), _user("caseworkerb"), TODAY - 2 * DAY)
    colleague.get("/")
    with app.app_context():
        assert len(_overdue(_user("caseworkerb"))) == 1  # within the hour: not again
        db.session.execute(update(NotificationSweep).values(swept_at=utcnow() - timedelta(minutes=61)))
        db.session.commit()
    assert 'aria-label="Notifications: 2 unread notices"' in colleague.get("/").get_data(as_text=True)
