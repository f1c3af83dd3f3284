"""Need to know: notes are read by their author, the assigned caseworker and supervisors, and by nobody else,
who sees only that a session took place. Referred-in mission staff see nothing of counseling."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from casemgmt.cases.models import Case
from casemgmt.counseling import operations
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import events
from tests.counseling.support import session

SUPERVISOR_NOTE = "Refiere pesadillas desde que salió del taller textil."
CREATOR_NOTE = "Pide ayuda para recuperar su DNI retenido."
MISSION_NOTE = "Expresa temor a represalias en Puerto Príncipe."


@dataclass
class Scene:
    case: str  # created by caseworker, assigned to caseworker_b
    by_supervisor: str
    by_creator: str
    mission_case: str
    mission_session: str


@pytest.fixture
def scene(app, w) -> Scene:
    with app.app_context():
        # The caseworker who created the case may open it, but it is assigned to caseworker_b.
        case = factories.case(w.caseworker, assigned_to_id=w.caseworker_b.id)
        by_supervisor = session(w.supervisor, case, SUPERVISOR_NOTE, provider="Ps. Martín Quiroga")
        by_creator = session(w.caseworker, case, CREATOR_NOTE, session_type="legal")
        # A case of the mission's own organisation: its mission staff may open it, not read the notes.
        mission_sup = factories.user(w.mission_org, "supervisor", "missionsup")
        mission_case = factories.case(mission_sup, given_name="Jean")
        mission_session = session(mission_sup, mission_case, MISSION_NOTE, provider="Dr. Pierre Joseph")
        return Scene(case.id, by_supervisor.id, by_creator.id, mission_case.id, mission_session.id)


def _page(web, username, url):
    web.login(username)
    response = web.get(url)
    web.logout()
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("username", "sees_supervisor_note", "sees_creator_note"),
    [
        ("supervisor", True, True),      # supervisor of the organisation (and author of one)
        ("caseworkerb", True, True),     # the assigned caseworker
        ("caseworker", False, True),     # may open the case (created it), but only authored one session
    ],
)
def test_notes_on_the_case_page_follow_need_to_know(app, web, w, scene, username, sees_supervisor_note,
                                                    sees_creator_note):
    status, page = _page(web, username, f"/cases/{scene.case}/counseling")
    assert status == 200
    assert "Ps. Martín Quiroga" in page and "50 minutes" in page  # that the session took place: everyone
    assert (SUPERVISOR_NOTE in page) is sees_supervisor_note
    assert (CREATOR_NOTE in page) is sees_creator_note
    assert ("readable only by their author" in page) is not (sees_supervisor_note and sees_creator_note)
    with app.app_context():
        read = {e.object_id for e in events("counseling.read_notes") if e.actor_name == username}
        expected = {scene.by_supervisor} if sees_supervisor_note else set()
        assert read == expected | {scene.by_creator}


def test_the_session_page_hides_notes_from_a_case_viewer_without_need_to_know(app, web, w, scene):
    status, page = _page(web, "caseworker", f"/cases/{scene.case}/counseling/{scene.by_supervisor}")
    assert status == 200
    assert "Ps. Martín Quiroga" in page and SUPERVISOR_NOTE not in page
    assert "readable only by their author, the assigned caseworker and supervisors" in page
    status, page = _page(web, "caseworkerb", f"/cases/{scene.case}/counseling/{scene.by_supervisor}")
    assert status == 200 and SUPERVISOR_NOTE in page
    with app.app_context():
        assert [(e.actor_name, e.object_id) for e in events("counseling.read_notes")] == [
            ("caseworkerb", scene.by_supervisor)]


def test_notes_are_never_decrypted_for_those_who_may_not_read_them(app, web, w, scene, monkeypatch):
    decrypted = []
    real_unseal = operations.unseal

    def spy(obj, column):
        decrypted.append(obj.id)
        return real_unseal(obj, column)

    monkeypatch.setattr(operations, "unseal", spy)
    _page(web, "caseworker", f"/cases/{scene.case}/counseling")
    _page(web, "caseworker", f"/cases/{scene.case}/counseling/{scene.by_supervisor}")
    _page(web, "mission", f"/cases/{scene.mission_case}/counseling")
    _page(web, "mission", f"/cases/{scene.mission_case}/counseling/{scene.mission_session}")
    assert decrypted == [scene.by_creator]


def test_mission_staff_of_the_cases_own_organisation_see_only_that_sessions_took_place(app, web, w, scene):
    for url in (f"/cases/{scene.mission_case}/counseling",
                f"/cases/{scene.mission_case}/counseling/{scene.mission_session}"):
        status, page = _page(web, "mission", url)
        assert status == 200
        assert "Dr. Pierre Joseph" in page and MISSION_NOTE not in page
    status, page = _page(web, "missionsup", f"/cases/{scene.mission_case}/counseling")
    assert status == 200 and MISSION_NOTE in page


def test_referred_in_mission_staff_never_see_counseling(app, web, w, scene):
    with app.app_context():
        factories.accepted_referral(db.session.get(Case, scene.case), w.mission_org,
                                    db.session.get(type(w.mission), w.mission.id))
        db.session.commit()
    web.login("mission")
    assert web.get(f"/cases/{scene.case}").status_code == 200  # the referral lets them open the case
    for url in (f"/cases/{scene.case}/counseling", f"/cases/{scene.case}/counseling/{scene.by_supervisor}"):
        response = web.get(url)
        assert response.status_code == 403, url
        body = response.get_data(as_text=True)
        assert SUPERVISOR_NOTE not in body and "Quiroga" not in body
    assert web.post(f"/cases/{scene.case}/counseling/new", {}).status_code == 403
    with app.app_context():
        assert events("counseling.read_notes") == []


def test_another_organisation_gets_404_and_a_session_of_another_case_is_not_found(app, web, w, scene):
    web.login("caseworker2")
    assert web.get(f"/cases/{scene.case}/counseling").status_code == 404
    assert web.get(f"/cases/{scene.case}/counseling/{scene.by_supervisor}").status_code == 404
    web.logout()
    web.login("supervisor")
    assert web.get(f"/cases/{scene.case}/counseling/no-such-session").status_code == 404
    with app.app_context():
        other_case = factories.case(w.supervisor).id
    # A real session id under the wrong case's URL is not found either.
    assert web.get(f"/cases/{other_case}/counseling/{scene.by_supervisor}").status_code == 404
    assert web.get(f"/cases/{scene.mission_case}/counseling/{scene.mission_session}").status_code == 404
    with app.app_context():
        assert events("counseling.read_notes") == []


def test_hotline_operators_and_administrators_have_no_counseling_pages(app, web, w, scene):
    with app.app_context():
        own = factories.case(w.hotline).id
    for username in ("hotline", "admin"):
        web.login(username)
        assert web.get(f"/cases/{own}/counseling").status_code == 403
        assert web.get(f"/cases/{scene.case}/counseling").status_code == 403
        web.logout()
