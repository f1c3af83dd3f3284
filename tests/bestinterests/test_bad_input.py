"""Bad input on every form: 422 with the form kept and the field named, nothing written, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casemgmt.bestinterests.models import (
    BestInterestsAssessment,
    BestInterestsDetermination,
    CareArrangement,
    Guardian,
    PanelMember,
)
from casemgmt.extensions import db
from tests.bestinterests.support import DAYS, TODAY, child_case, convene

FUTURE = str(TODAY + 5 * DAYS)

CASES = [
    ("assessments/new", {"assessed_on": "", "child_views": "x"}, "assessed_on"),
    ("assessments/new", {"assessed_on": FUTURE, "child_views": "x"}, "This date is in the future."),
    ("assessments/new", {"assessed_on": str(TODAY), "child_views": "  "}, "Write at least one part"),
    ("assessments/new", {"assessed_on": "31/02/2026", "child_views": "x"}, "Not a valid date value"),
    ("assessments/new", {"assessed_on": str(TODAY), "child_views": "x" * 10001}, "child_views"),
    ("determinations/new", {"decision": "return", "recommendation": "return_to_family", "reasons": "",
                            "panel": ["{cw}", "{sup}"]}, "reasons"),
    ("determinations/new", {"decision": "return", "recommendation": "return_to_family", "reasons": "r",
                            "panel": ["{cw}"]}, "Name at least 2 different people"),
    ("determinations/new", {"decision": "return", "recommendation": "maybe", "reasons": "r",
                            "panel": ["{cw}", "{sup}"]}, "Not a valid choice"),
    ("determinations/new", {"decision": "return", "recommendation": "return_to_family", "reasons": "r",
                            "panel": ["{cw}", "abc"]}, "panel"),
    ("determinations/new", {"decision": "return", "recommendation": "return_to_family", "reasons": "r",
                            "panel": ["{cw}", "{other}"]}, "is not a valid choice"),
    ("determinations/new", {"decision": "return", "recommendation": "return_to_family", "reasons": "r",
                            "assessment_id": "nope", "panel": ["{cw}", "{sup}"]}, "Not a valid choice"),
    ("guardians/new", {"kind": "", "name": "A", "started_on": str(TODAY)}, "kind"),
    ("guardians/new", {"kind": "parent", "name": "", "started_on": str(TODAY)}, "Name the guardian"),
    ("guardians/new", {"kind": "parent", "name": "A", "started_on": str(TODAY),
                       "ended_on": str(TODAY - DAYS)}, "cannot be before the start date"),
    ("guardians/new", {"kind": "parent", "name": "A", "started_on": str(TODAY),
                       "family_member_id": "not-a-member"}, "Not a valid choice"),
    ("care/new", {"kind": "hotel", "carer": "A", "started_on": str(TODAY)}, "Not a valid choice"),
    ("care/new", {"kind": "foster", "carer": "A", "started_on": ""}, "started_on"),
    ("care/new", {"kind": "foster", "carer": "", "started_on": str(TODAY)}, "Say who cares for the child"),
]


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in (
        BestInterestsAssessment, BestInterestsDetermination, PanelMember, Guardian, CareArrangement))


@pytest.mark.parametrize(("path", "data", "named"), CASES)
def test_every_form_refuses_bad_input_with_a_422(app, web, w, path, data, named):
    with app.app_context():
        case = child_case(w)
        convene(w, case)
        case_id, before = case.id, _counts()
    ids = {"{cw}": str(w.caseworker.id), "{sup}": str(w.supervisor.id), "{other}": str(w.caseworker2.id)}
    data = {k: [ids.get(x, x) for x in v] if isinstance(v, list) else v for k, v in data.items()}
    web.login("caseworker")
    response = web.post(f"/cases/{case_id}/best-interests/{path}", data)
    assert response.status_code == 422, response.status_code
    assert named in response.get_data(as_text=True)
    with app.app_context():
        assert _counts() == before


def test_the_signature_and_the_ends_refuse_bad_input(app, web, w):
    with app.app_context():
        case = child_case(w)
        made = convene(w, case)
        case_id, bid = case.id, made.id
    web.login("caseworker")
    for data in ({}, {"vote": "maybe"}, {"vote": "dissent", "dissent_reason": ""}):
        response = web.post(f"/best-interests/determinations/{bid}/sign", data)
        assert response.status_code == 422 and 'name="vote"' in response.get_data(as_text=True)
    web.post(f"/cases/{case_id}/best-interests/guardians/new", {"kind": "parent", "name": "A",
                                                                  "started_on": str(TODAY)})
    with app.app_context():
        guardian_id = db.session.scalar(select(Guardian.id))
    for value in ("", "not a date", FUTURE):
        response = web.post(f"/cases/{case_id}/best-interests/guardians/{guardian_id}/end", {"ended_on": value})
        assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Guardian, guardian_id).ended_on is None
        assert {m.vote for m in db.session.get(BestInterestsDetermination, bid).panel} == {"pending"}
