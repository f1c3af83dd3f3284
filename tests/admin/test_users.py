"""The user administration pages: every change needs the administrator's passphrase again (ASVS 3.7.1), and no
page takes another person's passphrase (see test_separation_of_duties.py for who may do what)."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.extensions import db
from tests import factories
from tests.admin.support import decide, link_on, pending, set_passphrase
from tests.auth.support import events, logged_in, new_web, user_row

NEW = "amber-quarry-whistle-nectar-27"
WRONG = "not-my-own-passphrase-at-all-4"


def _act(admin, user_id: int, path: str, **data):
    page = f"/admin/users/{user_id}"
    response = admin.post(f"{page}/{path}", data, token_page=page)
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"] == page
    return admin.get(page).get_data(as_text=True)


def test_users_list_shows_the_administrators_own_organisation_only(admin, world):
    html = admin.get("/admin/users").get_data(as_text=True)
    for username in ("admin", "hotline", "caseworker", "caseworkerb", "supervisor"):
        assert f">{username}</a>" in html
    for username in ("caseworker2", "supervisor2", "mission"):
        assert f">{username}</a>" not in html
    assert "$argon2" not in html


def test_the_installation_administrator_sees_every_organisations_accounts(install, world):
    html = install.get("/admin/users").get_data(as_text=True)
    for username in ("admin", "caseworker", "caseworker2", "mission", "install"):
        assert f">{username}</a>" in html


def test_user_page_shows_no_secrets(admin, world):
    html = admin.get(f"/admin/users/{world.caseworker.id}").get_data(as_text=True)
    assert "Caseworker" in html
    assert "$argon2" not in html
    assert admin.get("/admin/users/99999").status_code == 404


def _create(admin, **overrides):
    data = {"username": "newbie", "display_name": "New Person", "role": "caseworker",
            "admin_password": factories.PASSWORD}
    data.update(overrides)
    return admin.post("/admin/users/new", data, token_page="/admin/users/new")


def test_create_user_in_the_own_organisation_waits_for_a_supervisor(admin, world):
    form = admin.get("/admin/users/new").get_data(as_text=True)
    assert 'name="organisation_id"' not in form and 'name="password"' not in form
    response = _create(admin)
    assert response.status_code == 302
    row = user_row("newbie")
    assert response.headers["Location"] == f"/admin/users/{row.id}"
    assert (row.role, row.organisation_id, row.display_name) == ("caseworker", world.ngo.id, "New Person")
    assert row.password_hash.startswith("$argon2id$")  # a random passphrase nobody knows
    created = events("user.create")[-1]
    assert created.object_id == str(row.id) and created.actor_id == world.admin.id
    assert created.subject_organisation_id == world.ngo.id
    assert pending(row.id).kind == "create"
    assert "waits for a supervisor" in admin.get(f"/admin/users/{row.id}").get_data(as_text=True)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"admin_password": WRONG}, "Your passphrase is not correct."),
    ({"username": "caseworker"}, "This username is taken."),
    ({"username": "CaseWorker"}, "This username is taken."),
    ({"username": "bad name!"}, "Usernames are 3-64 characters"),
    ({"role": "superuser"}, "Not a valid choice"),
    ({"role": "administrator"}, "Not a valid choice"),
    ({"role": "installation_admin"}, "Not a valid choice"),
])
def test_create_user_refusals_change_nothing(admin, world, overrides, message):
    count = len(list(db.session.scalars(select(User))))
    response = _create(admin, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(list(db.session.scalars(select(User)))) == count
    assert all(e.actor_id is None for e in events("user.create"))  # only the factories' (the system actor)


def test_the_installation_administrator_creates_an_administrator_who_enrols_through_the_link(app, install, world):
    form = install.get("/admin/users/new").get_data(as_text=True)
    assert 'name="organisation_id"' in form
    response = _create(install, username="newadmin", role="administrator", organisation_id=str(world.ngo2.id))
    assert response.status_code == 200
    path = link_on(response)
    row = user_row("newadmin")
    assert (row.role, row.organisation_id) == ("administrator", world.ngo2.id)
    assert new_web(app).login("newadmin", NEW).status_code == 200  # no passphrase until the person sets one
    enrolled, web = set_passphrase(app, path, NEW)
    assert enrolled.status_code == 302 and logged_in(web.client)
    assert new_web(app).login("newadmin", NEW).status_code == 302
    assert NEW not in "".join(e.details for e in events())


def test_a_wrong_admin_passphrase_is_audited(admin, world):
    _create(admin, admin_password=WRONG)
    failures = events("reauth.failure")
    assert len(failures) == 1 and failures[0].actor_id == world.admin.id
    assert WRONG not in failures[0].details


def test_re_authentication_is_throttled_like_login(admin, world):
    """A stolen administrator session must not become a way to guess the administrator's passphrase."""
    for _ in range(6):
        _act(admin, world.caseworker.id, "disable", admin_password=WRONG)
    row = user_row("admin")
    assert row.locked_until is not None
    assert len(events("login.locked")) == 1
    html = _act(admin, world.caseworker.id, "disable", admin_password=factories.PASSWORD)
    assert "Your passphrase is not correct." in html
    assert user_row("caseworker").active
    assert events("login.throttled")


def test_set_role_waits_for_a_supervisor(app, admin, world):
    html = _act(admin, world.caseworker.id, "role", role="supervisor", admin_password=factories.PASSWORD)
    assert "waits for a supervisor" in html
    assert user_row("caseworker").role == "caseworker"
    assert decide(app, "supervisor", pending(world.caseworker.id).id).status_code == 302
    assert user_row("caseworker").role == "supervisor"
    approved = events("account_request.approve")[-1]
    assert json.loads(approved.details) == {"from": "caseworker", "kind": "role", "to": "supervisor",
                                            "user_id": world.caseworker.id}


def test_set_role_needs_the_admins_passphrase(admin, world):
    html = _act(admin, world.caseworker.id, "role", role="supervisor", admin_password=WRONG)
    assert "Your passphrase is not correct." in html
    html = _act(admin, world.caseworker.id, "role", role="supervisor")
    assert "This field is required." in html
    assert pending(world.caseworker.id) is None


@pytest.mark.parametrize("role", ["superuser", "administrator", "installation_admin"])
def test_set_role_refuses_roles_the_administrator_cannot_give(admin, world, role):
    html = _act(admin, world.caseworker.id, "role", role=role, admin_password=factories.PASSWORD)
    assert "Not a valid choice" in html
    assert user_row("caseworker").role == "caseworker" and pending(world.caseworker.id) is None


def test_an_admin_cannot_change_their_own_role_or_disable_themselves(admin, world):
    page = admin.get(f"/admin/users/{world.admin.id}").get_data(as_text=True)
    assert "Change role" not in page and "Disable account" not in page  # never offer what will be refused
    for path, data in (("role", {"role": "caseworker"}), ("disable", {})):
        response = admin.post(f"/admin/users/{world.admin.id}/{path}",
                              {"admin_password": factories.PASSWORD, **data}, token_page="/admin/users")
        assert response.status_code == 403
    row = user_row("admin")
    assert row.role == "administrator" and row.active
    assert logged_in(admin.client)


def test_reset_passphrase_through_a_supervisor_and_a_reset_link(admin, world, app):
    before_reset = user_row("caseworker").password_changed_at
    for _ in range(6):
        new_web(app).login("caseworker", WRONG)
    assert user_row("caseworker").locked_until is not None
    html = _act(admin, world.caseworker.id, "reset", admin_password=factories.PASSWORD)
    assert "waits for a supervisor" in html
    response = decide(app, "supervisor", pending(world.caseworker.id).id)
    assert response.status_code == 200
    path = link_on(response)
    row = user_row("caseworker")
    assert row.locked_until is None and row.failed_logins == 0
    assert row.password_changed_at > before_reset
    assert new_web(app).login("caseworker").status_code == 200  # the old passphrase stopped working
    assert set_passphrase(app, path, NEW)[0].status_code == 302
    assert new_web(app).login("caseworker", NEW).status_code == 302
    assert NEW not in "".join(e.details for e in events())


def test_reset_refusals(admin, world):
    html = _act(admin, world.caseworker.id, "reset", admin_password=WRONG)
    assert "Your passphrase is not correct." in html
    assert pending(world.caseworker.id) is None


def test_disable_and_enable(admin, world, app):
    _act(admin, world.caseworker.id, "disable", admin_password=WRONG)
    assert user_row("caseworker").active
    html = _act(admin, world.caseworker.id, "disable", admin_password=factories.PASSWORD)
    assert "Account disabled." in html
    assert not user_row("caseworker").active
    assert new_web(app).login("caseworker").status_code == 200
    html = _act(admin, world.caseworker.id, "enable", admin_password=factories.PASSWORD)
    assert "Account enabled." in html
    assert user_row("caseworker").active
    assert new_web(app).login("caseworker").status_code == 302
    changes = [e for e in events() if e.action in ("user.disable", "user.enable")]
    assert [e.action for e in changes] == ["user.disable", "user.enable"]
    assert {e.subject_organisation_id for e in changes} == {world.ngo.id}


def test_admin_actions_on_a_missing_user_answer_404(admin, world):
    for path in ("role", "reset", "disable", "enable", "export-grant"):
        response = admin.post(f"/admin/users/99999/{path}", {"admin_password": factories.PASSWORD,
                                                              "role": "caseworker"})
        assert response.status_code == 404, path


@pytest.mark.parametrize("username", ["caseworker", "supervisor", "hotline", "mission"])
def test_non_admins_get_403_on_every_admin_action(app, world, username):
    web = new_web(app)
    web.login(username)
    target = world.caseworker_b.id
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{target}", "/admin/organisations", "/admin/keys"):
        assert web.get(url).status_code == 403, url
    for path in ("role", "reset", "disable", "enable"):
        response = web.post(f"/admin/users/{target}/{path}", {"admin_password": factories.PASSWORD,
                                                              "role": "administrator"})
        assert response.status_code == 403, path
    response = web.post("/admin/users/new", {"username": "sneaky", "display_name": "S", "organisation_id": "1",
                                             "role": "administrator", "admin_password": factories.PASSWORD})
    assert response.status_code == 403
    row = user_row("caseworkerb")
    assert row.role == "caseworker" and row.active
    assert user_row("sneaky") is None
    assert user_row(username).role != "administrator"


def test_keys_page_is_the_installation_administrators_and_shows_no_key_material(admin, install, app):
    assert admin.get("/admin/keys").status_code == 403
    response = install.get("/admin/keys")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for root in app.config["SETTINGS"].root_keys.values():
        assert base64.b64encode(root).decode() not in html
        assert root.hex() not in html
