"""Tracing requests, their actions, closing them, the family assessment visit, the work list and the timeline; the
guard that a family member who may not learn the location is never told it."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casemgmt.extensions import db
from casemgmt.families import operations, queries, timeline, worklist
from casemgmt.families.models import FamilyAssessmentVisit, FamilyMember, TracingAction, TracingRequest
from tests.conftest import submission_token
from tests.families.support import AUNT, DAYS, FATHER, MOTHER, TODAY, add, as_user, events, open_request, user

ACTION = {"kind": "phone_call", "done_on": str(TODAY), "outcome": "lead", "contacted": "Carla called the aunt",
          "place": "By phone", "notes": "The aunt heard she is in Jacmel."}
VISIT = {"visited_on": str(TODAY), "place": "Cap-Haïtien", "people_met": "The aunt and her husband",
         "findings": "Two rooms, school nearby.", "family_willing": "yes", "safety": "safe",
         "recommendation": "reunify"}


@pytest.fixture
def family(app, scene):
    with app.app_context():
        ids = {name: add(scene.case_id, values).id for name, values in
               (("mother", MOTHER), ("father", FATHER), ("aunt", AUNT))}
        db.session.remove()
    return ids


def _count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session.scalar(query)


def _request_id(app, member_id: str) -> str:
    with app.app_context():
        return db.session.scalar(select(TracingRequest.id).where(TracingRequest.family_member_id == member_id))


def test_opening_a_tracing_request_offers_the_reasons_that_fit(app, scene, family):
    web = as_user(app, "caseworker")
    page = web.get(f"/cases/{scene.case_id}/family").get_data(as_text=True)
    assert f"/family/{family['mother']}/tracing/new" in page
    form = web.get(f"/cases/{scene.case_id}/family/{family['mother']}/tracing/new").get_data(as_text=True)
    assert 'value="unaccompanied"' in form and 'value="person_asks"' in form
    # The aunt's whereabouts are known: she is traced only if the person asks.
    known = web.get(f"/cases/{scene.case_id}/family/{family['aunt']}/tracing/new").get_data(as_text=True)
    assert 'value="unaccompanied"' not in known and 'value="person_asks"' in known
    refused = web.post(f"/cases/{scene.case_id}/family/{family['aunt']}/tracing/new", {"reason": "unaccompanied"})
    assert refused.status_code == 422 and 'id="reason-errors"' in refused.get_data(as_text=True)
    opened = web.post(f"/cases/{scene.case_id}/family/{family['mother']}/tracing/new",
                      {"reason": "unaccompanied", "description": "She sells fruit at the market."})
    assert opened.status_code == 302
    request_id = _request_id(app, family["mother"])
    shown = web.get(f"/tracing/{request_id}").get_data(as_text=True)
    assert "Mirlande" in shown and "Unaccompanied child" in shown and "She sells fruit" in shown
    with app.app_context():
        event = events("tracing.open")[-1]
        assert json.loads(event.details) == {"reason": "unaccompanied", "family_member": family["mother"]}


def test_an_adult_is_traced_only_because_they_ask(app, scene, ctx):
    mother = add(scene.adult_case_id, MOTHER)
    assert operations.reasons_for(mother.case, mother) == ["person_asks"]
    with pytest.raises(operations.FamilyError):
        open_request(mother, "separated")
    assert open_request(mother, "person_asks").status == "open"


def test_one_open_request_per_member_and_a_double_click_makes_one(app, scene, family):
    web = as_user(app, "caseworker")
    url = f"/cases/{scene.case_id}/family/{family['mother']}/tracing/new"
    token = submission_token(app, "caseworker")
    first = web.post(url, {"reason": "unaccompanied", "submission_token": token})
    again = web.post(url, {"reason": "unaccompanied", "submission_token": token})
    assert first.status_code == 302 and again.status_code in (302, 303)
    assert _count(app, TracingRequest) == 1
    # A second request (a fresh form) is refused with a message while the first is open.
    second = web.post(url, {"reason": "person_asks"})
    assert second.status_code == 422 and "already open" in second.get_data(as_text=True)
    assert _count(app, TracingRequest) == 1


def test_two_requests_racing_make_one(app, scene, family):
    """Two forms sent at the same instant both pass the read check; the partial unique index keeps one."""
    results = []

    def attempt():
        with app.test_request_context():
            member = db.session.get(FamilyMember, family["mother"])
            try:
                operations.open_request(user("caseworker"), member, {"reason": "unaccompanied"})
                db.session.commit()
                results.append("opened")
            except operations.FamilyError:
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _count(app, TracingRequest, status="open") == 1
    assert sorted(results) == ["opened", "refused"]


def test_recording_an_action(app, scene, family):
    with app.app_context():
        request_id = open_request(db.session.get(FamilyMember, family["mother"])).id
    web = as_user(app, "caseworker")
    form = web.get(f"/tracing/{request_id}/actions/new").get_data(as_text=True)
    assert 'name="whereabouts_shared"' in form  # the aunt may be told
    saved = web.post(f"/tracing/{request_id}/actions/new",
                     {**ACTION, "family_member_id": family["aunt"], "whereabouts_shared": "y"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    page = web.get(f"/tracing/{request_id}").get_data(as_text=True)
    assert "Carla called the aunt" in page and "A lead to follow" in page
    with app.app_context():
        action = db.session.scalar(select(TracingAction))
        assert action.whereabouts_shared and action.family_member_id == family["aunt"]
        details = json.loads(events("tracing.action")[-1].details)
        assert details["kind"] == "phone_call" and "Carla" not in json.dumps(details)


@pytest.mark.parametrize("member", ["father", "mother"])
def test_whereabouts_are_never_shared_with_a_member_who_may_not_learn_them(app, scene, family, member):
    """The father may be involved in the trafficking; the mother has not been agreed to: refused, nothing saved."""
    with app.app_context():
        request_id = open_request(db.session.get(FamilyMember, family["mother"])).id
    web = as_user(app, "caseworker")
    refused = web.post(f"/tracing/{request_id}/actions/new",
                       {**ACTION, "family_member_id": family[member], "whereabouts_shared": "y"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="whereabouts_shared-errors"' in html
    assert ("involved in the trafficking" if member == "father" else "has not agreed") in html
    assert "Carla called the aunt" in html  # the form is kept
    assert _count(app, TracingAction) == 0
    with app.app_context(), app.test_request_context():
        with pytest.raises(operations.FamilyError):
            operations.record_action(user("caseworker"), db.session.get(TracingRequest, request_id), {
                **ACTION, "done_on": TODAY, "family_member_id": family[member], "whereabouts_shared": True})
        db.session.rollback()


def test_the_checkbox_is_not_offered_when_no_member_may_be_told(app, scene):
    with app.app_context():
        father = add(scene.case_id, {**FATHER, "whereabouts": "unknown"})
        request_id = open_request(father).id
    page = as_user(app, "caseworker").get(f"/tracing/{request_id}/actions/new").get_data(as_text=True)
    assert 'name="whereabouts_shared"' not in page
    assert "Never share where the person is" in page and "involved in the trafficking" in page
    tracing = as_user(app, "caseworker").get(f"/tracing/{request_id}").get_data(as_text=True)
    assert "Never tell this family member where the person is." in tracing


@pytest.mark.parametrize("data, field", [
    ({**ACTION, "kind": ""}, "kind"),
    ({**ACTION, "kind": "telepathy"}, "kind"),
    ({**ACTION, "outcome": ""}, "outcome"),
    ({**ACTION, "done_on": ""}, "done_on"),
    ({**ACTION, "done_on": str(TODAY + DAYS)}, "done_on"),
    ({**ACTION, "done_on": "yesterday"}, "done_on"),
    ({**ACTION, "family_member_id": "not-a-member"}, "family_member_id"),
    ({**ACTION, "whereabouts_shared": "y"}, "family_member_id"),
    ({**ACTION, "contacted": "x" * 600}, "contacted"),
])
def test_bad_action_input_is_refused_on_its_field(app, scene, family, data, field):
    with app.app_context():
        request_id = open_request(db.session.get(FamilyMember, family["mother"])).id
    response = as_user(app, "caseworker").post(f"/tracing/{request_id}/actions/new", data)
    assert response.status_code == 422 and f'id="{field}-errors"' in response.get_data(as_text=True)
    assert _count(app, TracingAction) == 0


def test_closing_as_found_makes_the_whereabouts_known_and_ends_the_actions(app, scene, family):
    with app.app_context():
        request_id = open_request(db.session.get(FamilyMember, family["mother"])).id
    web = as_user(app, "caseworker")
    bad = web.post(f"/tracing/{request_id}/close", {"status": "open"})
    assert bad.status_code == 422 and 'id="status-errors"' in bad.get_data(as_text=True)
    assert web.post(f"/tracing/{request_id}/close", {"status": "found", "outcome_note": "Found in Jacmel."}
                    ).status_code == 302
    page = web.get(f"/tracing/{request_id}").get_data(as_text=True)
    assert "Found in Jacmel." in page and "Record a tracing action" not in page and "Close the request" not in page
    refused = web.post(f"/tracing/{request_id}/actions/new", ACTION)
    assert refused.status_code == 422 and "is closed" in refused.get_data(as_text=True)
    assert _count(app, TracingAction) == 0
    again = web.post(f"/tracing/{request_id}/close", {"status": "not_found"})
    assert again.status_code == 422
    with app.app_context():
        found = db.session.get(TracingRequest, request_id)
        assert found.status == "found" and found.closed_on == TODAY
        assert db.session.get(FamilyMember, family["mother"]).whereabouts == "known"
        assert json.loads(events("tracing.close")[-1].details) == {"status": "found", "whereabouts_now_known": True}
    # Closed, the member may be traced again.
    assert web.get(f"/cases/{scene.case_id}/family").status_code == 200


def test_a_visit_from_the_family_page_and_its_bad_input(app, scene, family):
    web = as_user(app, "caseworker")
    for data, field in (({**VISIT, "visited_on": str(TODAY + DAYS)}, "visited_on"),
                        ({**VISIT, "findings": ""}, "findings"), ({**VISIT, "safety": "fine"}, "safety"),
                        ({**VISIT, "recommendation": ""}, "recommendation"),
                        ({**VISIT, "family_willing": "maybe"}, "family_willing")):
        response = web.post(f"/cases/{scene.case_id}/family/visit/new", data)
        assert response.status_code == 422 and f'id="{field}-errors"' in response.get_data(as_text=True), field
    assert _count(app, FamilyAssessmentVisit) == 0
    assert web.post(f"/cases/{scene.case_id}/family/visit/new",
                    {**VISIT, "recommendation": "do_not_reunify", "family_willing": "no"}).status_code == 302
    page = web.get(f"/cases/{scene.case_id}/family").get_data(as_text=True)
    assert "Do not reunify" in page and "Two rooms, school nearby." in page
    with app.app_context():
        visit = queries.latest_visit(scene.case_id)
        assert visit.recommendation == "do_not_reunify" and visit.family_willing is False
        assert visit.tracing_request_id is None
        details = events("tracing.visit")[-1].details
        assert "Two rooms" not in details and "aunt" not in details


def test_the_timeline_names_codes_and_only_for_those_who_may_see_the_family(app, scene, family):
    with app.app_context(), app.test_request_context():
        found = open_request(db.session.get(FamilyMember, family["mother"]))
        operations.record_action(user("caseworker"), found, {**ACTION, "done_on": TODAY})
        operations.record_visit(user("mission"), found.case, found, {**VISIT, "visited_on": TODAY})
        db.session.commit()
        titles = [e.title for e in timeline.entries(user("caseworker"), found.case)]
        assert "Tracing request opened" in titles
        assert "Tracing action: Phone call — A lead to follow" in titles
        assert "Family assessment visit: Reunify with the family" in titles
        blob = repr(timeline.entries(user("caseworker"), found.case))
        assert "Mirlande" not in blob and "Carla called" not in blob and "Two rooms" not in blob
        for username in ("hotline", "finance", "supervisor2", "caseworkerb"):
            assert timeline.entries(user(username), found.case) == []


def test_the_work_list_names_requests_without_action_for_two_weeks(app, scene, family):
    with app.app_context(), app.test_request_context():
        found = open_request(db.session.get(FamilyMember, family["mother"]))
        assert worklist.items(user("caseworker")) == []
        found.opened_on = TODAY - timedelta(days=20)
        db.session.commit()
        for username in ("caseworker", "mission", "missionlead"):
            items = worklist.items(user(username))
            assert [i.url for i in items] == [f"/tracing/{found.id}"], username
            assert "Mirlande" not in items[0].title
        for username in ("caseworkerb", "hotline", "finance", "caseworker2", "supervisor2"):
            assert worklist.items(user(username)) == [], username
        operations.record_action(user("mission"), found, {**ACTION, "done_on": TODAY - timedelta(days=3)})
        db.session.commit()
        assert worklist.items(user("caseworker")) == []
