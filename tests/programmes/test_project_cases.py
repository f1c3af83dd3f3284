"""The project page's list of cases (programmes.queries.enrolled_cases_page), which reads its page and its count in
one query at scale: the same cases, order, count and end dates as the plain definition (enrolled_cases_query), the
erased case left out of both, a page beyond the end answered with the last page, and a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.programmes import queries
from casemgmt.programmes.models import Enrolment
from tests import factories
from tests.conftest import signed_in
from tests.programmes.support import DAYS, START, make_project
from tests.returns.support import w  # noqa: F401  (fixture)


def _enrol(case, project, organisation_id, on, ended=None):
    db.session.add(Enrolment(case_id=case.id, project_id=project.id, organisation_id=organisation_id, enrolled_on=on,
                             ended_on=ended))


def _world(w):  # noqa: F811
    project = make_project(w.supervisor)
    org = w.caseworker.organisation_id
    cases = [factories.case(w.caseworker, given_name=f"Persona{i}", family_name="Prueba") for i in range(6)]
    # Two cases on the same day (the reference breaks the tie), one enrolled twice (ended, then again: its first
    # date orders it, its latest end is shown), one erased, one enrolled by another organisation only.
    _enrol(cases[0], project, org, START + 1 * DAYS)
    _enrol(cases[1], project, org, START + 5 * DAYS)
    _enrol(cases[2], project, org, START + 5 * DAYS)
    _enrol(cases[3], project, org, START + 2 * DAYS, ended=START + 3 * DAYS)
    _enrol(cases[3], project, org, START + 9 * DAYS)
    _enrol(cases[4], project, org, START + 7 * DAYS, ended=START + 8 * DAYS)
    _enrol(cases[5], project, org, START + 8 * DAYS)
    other = factories.case(w.mission, given_name="Otra", family_name="Persona")
    _enrol(other, project, w.mission.organisation_id, START + 4 * DAYS)
    cases[5].erased_at = utcnow()
    db.session.commit()
    return project, org, cases


def _expected(project, org):
    """The plain definition: every enrolled live case, first enrolment newest first, then by reference."""
    rows = db.session.execute(queries.enrolled_cases_query(project.id, org)).all()
    ends = {}
    for e in db.session.query(Enrolment).filter_by(project_id=project.id, organisation_id=org):
        end = e.ended_on or queries.OPEN_END
        ends[e.case_id] = max(ends.get(e.case_id, end), end)
    return [(case.id, enrolled_on, ends[case.id]) for case, enrolled_on in rows]


def test_the_pages_list_the_same_cases_in_the_same_order_with_their_end_dates(app, w):  # noqa: F811
    with app.test_request_context():
        project, org, cases = _world(w)
        expected = _expected(project, org)
        order = [case_id for case_id, _on, _end in expected]
        # Newest first enrolment first; the case enrolled again later is ordered by its first date.
        assert order[0] == cases[4].id and order.index(cases[3].id) == 3 and order[-1] == cases[0].id
        assert cases[5].id not in {case_id for case_id, _on, _end in expected}
        assert len(expected) == 5
        listed = []
        for number in (1, 2, 3):
            page = queries.enrolled_cases_page(project.id, org, per_page=2, page=number)
            assert page.total == 5 and page.page == number and page.pages == 3
            listed += [(case.id, on, end) for case, on, end in page.items]
        assert listed == expected
        by_id = {case_id: end for case_id, _on, end in listed}
        assert by_id[cases[3].id] == queries.OPEN_END  # open again after its first enrolment ended
        assert by_id[cases[4].id] == START + 8 * DAYS
        # Same day: by reference.
        same_day = [case_id for case_id, on, _end in listed if on == START + 5 * DAYS]
        assert same_day == sorted(same_day, key=lambda i: next(c.reference for c in cases if c.id == i))


def test_a_page_beyond_the_end_shows_the_last_page(app, w):  # noqa: F811
    with app.test_request_context():
        project, org, _cases = _world(w)
        last = queries.enrolled_cases_page(project.id, org, per_page=2, page=3)
        beyond = queries.enrolled_cases_page(project.id, org, per_page=2, page=99)
        assert beyond.page == 3 and beyond.total == 5
        assert [row[0].id for row in beyond.items] == [row[0].id for row in last.items]
        empty = make_project(w.supervisor, code="EMPTY-01")
        nothing = queries.enrolled_cases_page(empty.id, org, per_page=2, page=4)
        assert (nothing.total, nothing.page, nothing.items) == (0, 1, [])


def test_the_project_page_counts_live_cases_with_a_constant_number_of_queries(app, w):  # noqa: F811
    with app.app_context():
        project, _org, cases = _world(w)
        pid, erased_ref, first_ref = project.id, cases[5].reference, cases[3].reference
    client = signed_in(app, "supervisor")
    counts = []

    def count(*_args):
        counts[-1] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for url in (f"/projects/{pid}", f"/projects/{pid}?page=1"):
            counts.append(0)
            page = client.get(url).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "5 cases of your organisation are enrolled in this project." in page
    assert first_ref in page and erased_ref not in page
    assert counts[0] == counts[1]
    with app.app_context():
        more = factories.case(w.caseworker, given_name="Nueva", family_name="Persona")
        _enrol(more, db.session.get(type(project), pid), w.caseworker.organisation_id, START + timedelta(days=11))
        db.session.commit()
    counts.append(0)
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(f"/projects/{pid}").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "6 cases of your organisation are enrolled in this project." in page
    assert counts[2] == counts[0]
