"""The identified-export grant: given by an administrator (page or CLI) to supervisors only, audited."""

from __future__ import annotations

import json

import pytest

from casemgmt.access import Action, allowed
from tests import factories
from tests.admin.support import decide, pending
from tests.auth.support import events, new_web, user_row
from tests.cli.support import make_world, run_cli


@pytest.fixture
def admin(app, world):
    web = new_web(app)
    assert web.login("admin").status_code == 302
    return web


def _grant(admin, user_id: int, grant: str, password: str = factories.PASSWORD) -> str:
    page = f"/admin/users/{user_id}"
    response = admin.post(f"{page}/export-grant", {"grant": grant, "admin_password": password}, token_page=page)
    assert response.status_code == 302
    return admin.get(page).get_data(as_text=True)


def test_administrator_allows_and_stops_identified_exports_for_a_supervisor(admin, world):
    assert not allowed(user_row("supervisor"), Action.EXPORT_IDENTIFIED)
    html = _grant(admin, world.supervisor.id, "1")
    assert "Identified exports allowed." in html
    supervisor = user_row("supervisor")
    assert supervisor.may_export_identified and allowed(supervisor, Action.EXPORT_IDENTIFIED)
    html = _grant(admin, world.supervisor.id, "0")
    assert "Identified exports no longer allowed." in html
    assert not user_row("supervisor").may_export_identified
    assert [json.loads(e.details) for e in events("user.export_grant")] == [{"granted": True}, {"granted": False}]


def test_the_grant_needs_the_administrators_passphrase(admin, world):
    html = _grant(admin, world.supervisor.id, "1", password="not-my-own-passphrase-at-all-4")
    assert "Your passphrase is not correct." in html
    assert not user_row("supervisor").may_export_identified
    assert events("user.export_grant") == []


def test_only_supervisors_can_hold_the_grant(admin, world):
    html = _grant(admin, world.caseworker.id, "1")
    assert "Only supervisors can be allowed to export identified data." in html
    assert not user_row("caseworker").may_export_identified
    # The page offers the grant only where it can be given.
    assert "Allow identified exports" not in admin.get(f"/admin/users/{world.caseworker.id}").get_data(as_text=True)


def test_a_role_change_takes_the_grant_away(app, admin, world):
    _grant(admin, world.supervisor.id, "1")
    factories.user(world.ngo, "supervisor", "supervisorb")
    page = f"/admin/users/{world.supervisor.id}"
    admin.post(f"{page}/role", {"role": "caseworker", "admin_password": factories.PASSWORD}, token_page=page)
    # A role change into a case-reading role waits for another supervisor; until then nothing changes.
    assert user_row("supervisor").may_export_identified
    assert decide(app, "supervisorb", pending(world.supervisor.id).id).status_code == 302
    row = user_row("supervisor")
    assert row.role == "caseworker" and not row.may_export_identified


def test_a_supervisor_cannot_give_themselves_the_grant(app, world):
    web = new_web(app)
    web.login("supervisor")
    page = f"/admin/users/{world.supervisor.id}"
    assert web.get(page).status_code == 403
    assert web.post(f"{page}/export-grant", {"grant": "1", "admin_password": factories.PASSWORD},
                    token_page="/").status_code == 403
    assert not user_row("supervisor").may_export_identified


def test_cli_export_grant(app):
    make_world(app)
    result = run_cli(app, ["users", "export-grant", "supervisor"])
    assert result.exit_code == 0, result.output
    assert "user supervisor may export identified data" in result.output
    result = run_cli(app, ["users", "export-grant", "caseworker"])
    assert result.exit_code != 0 and "Only supervisors" in result.output
    result = run_cli(app, ["users", "export-grant", "supervisor", "--revoke"])
    assert result.exit_code == 0 and "may no longer" in result.output
    with app.app_context():
        assert not user_row("supervisor").may_export_identified
        assert [json.loads(e.details) for e in events("user.export_grant")] == [{"granted": True}, {"granted": False}]
