"""The case header every tab of a case shows (issue 16): the person's name, the reference, age, the child and safety
markers, the stage and the assignee, for those who may see who the person is; the reference only for the others.
It costs one query and decrypts the person once, however many times a page asks."""

from __future__ import annotations

import contextlib
from datetime import date

from flask import g
from sqlalchemy import event

from casemgmt.cases.header import case_header
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.intake.models import Contact
from tests import factories
from tests.bestinterests.support import family_member

TABS = ("", "/timeline", "/consent", "/family", "/tasks", "/documents")


def _sixteen() -> date:
    today = date.today()
    return today.replace(year=today.year - 16) if (today.month, today.day) != (2, 29) else date(today.year - 16, 2, 28)


def _danger_contact(case, actor) -> None:
    db.session.add(Contact(organisation_id=actor.organisation_id, taken_by_id=actor.id, occurred_at=utcnow(),
                           channel="phone", call_type="crisis", immediate_danger=True, case_id=case.id,
                           linked_as="opened"))
    db.session.commit()


@contextlib.contextmanager
def _counting():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_header_names_the_person_and_says_stage_and_assignee_on_every_tab(app, web):
    with app.app_context():
        w = factories.world()
        case = factories.case(w.caseworker, given_name="Rosa Elvira", family_name="Cutipa", date_of_birth=_sixteen(),
                              assigned_to_id=w.caseworker.id)
        case_id, reference, assignee = case.id, case.reference, w.caseworker.display_name
    web.login("caseworker")
    for tab in TABS:
        response = web.get(f"/cases/{case_id}{tab}")
        assert response.status_code == 200, tab
        page = response.get_data(as_text=True)
        header = page[page.index('class="case-header'):page.index("</dl>", page.index('class="case-header'))]
        assert '<span class="case-header-name person-name">Rosa Elvira Cutipa</span>' in header, tab
        assert reference in header and '<dd class="case-age">16</dd>' in header, tab
        assert "Child (under 18)" in header, tab
        assert '<dd class="case-header-stage">Intake</dd>' in header, tab
        assert f'<dd class="case-assignee">{assignee}</dd>' in header, tab


def test_the_record_page_names_the_person_once(app, web):
    with app.app_context():
        w = factories.world()
        case_id = factories.case(w.caseworker, given_name="Rosa Elvira", family_name="Cutipa").id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert page.count("Rosa Elvira Cutipa") == 1  # in the header, no longer in the heading beside the reference


def test_safety_markers_danger_and_a_family_member_possibly_involved(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
    g._login_user = w.caseworker
    header = case_header(case)
    assert not header.danger and not header.involved_family
    _danger_contact(case, w.caseworker)
    family_member(case, possibly_involved=True)
    g.pop("_casemgmt_person_names", None)
    header = case_header(case)
    assert header.danger and header.involved_family
    # The hotline operator may see who the person is (her own case), but never the family (access/policies.py).
    hotline_case = factories.case(w.hotline)
    family_member(hotline_case, possibly_involved=True)
    g._login_user = w.hotline
    assert case_header(hotline_case).identified and not case_header(hotline_case).involved_family


def test_a_danger_reported_to_another_organisation_is_not_shown(app, ctx):
    """Contacts belong to the organisation that took them: a referral's receiving organisation does not read them."""
    w = factories.world()
    case = factories.case(w.caseworker)
    _danger_contact(case, w.caseworker)
    factories.accepted_referral(case, w.mission_org)
    g._login_user = w.mission
    header = case_header(case)
    assert header.identified and not header.danger


def test_the_markers_show_in_words_on_the_page(app, web):
    with app.app_context():
        w = factories.world()
        case = factories.case(w.caseworker, unaccompanied_or_separated=True, date_of_birth=_sixteen())
        _danger_contact(case, w.caseworker)
        family_member(case, possibly_involved=True)
        case_id = case.id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    for words in ("Child (under 18)", "Unaccompanied or separated", "Immediate danger",
                  "A family member may be involved in the trafficking"):
        assert words in page


def test_who_may_not_see_the_person_gets_the_reference_only(app, ctx):
    w = factories.world()
    finance = factories.user(w.ngo, "finance_officer", "finance")
    case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
    for user in (finance, w.admin, w.caseworker2):
        g._login_user = user
        header = case_header(case)
        assert header.reference == case.reference
        assert (header.name, header.age, header.stage, header.assignee) == (None, None, None, None)
        assert not (header.child or header.danger or header.involved_family)


def test_the_header_costs_one_query_and_decrypts_the_person_once(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker, assigned_to_id=w.supervisor.id, date_of_birth=_sixteen())
    g._login_user = w.caseworker
    case_header(case)  # the person and the policy's rows are loaded once per request, as on a page
    with _counting() as statements:
        header = case_header(case)
    assert header.assignee == w.supervisor.display_name
    assert len(statements) == 1, statements
    assert header.name == "María José Quispe Mamani"
    # The name comes from the request's memo while the ciphertexts are unchanged: nothing is decrypted again.
    memo = g._casemgmt_person_names
    memo[case.person.id] = (memo[case.person.id][0], "read from the memo")
    assert case_header(case).name == "read from the memo"
