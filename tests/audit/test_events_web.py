"""ASVS 8.3.5 / 7.1.x: what the pages write to the audit trail, and what they never write."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from tests import factories
from tests.cli.support import make_world, request, user


def _events(app, action: str) -> list[AuditEvent]:
    with request(app):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return [_detached(e) for e in events]


def _detached(event: AuditEvent) -> AuditEvent:
    db.session.expunge(event)
    return event


def _all_audit_text(app) -> str:
    """Every column of every audit row, as text: what someone reading the table (or a backup of it) sees."""
    with request(app):
        rows = db.session.execute(text("SELECT * FROM audit_events")).all()
        return "\n".join("|".join("" if v is None else str(v) for v in row) for row in rows)


def _make_case(app, **values) -> tuple[str, str]:
    with request(app):
        case = factories.case(user("caseworker"), **values)
        return case.id, case.reference


def test_viewing_a_case_writes_a_view_event_with_the_actor(app, web):
    ids = make_world(app)
    case_id, _ref = _make_case(app)
    assert _events(app, "case.view") == []
    web.login("caseworker")
    assert web.get(f"/cases/{case_id}").status_code == 200
    assert web.get(f"/cases/{case_id}").status_code == 200

    views = _events(app, "case.view")
    assert len(views) == 2
    for event in views:
        assert (event.actor_id, event.actor_name, event.actor_role, event.organisation_id) == (
            ids.caseworker, "caseworker", "caseworker", ids.ngo
        )
        assert (event.object_type, event.object_id, event.case_id, event.outcome) == (
            "case", case_id, case_id, "success"
        )
        assert "María" not in event.details


def test_a_denied_view_is_audited_with_the_actor(app, web):
    ids = make_world(app)
    case_id, _ref = _make_case(app)
    web.login("caseworkerb")  # same NGO, neither created nor assigned this case
    assert web.get(f"/cases/{case_id}").status_code == 403
    (denial,) = _events(app, "access.denied")
    assert (denial.actor_id, denial.actor_name, denial.case_id, denial.outcome) == (
        ids.caseworker_b, "caseworkerb", case_id, "denied"
    )
    assert json.loads(denial.details) == {"action": "case.view"}
    assert _events(app, "case.view") == []


def test_search_is_audited_without_the_term(app, web):
    ids = make_world(app)
    _make_case(app, given_name="Xiomara", family_name="Quintanilla Zegarra", document_number="QZ-7788123",
               phone="+51 944 118 226")
    web.login("caseworker")
    searches = [
        ("name", "  xiomara QUINTANILLA zegarra ", 1),
        ("number", "qz 7788123", 1),
        ("number", "51944118226", 1),
        ("name", "Yolanda Nobody Known", 0),
    ]
    for _kind, term, hits in searches:
        response = web.post("/cases/search", {"term": term})
        assert response.status_code == 200
        assert ("Xiomara Quintanilla Zegarra" in response.get_data(as_text=True)) == bool(hits)

    events = _events(app, "case.search")
    # A coarse kind (a name or a number, never which number), the page and the count: never the term.
    assert [json.loads(e.details) for e in events] == [
        {"kind": kind, "page": 1, "results": hits} for kind, _term, hits in searches
    ]
    assert all((e.actor_id, e.actor_name) == (ids.caseworker, "caseworker") for e in events)
    everything = _all_audit_text(app).casefold()
    for _kind, term, _hits in searches:
        for word in term.split():
            assert word.casefold() not in everything, word
    for secret in ("xiomara", "quintanilla", "zegarra", "qz-7788123", "qz7788123", "7788123", "944 118", "944118"):
        assert secret not in everything, secret


def test_login_events_never_hold_the_password(app, web):
    make_world(app)
    wrong = "amber-falcon-quietly-91-river"
    assert web.login("caseworker", password=wrong).status_code == 200  # the form again, with an error
    assert web.login("nosuchuser", password=wrong + "-x").status_code == 200
    assert web.login("caseworker").status_code == 302
    web.logout()

    failures = _events(app, "login.failure")
    assert [json.loads(e.details) for e in failures] == [{"reason": "password"}, {"reason": "unknown_account"}]
    assert failures[0].actor_name == "caseworker" and failures[1].actor_name == "anonymous"
    assert "nosuchuser" not in _all_audit_text(app)  # a mistyped username can be someone's passphrase
    (success,) = _events(app, "login.success")
    assert (success.actor_name, success.outcome) == ("caseworker", "success")
    assert len(_events(app, "logout")) == 1
    everything = _all_audit_text(app)
    for secret in (wrong, factories.PASSWORD, "violet-harbor", "amber-falcon"):
        assert secret not in everything
