"""The case timeline: every feature's events in order, audited, and only what the reader may read."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from casemgmt.access import Action, allowed, policies
from casemgmt.accounts.models import User
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.core.journey import TimelineEntry
from casemgmt.extensions import db
from casemgmt.journey import discovery, operations, timeline
from casemgmt.journey import queries as journey_queries
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.journey.conftest import audit_events


def _story(app, w) -> str:
    """A case that went to shelter, got a task (done), went to counseling and asked for closure."""
    with app.app_context():
        case = factories.case(w.caseworker)
        cases.change_stage(w.caseworker, case, "shelter", None)
        task = tasks.create_task(w.caseworker, case, {"title": "Book a medical check-up", "due_on": date.today(),
                                                      "description": "Headaches since arrival."})
        tasks.complete_task(w.caseworker, task)
        cases.change_stage(w.caseworker, case, "counseling", None)
        operations.request_closure(w.caseworker, case, "declined", "Wants no further contact.")
        db.session.commit()
        return case.id


def _titles(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t).strip()
            for t in re.findall(r'<span class="fw-semibold">(.*?)</span>\s*<time', page, flags=re.S)]


def test_the_timeline_shows_stage_changes_tasks_and_closures_in_order_and_is_audited(app, web, w):
    case_id = _story(app, w)
    web.login("caseworker")
    oldest = _titles(web.get(f"/cases/{case_id}/timeline?order=oldest").get_data(as_text=True))
    assert oldest == [
        "Case opened (Intake)", "Stage: Intake → Shelter", "Task set: Book a medical check-up",
        "Task done: Book a medical check-up", "Stage: Shelter → Counseling",
        "Closure requested: The person declined further assistance",
    ]
    page = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert _titles(page) == list(reversed(oldest))
    assert "Wants no further contact." in page  # the caseworker may see who the person is
    assert "Headaches" not in page  # task details stay on the tasks page
    views = audit_events(app, "case.timeline_view")
    assert [(v.case_id, v.actor_name) for v in views] == [(case_id, "caseworker")] * 2


def test_the_timeline_of_another_organisations_case_is_not_found(app, web, w):
    case_id = _story(app, w)
    web.login("caseworker2")
    assert web.get(f"/cases/{case_id}/timeline").status_code == 404
    web.logout()
    web.login("caseworkerb")
    assert web.get(f"/cases/{case_id}/timeline").status_code == 403
    web.logout()
    web.login("admin")
    assert web.get(f"/cases/{case_id}/timeline").status_code == 403
    assert audit_events(app, "case.timeline_view") == []


def _fake_counseling(actor, case):
    """Like the counseling feature: a session is on the timeline for all; its notes only for those who may read."""
    session = SimpleNamespace(case=case, author_id=None)
    notes = "Talked about the nightmares." if allowed(actor, Action.COUNSELING_READ_NOTES, session) else ""
    return [TimelineEntry(at=datetime(2020, 1, 1, 9, 0), kind="session", title="Psychosocial session",
                          detail=notes, actor="Dra. Ruiz")]


def test_entries_come_from_every_installed_feature_for_the_reader_only(app, web, w, monkeypatch):
    with app.app_context():
        case_id = factories.case(w.hotline, assigned_to_id=w.caseworker.id).id
    real = discovery.feature_modules

    def with_fake(part):
        found = real(part)
        return [*found, SimpleNamespace(entries=_fake_counseling)] if part == "timeline" else found

    monkeypatch.setattr(journey_queries, "feature_modules", with_fake)
    web.login("supervisor")
    page = web.get(f"/cases/{case_id}/timeline?order=oldest").get_data(as_text=True)
    assert _titles(page)[0] == "Psychosocial session" and "Talked about the nightmares." in page
    web.logout()
    web.login("hotline")  # may open the case it created, never counseling notes
    page = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert "Psychosocial session" in page and "nightmares" not in page


def test_reasons_are_shown_only_to_those_who_may_see_the_person(app, ctx, monkeypatch):
    w = factories.world()
    case = factories.case(w.caseworker)
    cases.change_stage(w.caseworker, case, "shelter", None)
    cases.change_stage(w.caseworker, case, "counseling", "Risk assessment: recruiter lives next door.")
    db.session.commit()
    shown = [e.detail for e in timeline.entries(w.supervisor, case) if e.kind == "stage"]
    assert "Risk assessment: recruiter lives next door." in shown
    # With identity withheld (as the referrals issue may do for some readers) the reason is left out.
    monkeypatch.setitem(policies.POLICIES, Action.CASE_VIEW_IDENTITY, lambda user, obj=None: False)
    hidden = [e.detail for e in timeline.entries(w.supervisor, case) if e.kind == "stage"]
    assert hidden == ["", "", ""]
    assert timeline.entries(w.caseworker2, case) == []


def test_sorting_is_stable_for_entries_at_the_same_moment(app, ctx, monkeypatch):
    w = factories.world()
    case = factories.case(w.caseworker)
    moment = datetime(2024, 5, 1, 12, 0)
    fake = SimpleNamespace(entries=lambda actor, c: [
        TimelineEntry(at=moment, kind="x", title="first"), TimelineEntry(at=moment, kind="x", title="second"),
        TimelineEntry(at=moment - timedelta(days=1), kind="x", title="before"),
    ])
    monkeypatch.setattr(journey_queries, "feature_modules", lambda part: [fake])
    newest = [e.title for e in journey_queries.timeline(w.caseworker, db.session.get(Case, case.id))]
    oldest = [e.title for e in journey_queries.timeline(w.caseworker, case, newest_first=False)]
    # Ties keep their order oldest first, and newest first reads it backwards (test_timeline_order.py).
    assert oldest == ["before", "first", "second"] and newest == ["second", "first", "before"]


def test_counseling_sessions_appear_without_their_notes(app, web, w):
    counseling = pytest.importorskip("casemgmt.counseling.operations")
    with app.app_context():
        caseworker = db.session.scalar(select(User).where(User.username == "caseworker"))
        case = factories.case(caseworker)
        counseling.record_session(caseworker, case, {
            "session_type": "psychosocial", "provider": "Dra. Ruiz", "held_on": date.today(),
            "duration_minutes": 50, "notes": "Talked about the nightmares and the debt.",
        })
        db.session.commit()
        case_id = case.id
    for name in ("caseworker", "supervisor"):  # even those who may read the notes read them on the session page
        web.login(name)
        page = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
        assert "50 minutes with Dra. Ruiz" in page and "nightmares" not in page
        web.logout()
