"""Need-to-know: the stay is the case's organisation's. Another organisation's case answers 404; the hotline, the
finance officer and a caseworker not on the case are refused; so is the receiving organisation of a referral (the
stay is not in the referral scope)."""

from __future__ import annotations

import pytest

from casemgmt.extensions import db
from casemgmt.residence import operations
from tests import factories
from tests.conftest import Web, new_client
from tests.residence.support import family_member, t_visa


def _setup(app, w):
    with app.app_context():
        case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
        status = t_visa(w.caseworker, case)
        made = operations.open_reunification(w.caseworker, case)
        family_member(case)
        factories.accepted_referral(case, w.mission_org, w.mission)
        factories.user(db.session.get(type(w.ngo), w.ngo.id), "finance_officer", "finance")
        db.session.commit()
        return case.id, status.id, made.id


def _urls(case_id, status_id, reunification_id):
    return {
        "get": [f"/cases/{case_id}/stay", f"/cases/{case_id}/stay/status/new",
                f"/cases/{case_id}/stay/status/{status_id}/edit", f"/cases/{case_id}/stay/reunification/new",
                f"/reunifications/{reunification_id}", f"/reunifications/{reunification_id}/services/new"],
        "post": [f"/cases/{case_id}/stay/status/new", f"/reunifications/{reunification_id}/members",
                 f"/reunifications/{reunification_id}/cancel"],
    }


def _as(app, username) -> Web:
    web = Web(new_client(app))
    web.login(username)
    return web


@pytest.mark.parametrize(("username", "expected"), [
    ("caseworker2", 404),   # another organisation
    ("supervisor2", 404),
    ("mission", 403),       # the receiving organisation of an accepted referral: not in the referral scope
    ("hotline", 403),
    ("finance", 403),
    ("caseworkerb", 403),   # a caseworker of the organisation not on the case
])
def test_who_may_not_see_or_change_the_stay(app, w, username, expected):
    urls = _urls(*_setup(app, w))
    web = _as(app, username)
    for url in urls["get"]:
        assert web.get(url).status_code == expected, url
    for url in urls["post"]:
        assert web.post(url, {"cancellation_reason": "x", "family_member_id": "x"}).status_code == expected, url
    if username == "mission":
        # The receiving organisation opens the case through its referral, without the stay tab.
        case_page = web.get(urls["get"][0].rsplit("/", 1)[0])
        assert case_page.status_code == 200 and "/stay" not in case_page.get_data(as_text=True)


def test_the_case_worker_and_the_supervisor_may(app, w):
    urls = _urls(*_setup(app, w))
    for username in ("caseworker", "supervisor"):
        web = _as(app, username)
        for url in urls["get"]:
            assert web.get(url).status_code == 200, (username, url)
