"""Need-to-know on family records: family members identify people as much as the person's own record does."""

from __future__ import annotations

import pytest

from casemgmt.extensions import db
from casemgmt.families.models import FamilyAssessmentVisit, TracingAction
from tests.families.support import AUNT, MOTHER, TODAY, add, as_user, form_data, open_request


@pytest.fixture
def family(app, scene):
    with app.app_context():
        mother = add(scene.case_id, MOTHER)
        add(scene.case_id, AUNT)
        found = open_request(mother)
        ids = {"member": mother.id, "request": found.id}
        db.session.remove()
    return ids


def _urls(scene, family) -> list[str]:
    return [f"/cases/{scene.case_id}/family", f"/tracing/{family['request']}",
            f"/cases/{scene.case_id}/family/{family['member']}/edit", f"/cases/{scene.case_id}/family/new"]


@pytest.mark.parametrize("username, status", [
    ("hotline", 403),      # opened cases, never reads family members
    ("caseworkerb", 403),  # a caseworker of the organisation who is not on the case
    ("finance", 403),      # amounts and categories, never identities
    ("caseworker2", 404),  # another organisation (the one a transfer waits for: its caseworker has no grant)
    ("supervisor2", 403),  # reviews the transfer (may open the case): reads what the decision needs, never the family
])
def test_those_who_may_not_see_the_family_are_refused_everywhere(app, scene, family, username, status):
    web = as_user(app, username)
    for url in _urls(scene, family):
        response = web.get(url)
        assert response.status_code in (403, 404), (url, response.status_code)
        assert "Mirlande" not in response.get_data(as_text=True)
    assert web.get(f"/cases/{scene.case_id}/family").status_code == status
    posted = web.post(f"/tracing/{family['request']}/actions/new", {"kind": "phone_call", "outcome": "lead",
                                                                  "done_on": str(TODAY)})
    assert posted.status_code in (403, 404)
    with app.app_context():
        assert db.session.query(TracingAction).count() == 0


def test_the_tab_shows_only_for_those_who_may_see_the_family(app, scene, family):
    assert "/family\"" in as_user(app, "caseworker").get(f"/cases/{scene.case_id}").get_data(as_text=True)
    hotline = as_user(app, "hotline").get(f"/cases/{scene.case_id}").get_data(as_text=True)
    assert f"/cases/{scene.case_id}/family\"" not in hotline


def test_another_organisations_case_answers_404(app, scene):
    web = as_user(app, "caseworker")
    assert web.get(f"/cases/{scene.other_org_case_id}/family").status_code == 404
    assert web.post(f"/cases/{scene.other_org_case_id}/family/new", form_data(MOTHER)).status_code == 404


def test_the_receiving_mission_sees_the_family_traces_and_visits_but_does_not_edit_members(app, scene, family):
    for username in ("mission", "missionlead"):
        web = as_user(app, username)
        page = web.get(f"/cases/{scene.case_id}/family").get_data(as_text=True)
        assert "Mirlande" in page and "Mireille" in page
        # No button the operation would refuse: no adding, correcting or removing of family members.
        assert "family-add" not in page and "family-edit" not in page
        assert "family-visit" in page
        assert web.get(f"/cases/{scene.case_id}/family/new").status_code == 403
        assert web.get(f"/cases/{scene.case_id}/family/{family['member']}/edit").status_code == 403
        assert web.post(f"/cases/{scene.case_id}/family/{family['member']}/remove",
                        {"removal_reason": "x", "version": "1"}).status_code == 403
        tracing = web.get(f"/tracing/{family['request']}").get_data(as_text=True)
        assert "Record a tracing action" in tracing
    web = as_user(app, "mission")
    assert web.post(f"/tracing/{family['request']}/actions/new", {
        "kind": "home_visit", "done_on": str(TODAY), "outcome": "lead", "contacted": "Mission staff met a neighbour",
        "place": "Jacmel"}).status_code == 302
    assert web.post(f"/tracing/{family['request']}/visit/new", {
        "visited_on": str(TODAY), "place": "Jacmel", "people_met": "The aunt", "findings": "A safe home.",
        "family_willing": "yes", "safety": "safe", "recommendation": "reunify"}).status_code == 302
    with app.app_context():
        from tests.families.support import user

        visit = db.session.query(FamilyAssessmentVisit).one()
        action = db.session.query(TracingAction).one()
        mission = user("mission")
        # Recorded by the organisation that made it: the receiving mission.
        assert visit.organisation_id == mission.organisation_id and visit.recorded_by_id == mission.id
        assert action.organisation_id == mission.organisation_id


def test_a_case_not_shared_with_the_mission_is_out_of_its_reach(app, scene):
    with app.app_context():
        add(scene.adult_case_id, MOTHER)
    web = as_user(app, "mission")
    assert web.get(f"/cases/{scene.adult_case_id}/family").status_code == 404
    assert web.post(f"/cases/{scene.adult_case_id}/family/visit/new", {}).status_code == 404
