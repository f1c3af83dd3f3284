"""The case list, view and search keep their answers while reading as little as the page needs: the scope read as
disjoint parts merged in order, grant look-ups by case, no reloading after the view's audit commit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text

from casemgmt.access.grants import CaseGrant
from casemgmt.access.policies import _grant_filter, case_scope_filter, case_scope_parts, prefetch_case_access
from casemgmt.accounts.models import User
from casemgmt.audit.models import AuditEvent
from casemgmt.cases import operations, queries
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from tests import factories

START = datetime(2024, 1, 1, 8, 0)


def _refer(case: Case, to_org, status: str = "accepted", responded_by=None) -> None:
    factories.accepted_referral(case, to_org, responded_by, status=status)


def _mixed_caseload(w) -> dict[str, Case]:
    """Cases of every kind a scope must include or leave out, opened at interleaved times (two at the same instant,
    so the tie-break is exercised)."""
    made = {
        "own_assigned": factories.case(w.caseworker, assigned_to_id=w.caseworker.id),
        "own_other_worker": factories.case(w.caseworker_b, assigned_to_id=w.caseworker_b.id),
        "own_created_assigned_away": factories.case(w.caseworker, assigned_to_id=w.caseworker_b.id),
        "own_unassigned": factories.case(w.supervisor),
        "hotline": factories.case(w.hotline),
        "other_org": factories.case(w.caseworker2),
        "referred_in": factories.case(w.caseworker2),
        "referred_in_pending": factories.case(w.caseworker2),
        "referred_in_declined": factories.case(w.caseworker2),
        "to_mission": factories.case(w.caseworker),
        # Referred in and accepted by the first caseworker, then transferred to their organisation.
        "referred_then_transferred": factories.case(w.caseworker2),
        "erased": factories.case(w.caseworker, assigned_to_id=w.caseworker.id),
        "erased_referred": factories.case(w.caseworker2),
    }
    _refer(made["referred_in"], w.ngo, responded_by=w.caseworker)
    _refer(made["referred_in_pending"], w.ngo, status="pending")
    _refer(made["referred_in_declined"], w.ngo, status="declined", responded_by=w.caseworker)
    _refer(made["to_mission"], w.mission_org, responded_by=w.mission)
    _refer(made["referred_then_transferred"], w.ngo, responded_by=w.caseworker)
    _refer(made["erased_referred"], w.ngo, responded_by=w.caseworker)
    made["referred_then_transferred"].organisation_id = w.ngo.id
    made["referred_then_transferred"].assigned_to_id = w.caseworker_b.id
    operations.erase_case(w.supervisor, made["erased"])
    operations.erase_case(w.supervisor2, made["erased_referred"])
    for i, case in enumerate(made.values()):
        case.created_at = START + timedelta(hours=i // 2 if i < 2 else i)
    db.session.commit()
    return made


def _users(w) -> list[User]:
    return [w.supervisor, w.caseworker, w.caseworker_b, w.hotline, w.mission, w.supervisor2, w.caseworker2, w.admin]


def test_the_scope_parts_are_disjoint_and_together_are_the_scope(app, ctx):
    w = factories.world()
    _mixed_caseload(w)
    for user in _users(w):
        scope = set(db.session.scalars(select(Case.id).where(case_scope_filter(user))))
        assert scope == set(db.session.scalars(select(Case.id).where(case_scope_filter(user, by_case=True)))), user
        parts = [list(db.session.scalars(select(Case.id).where(part))) for part in case_scope_parts(user)]
        assert sum(len(p) for p in parts) == len(scope), user.username  # no case in two parts
        assert set().union(*parts) == scope, user.username


def _expected_order(user, **filters) -> list[str]:
    where = [case_scope_filter(user)] + [getattr(Case, k) == v for k, v in filters.items()]
    return list(db.session.scalars(select(Case.id).where(*where).order_by(Case.created_at.desc(), Case.id.desc())))


@pytest.mark.parametrize("username", ["supervisor", "caseworker", "mission", "hotline", "supervisor2"])
def test_every_page_of_the_merged_list_is_the_scope_in_order(app, ctx, username):
    w = factories.world()
    made = _mixed_caseload(w)
    # More cases than fit one page for everyone: the mission's come by referral, the hotline opens its own.
    for case in made.values():
        if case is not made["to_mission"]:
            _refer(case, w.mission_org, responded_by=w.mission)
    for _ in range(3):
        factories.case(w.hotline).created_at = START + timedelta(minutes=30)
    db.session.commit()
    user = getattr(w, username)
    expected = _expected_order(user)
    assert len(expected) > 3
    listed, page = [], 1
    while True:
        result = queries.case_list_page(user, queries.CaseFilters(), per_page=3, page=page)
        assert result.total == len(expected)
        listed += [c.id for c in result.items]
        if not result.has_next:
            break
        page += 1
    assert listed == expected
    # A page beyond the end shows the last one, as before.
    assert queries.case_list_page(user, queries.CaseFilters(), per_page=3, page=99).page == page


def test_list_filters_apply_to_every_part(app, ctx):
    w = factories.world()
    made = _mixed_caseload(w)
    operations.change_stage(w.caseworker2, made["referred_in"], "shelter", None)
    operations.change_stage(w.caseworker, made["own_assigned"], "shelter", None)
    db.session.commit()
    for user in (w.supervisor, w.caseworker):
        page = queries.case_list_page(user, queries.CaseFilters(stage="shelter"), per_page=25, page=1)
        assert [c.id for c in page.items] == _expected_order(user, stage="shelter")
        assert {made["referred_in"].id, made["own_assigned"].id} == {c.id for c in page.items}
        assigned = queries.case_list_page(user, queries.CaseFilters(assignee=w.caseworker_b.id), per_page=25, page=1)
        assert [c.id for c in assigned.items] == _expected_order(user, assigned_to_id=w.caseworker_b.id)
        assert assigned.total == len(assigned.items) > 0


def _memo() -> dict:
    from flask import g

    return g._casemgmt_granted


def test_grant_look_ups_by_case_answer_as_the_scope_does(app, ctx):
    w = factories.world()
    made = _mixed_caseload(w)
    ids = [c.id for c in made.values()]
    for user in (w.supervisor, w.caseworker, w.caseworker_b, w.mission):
        prefetch_case_access(user, ids)
        memo = dict(_memo())
        expected = set(db.session.scalars(select(CaseGrant.case_id).where(CaseGrant.case_id.in_(ids),
                                                                          _grant_filter(user))))
        assert {cid for (uid, cid), found in memo.items() if uid == user.id and found} == expected, user.username


@pytest.mark.parametrize("username", ["caseworker", "supervisor", "mission"])
def test_grant_look_ups_by_case_use_the_case_index_on_sqlite(app, ctx, username):
    """Without statistics SQLite would read every live grant of the organisation for each look-up."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite planner question")
    w = factories.world()
    query = select(CaseGrant.case_id).where(CaseGrant.case_id.in_(["a", "b"]),
                                            _grant_filter(getattr(w, username), True))
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(row) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_case_access_grants_case" in plan, plan


@pytest.mark.parametrize("username", ["caseworker", "supervisor", "mission"])
def test_the_cases_granted_to_an_organisation_are_read_from_its_live_grants_index_on_sqlite(app, ctx, username):
    """The list's shared part finds the organisation's (or the caseworker's) live grants through the partial index
    of live grants, not by reading every grant of the table."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite planner question")
    w = factories.world()
    query = select(CaseGrant.case_id).where(_grant_filter(getattr(w, username), listed=True))
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(row) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_case_access_grants_org_live" in plan, plan


def _statements(app, call) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return seen


def _reads_of(statements: list[str], table: str) -> int:
    return sum(1 for s in statements if s.startswith("SELECT") and f" FROM {table} WHERE" in s)


def test_the_case_view_reads_the_case_once_and_commits_its_event_before_showing_it(app, web):
    with app.app_context():
        w = factories.world()
        case_id = factories.case(w.caseworker, assigned_to_id=w.caseworker.id).id
    web.login("supervisor")
    statements = _statements(app, lambda: web.get(f"/cases/{case_id}"))
    for table in ("cases", "persons", "case_codes"):
        assert _reads_of(statements, table) == 1, (table, statements)
    assert "María José" in web.get(f"/cases/{case_id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "case.view",
                                                            AuditEvent.case_id == case_id)) == 2


def test_a_view_whose_audit_event_cannot_be_saved_shows_nothing(app, web):
    with app.app_context():
        w = factories.world()
        case_id = factories.case(w.caseworker).id
    web.login("supervisor")
    with app.app_context():
        # Another writer took the next sequence number without moving the head: this view's event collides.
        head = db.session.execute(text("SELECT last_seq FROM audit_head WHERE id = 1")).scalar_one()
        db.session.execute(text(
            "INSERT INTO audit_events (seq, occurred_at, actor_name, action, outcome, details, prev_hash, hash) "
            "VALUES (:seq, :at, 'other', 'case.view', 'success', '{}', 'x', 'y')"), {"seq": head + 1, "at": START})
        db.session.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = web.get(f"/cases/{case_id}")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert "María José" not in response.get_data(as_text=True)


def test_search_results_are_shown_without_reading_the_cases_again(app, web):
    with app.app_context():
        w = factories.world()
        factories.case(w.caseworker)
        factories.case(w.caseworker2)  # the same name in another organisation: a candidate, not a result
    web.login("caseworker")
    statements = _statements(app, lambda: web.post("/cases/search", {"term": "María José Quispe Mamani"}))
    # The ranking reads only the index (joined to cases for the scope); the page's cases come with their people in
    # one statement, and the template reads nothing again.
    (page,) = [s for s in statements if s.startswith("SELECT") and " FROM cases " in s]
    assert "JOIN persons" in page and _reads_of(statements, "persons") == 0
