"""Each user's home page is their work: sections per role, gathered from every feature, at a bounded cost."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.journey import operations as journey
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.journey.conftest import count_queries

TODAY = date.today()


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _task(actor: User, case: Case | None, title: str, days: int, **values) -> None:
    tasks.create_task(actor, case, {"title": title, "due_on": TODAY + timedelta(days=days), **values})


def test_a_caseworker_sees_their_tasks_due_and_overdue_and_their_cases(app, web, w):
    with app.app_context():
        cw = _user("caseworker")
        mine = factories.case(cw)
        cases.change_stage(cw, mine, "shelter", None)
        factories.case(cw, assigned_to_id=w.caseworker_b.id)  # created by me, assigned to a colleague
        _task(cw, mine, "Call the shelter", -1)
        _task(cw, mine, "Plan counseling", 3, priority="high")
        _task(cw, mine, "Review in a month", 30)
        _task(cw, None, "Colleague's task", 0, assignee_id=w.caseworker_b.id)
        db.session.commit()
        ref, mine_id = mine.reference, mine.id
    web.login("caseworker")
    page = web.get("/").get_data(as_text=True)
    for heading in ("Crisis contacts waiting", "Referrals, hand-offs and transfers waiting for my organisation",
                    "My tasks due and overdue", "My cases"):
        assert heading in page, heading
    assert "Approvals waiting for me" not in page
    assert f"{ref}: Call the shelter" in page and f"{ref}: Plan counseling" in page
    assert "Review in a month" not in page and "Colleague&#39;s task" not in page
    assert page.count("Overdue") == 1 and "Urgent" in page
    # The high-priority task comes first, then the overdue one.
    assert page.index("Plan counseling") < page.index("Call the shelter")
    assert ref in page and "Shelter" in page
    assert re.findall(r'href="/cases/([0-9a-f-]{36})"', page) == [mine_id]  # my one open case
    assert f'href="/cases/?assignee={w.caseworker.id}"' in page


def test_a_supervisor_sees_closures_waiting_for_approval(app, web, w):
    with app.app_context():
        case = factories.case(_user("caseworker"))
        journey.request_closure(_user("caseworker"), case, "completed", "All done.")
        other = factories.case(_user("caseworker2"))
        journey.request_closure(_user("caseworker2"), other, "completed", "Done there too.")
        db.session.commit()
        ref, other_ref = case.reference, other.reference
    web.login("supervisor")
    page = web.get("/").get_data(as_text=True)
    assert "Approvals waiting for me" in page
    assert f"Closure of {ref} (Assistance completed), requested by Caseworker" in page
    assert other_ref not in page  # another organisation's request waits for its own supervisor
    web.logout()
    web.login("caseworker")
    assert "Approvals waiting for me" not in web.get("/").get_data(as_text=True)


def test_a_hotline_operator_sees_the_cases_they_opened(app, web, w):
    with app.app_context():
        ref = factories.case(_user("hotline")).reference
    web.login("hotline")
    page = web.get("/").get_data(as_text=True)
    assert "Crisis contacts waiting" in page and "My cases" in page and ref in page
    assert 'href="/cases/"' in page


def test_mission_staff_see_referrals_tasks_and_cases(app, web, w):
    web.login("mission")
    page = web.get("/").get_data(as_text=True)
    assert "Referrals, hand-offs and transfers waiting for my organisation" in page
    assert "My tasks due and overdue" in page
    assert "Crisis contacts waiting" not in page and "Approvals waiting for me" not in page
    assert "No open cases of yours." in page


def test_administrators_still_go_to_the_users_page(app, web, w):
    web.login("admin")
    response = web.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"


def test_my_cases_are_limited_with_a_link_to_all_of_them(app, web, w):
    with app.app_context():
        cw = _user("caseworker")
        for _ in range(22):
            factories.case(cw)
    web.login("caseworker")
    page = web.get("/").get_data(as_text=True)
    assert "Showing 20 of 22." in page


def test_the_home_page_query_count_does_not_grow_with_cases_and_tasks(app, web, w):
    from tests.conftest import Web, new_client

    def add(n: int) -> None:
        with app.app_context():
            cw, sup = _user("caseworker"), _user("supervisor")
            for i in range(n):
                case = factories.case(cw)
                _task(cw, case, f"Task {i}", i % 5 - 2)
                _task(cw, None, f"General {i}", i % 7)
                journey.request_closure(cw, case, "completed", "Done.")
                _task(sup, case, f"Supervise {i}", 1, assignee_id=sup.id)
            db.session.commit()

    supervisor = Web(new_client(app))
    web.login("caseworker")
    supervisor.login("supervisor")
    add(2)
    for user in (web, supervisor):
        user.get("/")  # the first home page of the hour also sweeps for overdue tasks (notifications/sweep.py)
    few = [count_queries(app, lambda u=u: u.get("/")) for u in (web, supervisor)]
    add(21)
    many = [count_queries(app, lambda u=u: u.get("/")) for u in (web, supervisor)]
    assert many == few
    page = supervisor.get("/").get_data(as_text=True)
    assert page.count("Closure of C-") == 23 and page.count("Supervise") == 23
