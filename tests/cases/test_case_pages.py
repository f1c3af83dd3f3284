"""The case record through its pages: validation, conflicts, stages, list filters, search."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, func, select, text

from casemgmt.audit.models import AuditEvent
from casemgmt.cases import operations
from casemgmt.cases.models import Case, StageChange
from casemgmt.extensions import db
from casemgmt.journey import operations as closures
from tests import factories


@pytest.fixture
def w(app):
    """A world whose objects stay readable after their app context ends (loaded, then detached)."""
    with app.app_context():
        return factories.detached_world()


def _case_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("given_name", "", "This field is required."),
        ("date_of_birth", "2999-01-01", "The date of birth cannot be in the future."),
        ("estimated_age", "130", "An estimated age is between 0 and 120 years."),
        ("birth_year", "1850", "Give a year of birth between"),
        ("date_of_birth", "31/02/2000", "Not a valid date value."),
        ("phone", "call me <b>", "Digits, spaces and + ( ) - . only."),
        ("gender", "Robot", "Not a valid choice."),
        ("citizenship", "XX", "Not a valid choice."),
        ("exploitation", "Kidnapping", "is not a valid choice"),
        ("status_decided_by", "Police", "Choose the trafficking status first."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(app, web, w, field, value, message):
    web.login("caseworker")
    data = {"given_name": "Rosa", "status": "Active", field: value}
    response = web.post("/cases/new", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _case_count(app) == 0


def test_an_edit_conflict_shows_both_versions_and_never_overwrites(app, w):
    with app.app_context():
        case_id = factories.case(w.caseworker, assigned_to_id=w.caseworker.id).id
    first, second = app.test_client(), app.test_client()
    from tests.conftest import Web

    alice, bob = Web(first), Web(second)
    alice.login("caseworker")
    bob.login("supervisor")
    form_a = alice.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', form_a).group(1)
    base = factories.case_values(date_of_birth="1999-04-12", languages="es")
    base.pop("exploitation"), base.pop("control"), base.pop("recruitment_country"), base.pop("exploitation_country")
    for flag in ("unaccompanied_or_separated", "pregnant", "elderly", "ill"):
        base.pop(flag)
    # Bob saves first, from the same version.
    saved = bob.post(f"/cases/{case_id}/edit", {**base, "version": version, "phone": "+51 111 222 333",
                                                "assigned_to_id": str(w.caseworker.id)})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    # Alice's save from the old version gets the conflict page, not a silent overwrite.
    clash = alice.post(f"/cases/{case_id}/edit", {**base, "version": version, "address": "Av. Grau 9, Lima"})
    assert clash.status_code == 409
    page = clash.get_data(as_text=True)
    assert "Someone else saved this case" in page
    assert "+51 111 222 333" in page and "Av. Grau 9, Lima" in page
    with app.app_context():
        case = db.session.get(Case, case_id)
        snap = operations.snapshot(case)
        assert snap["phone"] == "+51 111 222 333"
        assert snap["address"] == "Jr. Puno 123, Lima"
        new_version = case.version
    # Re-submitting from the conflict page (which carries the new version) saves Alice's version deliberately.
    again = alice.post(f"/cases/{case_id}/edit", {**base, "version": str(new_version), "address": "Av. Grau 9, Lima"})
    assert again.status_code == 302
    with app.app_context():
        assert operations.snapshot(db.session.get(Case, case_id))["address"] == "Av. Grau 9, Lima"


def test_a_concurrent_commit_between_read_and_write_is_a_conflict(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    values = operations.snapshot(case)
    # Another worker commits after we loaded the case: the database version moves on under us.
    db.session.execute(text("UPDATE cases SET version = version + 1 WHERE id = :id"), {"id": case.id})
    with pytest.raises(operations.EditConflict):
        operations.update_case(w.caseworker, case, {**values, "phone": "+51 000"}, case.version)
    db.session.rollback()
    assert operations.snapshot(db.session.get(Case, case.id))["phone"] == "+51 987 654 321"


def test_update_records_changed_field_names_never_values(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    values = operations.snapshot(case)
    changed = operations.update_case(w.caseworker, case, {**values, "phone": "+51 555 000 111"}, case.version)
    db.session.commit()
    assert changed == ["phone"]
    event_row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.update")).one()
    assert "phone" in event_row.details and "555" not in event_row.details
    assert operations.update_case(w.caseworker, case, operations.snapshot(case), case.version) == []


def test_stage_changes_follow_the_allowed_transitions(app, web, w):
    with app.app_context():
        case_id = factories.case(w.caseworker).id
    web.login("caseworker")
    bad = web.post(f"/cases/{case_id}/stage", {"to_stage": "reintegration"}, follow_redirects=True)
    assert "Choose one of the stages offered." in bad.get_data(as_text=True)
    no_reason = web.post(f"/cases/{case_id}/stage", {"to_stage": "closed"}, follow_redirects=True)
    assert "closing or reopening a case needs a reason" in no_reason.get_data(as_text=True)
    ok = web.post(f"/cases/{case_id}/stage", {"to_stage": "shelter"}, follow_redirects=True)
    assert "Stage changed to Shelter." in ok.get_data(as_text=True)
    # Closing needs a supervisor's approval: the plain stage form is refused, the approved request closes it.
    refused = web.post(f"/cases/{case_id}/stage", {"to_stage": "closed", "reason": "Returned home safely."},
                       follow_redirects=True)
    assert "Closing a case needs a supervisor" in refused.get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, case_id)
        request = closures.request_closure(w.caseworker, case, "completed", "Returned home safely.")
        db.session.commit()
        closures.approve_closure(w.supervisor, request)
        db.session.commit()
    closed = web.get(f"/cases/{case_id}")
    assert "Returned home safely." in closed.get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.stage, case.status) == ("closed", "Closed")
        history = db.session.scalars(select(StageChange.to_stage).where(StageChange.case_id == case_id)
                                     .order_by(StageChange.changed_at)).all()
        assert history == ["intake", "shelter", "closed"]
        reason_blob = db.session.execute(
            text("SELECT reason FROM stage_changes WHERE to_stage = 'closed'")).scalar_one()
        assert b"Returned home" not in bytes(reason_blob)
    # A closed case cannot be edited until it is reopened.
    assert web.get(f"/cases/{case_id}/edit").status_code == 403


def test_case_list_filters_and_paginates(app, web, w):
    with app.app_context():
        for i in range(27):
            factories.case(w.caseworker, given_name=f"Persona{i}", status="FollowUp" if i % 3 == 0 else "Active")
        shelter = factories.case(w.caseworker, given_name="Albergada")
        operations.change_stage(w.caseworker, shelter, "shelter", None)
        db.session.commit()
    web.login("caseworker")
    first = web.get("/cases/").get_data(as_text=True)
    assert "28 cases" in first and "Page 1 of 2" in first
    assert first.count('href="/cases/') - first.count('href="/cases/new') - first.count('href="/cases/search') >= 25
    second = web.get("/cases/?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    only_shelter = web.get("/cases/?stage=shelter").get_data(as_text=True)
    assert "1 case" in only_shelter and "Albergada" in only_shelter
    follow_up = web.get("/cases/?status=FollowUp").get_data(as_text=True)
    assert "9 cases" in follow_up
    mine = web.get(f"/cases/?assignee={w.caseworker.id}").get_data(as_text=True)
    assert "28 cases" in mine
    # Nonsense filters are ignored rather than failing.
    assert web.get("/cases/?stage=<script>&page=abc&assignee=x").status_code == 200


def test_case_list_query_count_does_not_grow_with_cases(app, web, w):
    web.login("caseworker")

    def queries_for_list_page() -> int:
        statements = []

        def count(*_args):
            statements.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert web.get("/cases/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    with app.app_context():
        for _ in range(3):
            factories.case(w.caseworker)
    few = queries_for_list_page()
    with app.app_context():
        for _ in range(20):
            factories.case(w.caseworker)
    many = queries_for_list_page()
    assert many == few


def test_search_finds_by_name_document_or_phone_and_only_within_scope(app, web, w):
    with app.app_context():
        mine = factories.case(w.caseworker)
        factories.case(w.caseworker, given_name="Otra", family_name="Persona", document_number="X-1",
                       phone="+51 1", date_of_birth=None)
        factories.case(w.caseworker2)  # same person's details, other organisation
        ref = mine.reference
    web.login("caseworker")
    for fields in ({"term": "maría josé  QUISPE mamani"}, {"term": "Quispe", "date_of_birth": "1999-04-12"},
                   {"term": "pe 1234567"}, {"term": "+51 (987) 654-321"}):
        page = web.post("/cases/search", fields).get_data(as_text=True)
        assert "1 match" in page, fields
        assert ref in page
    none = web.post("/cases/search", {"term": "Nadie Aquí"}).get_data(as_text=True)
    assert "0 matches" in none
    bad = web.post("/cases/search", {"term": "María", "date_of_birth": "12/04/1999"})
    assert bad.status_code == 422 and "Please correct the fields marked below." in bad.get_data(as_text=True)
    # The search page takes no terms in the URL.
    assert "term" not in web.get("/cases/search?term=Maria").get_data(as_text=True).split("<form")[0]


def test_viewing_a_case_is_audited_and_shown_in_the_access_log(app, web, w):
    with app.app_context():
        case_id = factories.case(w.caseworker).id
    web.login("caseworker")
    assert web.get(f"/cases/{case_id}").status_code == 200
    with app.app_context():
        views = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.view", AuditEvent.case_id == case_id)).all()
        assert [(v.actor_name, v.actor_role) for v in views] == [("caseworker", "caseworker")]
    web.logout()
    web.login("supervisor")
    log = web.get(f"/cases/{case_id}/access-log").get_data(as_text=True)
    assert "caseworker" in log and "case.view" in log


def test_case_pages_are_not_cached(app, web, w):
    with app.app_context():
        case_id = factories.case(w.caseworker).id
    web.login("caseworker")
    response = web.get(f"/cases/{case_id}")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_new_case_form_checks_for_duplicates_first(app, web, w):
    with app.app_context():
        mine = factories.case(w.caseworker)
        theirs = factories.case(w.caseworker2, given_name="Lucía", family_name="Rojas", date_of_birth=date(2001, 5, 6),
                                document_number="CO-555", phone="+57 300 1")
        mine_ref, their_ref = mine.reference, theirs.reference
    web.login("caseworker")
    same = {"given_name": "María José", "family_name": "Quispe Mamani", "date_of_birth": "1999-04-12",
            "status": "Active"}
    first = web.post("/cases/new", same)
    assert first.status_code == 409
    page = first.get_data(as_text=True)
    assert "This person may already be known" in page and mine_ref in page
    assert _case_count(app) == 2  # nothing created yet
    anyway = web.post("/cases/new", {**same, "create_anyway": "yes"})
    assert anyway.status_code == 302
    assert _case_count(app) == 3
    # A match in a case of another organisation is not looked at (issue 10, finding 2): the case is created.
    other = web.post("/cases/new", {"given_name": "Lucía", "family_name": "Rojas", "date_of_birth": "2001-05-06",
                                    "status": "Active"})
    assert other.status_code == 302
    text_ = web.get(other.headers["Location"]).get_data(as_text=True)
    assert "Camino Seguro" not in text_ and their_ref not in text_ and "CO-555" not in text_
    assert _case_count(app) == 4
    with app.app_context():
        checks = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "intake.duplicate_check")).all()
        assert len(checks) == 2 and all("Rojas" not in c.details and "Quispe" not in c.details for c in checks)


def test_referred_in_case_list_query_count_does_not_grow_with_cases(app, web, w):
    """Mission staff see cases through referrals; each row's access answer must not cost a query of its own."""

    def refer(n: int) -> None:
        with app.app_context():
            for _ in range(n):
                case = factories.case(w.caseworker)
                factories.accepted_referral(case, w.mission_org, w.mission)
            db.session.commit()

    def queries_for_list_page() -> int:
        statements = []

        def count(*_args):
            statements.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = web.get("/cases/")
            assert page.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), page.get_data(as_text=True)

    web.login("mission")
    refer(2)
    few, page = queries_for_list_page()
    assert "2 cases" in page and "María José Quispe Mamani" in page
    refer(12)
    many, page = queries_for_list_page()
    assert "14 cases" in page
    assert many == few
