"""Who may read the audit trail: /audit/ (supervisors and administrators: their own organisation only) and a case's
access log."""

from __future__ import annotations

import pytest

from tests import factories
from tests.audit.pages import accounts, events_listed, kinds
from tests.cli.support import make_world, request, user
from tests.conftest import Web


def browser(app, username: str) -> Web:
    client = Web(app.test_client())
    assert client.login(username).status_code == 302
    return client


def actors_listed(html: str) -> set[str]:
    return set(accounts(html))


@pytest.fixture
def activity(app):
    """Events by users of both NGOs and by the system (the world's set-up), plus two viewed cases."""
    make_world(app)
    with request(app):
        own = factories.case(user("caseworker"))
        other_org = factories.case(user("caseworker2"))
        neighbour = factories.case(user("caseworkerb"))
        ids = {"own": own.id, "own_ref": own.reference, "other_org": other_org.id, "neighbour": neighbour.id}
    browser(app, "caseworker").get(f"/cases/{ids['own']}")
    browser(app, "caseworkerb").get(f"/cases/{ids['neighbour']}")
    browser(app, "caseworker2").get(f"/cases/{ids['other_org']}")
    return ids


def test_supervisor_sees_only_their_organisations_events(app, activity):
    response = browser(app, "supervisor").get("/audit/")
    assert response.status_code == 200
    actors = actors_listed(response.get_data(as_text=True))
    assert {"caseworker", "caseworkerb", "supervisor"} <= actors
    # "system" appears for the accounts it created in this organisation (events about it); the exact set is pinned in
    # test_denials_visible.py.
    assert not actors & {"caseworker2", "supervisor2", "mission"}

    other = actors_listed(browser(app, "supervisor2").get("/audit/").get_data(as_text=True))
    assert "caseworker2" in other and not other & {"caseworker", "caseworkerb", "supervisor"}


def test_admin_sees_only_their_organisations_events_and_can_filter(app, activity):
    admin = browser(app, "admin")
    html = admin.get("/audit/").get_data(as_text=True)
    assert {"caseworker", "caseworkerb", "admin"} <= actors_listed(html)
    # Another organisation's staff and what they did are not an administrator's business.
    assert not actors_listed(html) & {"caseworker2", "supervisor2", "mission"}
    filtered = admin.get("/audit/?action=case.create").get_data(as_text=True)
    assert actors_listed(filtered) == {"caseworker", "caseworkerb"}
    assert kinds(filtered) == ["case.create"] * 2


def test_other_roles_may_not_read_the_audit_trail(app, activity):
    for username in ("caseworker", "hotline", "mission"):
        assert browser(app, username).get("/audit/").status_code == 403, username


def test_access_log_lists_who_saw_the_case(app, activity):
    supervisor = browser(app, "supervisor")
    supervisor.get(f"/cases/{activity['own']}")
    response = supervisor.get(f"/cases/{activity['own']}/access-log")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Who has seen case {activity['own_ref']}" in html
    rows = [(e["Account"], e["Kind"]) for e in events_listed(html)]
    assert sorted(rows) == sorted([
        ("supervisor", "case.view"),
        ("caseworker", "case.view"),
        ("caseworker", "case.create"),
    ])
    assert "caseworkerb" not in html and "caseworker2" not in html  # other cases' viewers


def test_access_log_is_for_the_cases_own_supervisor_only(app, activity):
    url = f"/cases/{activity['own']}/access-log"
    assert browser(app, "caseworker").get(url).status_code == 403  # even for the case's own caseworker
    assert browser(app, "admin").get(url).status_code == 403
    assert browser(app, "supervisor2").get(url).status_code == 404  # another organisation: not disclosed
    assert browser(app, "supervisor").get("/cases/not-a-case/access-log").status_code == 404
