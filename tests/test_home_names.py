"""Issue 16, item 5: the work lists name the person beside the case reference, for those who may see the identity,
decrypting only the rows shown."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from casemgmt.cases import queries as case_queries
from casemgmt.extensions import db
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.conftest import signed_in
from tests.fund import support as fund

NAME = "Yesenia Huamanchumo Ccori"


def _task(actor, case, title="Call the clinic"):
    tasks.create_task(actor, case, {"title": title, "due_on": date.today(), "priority": "normal",
                                    "assignee_id": actor.id, "description": None})
    db.session.commit()


@pytest.fixture
def waiting(app, world):
    """A case of the caseworker's with a task due today and an assistance fund request waiting for approval."""
    factories.user(world.ngo, "finance_officer", "finance")
    case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id, given_name="Yesenia",
                          family_name="Huamanchumo Ccori")
    _task(world.caseworker, case)
    project = fund.project(world.ngo)
    fund.enrol(case, project, world.ngo, world.caseworker)
    fund.ask(world.caseworker, case, project)
    return case


def test_the_caseworker_sees_the_name_beside_the_task_and_in_my_cases(app, waiting):
    html = signed_in(app, "caseworker").get("/").get_data(as_text=True)
    assert f"{waiting.reference}: Call the clinic" in html
    assert html.count(NAME) == 2  # the task's line and the "My cases" row


def test_the_supervisor_sees_the_name_on_the_approval_waiting(app, waiting):
    html = signed_in(app, "supervisor").get("/").get_data(as_text=True)
    assert "Assistance fund request for case" in html and NAME in html


def test_the_finance_officer_sees_the_reference_only(app, waiting):
    html = signed_in(app, "finance").get("/").get_data(as_text=True)
    assert f"Assistance fund request for case {waiting.reference}" in html
    assert NAME not in html and "Yesenia" not in html


def test_another_caseworker_sees_no_name_of_a_case_not_theirs(app, world, waiting):
    # caseworkerb is given a task on a case outside their scope: the task is listed, the person is not named.
    with app.app_context():
        case = db.session.get(type(waiting), waiting.id)
        tasks.create_task(world.caseworker, case, {"title": "Bring the file", "due_on": date.today(),
                                                   "priority": "normal", "assignee_id": world.caseworker_b.id,
                                                   "description": None})
        db.session.commit()
    html = signed_in(app, "caseworkerb").get("/tasks/").get_data(as_text=True)
    assert "Bring the file" in html and NAME not in html
    assert NAME in signed_in(app, "caseworker").get("/tasks/").get_data(as_text=True)


def _cost_of_home(app, client) -> tuple[int, int]:
    """(SQL statements, names decrypted) of one home page."""
    statements, decrypted = [], []
    with app.app_context():
        engine = db.engine
    original = case_queries._unseal

    def unseal(person, column):
        decrypted.append(column)
        return original(person, column)

    def count(*_args):
        statements.append(1)

    case_queries._unseal = unseal
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
        case_queries._unseal = original
    return len(statements), len(decrypted)


def test_the_home_page_costs_the_same_whatever_the_caseload(app, world):
    def add_cases(n):
        for i in range(n):
            case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
            _task(world.caseworker, case, f"Task {i}")

    add_cases(3)
    client = signed_in(app, "caseworker")
    client.get("/")  # the first home page of the hour sweeps for overdue tasks: not what is measured
    assert _cost_of_home(app, client)[1] == 2 * 3  # given and family name of each case shown
    add_cases(60)  # more than the task list (50) and "My cases" (20) show
    some_statements, some_names = _cost_of_home(app, client)
    add_cases(60)
    many_statements, many_names = _cost_of_home(app, client)
    assert many_statements == some_statements
    # The cases of the 50 tasks shown and of the 20 newest in "My cases", some of them the same: never all 123.
    assert some_names <= 2 * 70 and many_names <= 2 * 70
