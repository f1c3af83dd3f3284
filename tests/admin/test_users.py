"""The user administration pages: every change needs the administrator's passphrase again (ASVS 3.7.1)."""

from __future__ import annotations

import base64

import pyotp
import pytest
from sqlalchemy import select

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.auth import passwords
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import events, logged_in, new_web, user_row

NEW = "amber-quarry-whistle-nectar-27"
WRONG = "not-my-own-passphrase-at-all-4"


@pytest.fixture
def admin(app, world):
    web = new_web(app)
    assert web.login("admin").status_code == 302
    return web


def _act(admin, user_id: int, path: str, **data):
    page = f"/admin/users/{user_id}"
    response = admin.post(f"{page}/{path}", data, token_page=page)
    assert response.status_code == 302
    assert response.headers["Location"] == page
    return admin.get(page).get_data(as_text=True)


def test_users_list_shows_every_user_to_the_administrator(admin, world):
    html = admin.get("/admin/users").get_data(as_text=True)
    for username in ("admin", "hotline", "caseworker", "caseworkerb", "supervisor", "caseworker2", "mission"):
        assert f">{username}</a>" in html
    assert "$argon2" not in html


def test_user_page_shows_no_secrets(admin, world):
    html = admin.get(f"/admin/users/{world.caseworker.id}").get_data(as_text=True)
    assert "Caseworker" in html
    assert "$argon2" not in html
    assert admin.get("/admin/users/99999").status_code == 404


def _create(admin, **overrides):
    data = {"username": "newbie", "display_name": "New Person", "organisation_id": "1", "role": "caseworker",
            "password": NEW, "confirm": NEW, "admin_password": factories.PASSWORD}
    data.update(overrides)
    return admin.post("/admin/users/new", data, token_page="/admin/users/new")


def test_create_user_with_the_admins_passphrase(admin, world):
    assert admin.get("/admin/users/new").status_code == 200
    response = _create(admin, organisation_id=str(world.ngo2.id), role="supervisor")
    assert response.status_code == 302
    row = user_row("newbie")
    assert response.headers["Location"] == f"/admin/users/{row.id}"
    assert (row.role, row.organisation_id, row.display_name, row.active) == ("supervisor", world.ngo2.id,
                                                                             "New Person", True)
    assert row.password_hash.startswith("$argon2id$")
    created = events("user.create")
    assert created[-1].object_id == str(row.id) and created[-1].actor_id == world.admin.id
    assert NEW not in created[-1].details
    assert new_web(admin.client.application).login("newbie", NEW).status_code == 302


@pytest.mark.parametrize(("overrides", "message"), [
    ({"admin_password": WRONG}, "Your passphrase is not correct."),
    ({"password": "password1234", "confirm": "password1234"}, "too easy to guess"),
    ({"password": "newbie-newbie-2024", "confirm": "newbie-newbie-2024"}, "too easy to guess"),
    ({"password": "short", "confirm": "short"}, "Use at least 12 characters."),
    ({"confirm": NEW + "x"}, "The two passphrases differ."),
    ({"username": "caseworker"}, "This username is taken."),
    ({"username": "CaseWorker"}, "This username is taken."),
    ({"username": "bad name!"}, "Usernames are 3-64 characters"),
    ({"role": "superuser"}, "Not a valid choice"),
    ({"organisation_id": "999"}, "Not a valid choice"),
])
def test_create_user_refusals_change_nothing(admin, world, overrides, message):
    count = len(list(db.session.scalars(select(User))))
    response = _create(admin, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(list(db.session.scalars(select(User)))) == count
    assert all(e.actor_id is None for e in events("user.create"))  # only the factories' (the system actor)


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


def test_set_role(admin, world):
    html = _act(admin, world.caseworker.id, "role", role="supervisor", admin_password=factories.PASSWORD)
    assert "Role changed." in html
    assert user_row("caseworker").role == "supervisor"
    change = events("user.set_role")[-1]
    assert change.details == '{"from":"caseworker","to":"supervisor"}'


def test_set_role_needs_the_admins_passphrase(admin, world):
    html = _act(admin, world.caseworker.id, "role", role="administrator", admin_password=WRONG)
    assert "Your passphrase is not correct." in html
    html = _act(admin, world.caseworker.id, "role", role="administrator")
    assert "This field is required." in html
    assert user_row("caseworker").role == "caseworker"


def test_set_role_refuses_unknown_roles(admin, world):
    html = _act(admin, world.caseworker.id, "role", role="superuser", admin_password=factories.PASSWORD)
    assert "Not a valid choice" in html
    assert user_row("caseworker").role == "caseworker"


def test_an_admin_cannot_change_their_own_role_or_disable_themselves(admin, world):
    html = _act(admin, world.admin.id, "role", role="caseworker", admin_password=factories.PASSWORD)
    assert "You cannot change your own role." in html
    html = _act(admin, world.admin.id, "disable", admin_password=factories.PASSWORD)
    assert "You cannot disable your own account." in html
    row = user_row("admin")
    assert row.role == "administrator" and row.active
    assert logged_in(admin.client)


def test_reset_passphrase(admin, world, app):
    before_reset = user_row("caseworker").password_changed_at
    for _ in range(6):
        new_web(app).login("caseworker", WRONG)
    assert user_row("caseworker").locked_until is not None
    html = _act(admin, world.caseworker.id, "password", password=NEW, admin_password=factories.PASSWORD)
    assert "Passphrase reset." in html
    row = user_row("caseworker")
    assert passwords.verify_password(row.password_hash, NEW)
    assert row.locked_until is None and row.failed_logins == 0
    assert row.password_changed_at > before_reset
    assert new_web(app).login("caseworker").status_code == 200
    assert new_web(app).login("caseworker", NEW).status_code == 302
    assert NEW not in events("user.reset_password")[-1].details


@pytest.mark.parametrize(("password", "admin_password", "message"), [
    ("password1234", factories.PASSWORD, "too easy to guess"),
    ("caseworker-2024", factories.PASSWORD, "too easy to guess"),
    (NEW, WRONG, "Your passphrase is not correct."),
])
def test_reset_passphrase_refusals(admin, world, password, admin_password, message):
    before = user_row("caseworker").password_hash
    html = _act(admin, world.caseworker.id, "password", password=password, admin_password=admin_password)
    assert message in html
    assert user_row("caseworker").password_hash == before


def test_reset_two_factor(admin, world):
    secret = accounts.begin_totp_enrolment(world.supervisor)
    accounts.confirm_totp_enrolment(world.supervisor, pyotp.TOTP(secret).now(), factories.PASSWORD)
    db.session.commit()
    assert user_row("supervisor").has_totp
    html = _act(admin, world.supervisor.id, "two-factor", admin_password=WRONG)
    assert "Your passphrase is not correct." in html
    assert user_row("supervisor").has_totp
    html = _act(admin, world.supervisor.id, "two-factor", admin_password=factories.PASSWORD)
    assert "Two-factor login reset." in html
    row = user_row("supervisor")
    assert row.totp_secret is None and row.totp_pending is None and row.totp_last_step is None
    assert events("user.reset_2fa")


def test_disable_and_enable(admin, world, app):
    html = _act(admin, world.caseworker.id, "disable", admin_password=WRONG)
    assert user_row("caseworker").active
    html = _act(admin, world.caseworker.id, "disable", admin_password=factories.PASSWORD)
    assert "Account disabled." in html
    assert not user_row("caseworker").active
    assert new_web(app).login("caseworker").status_code == 200
    html = _act(admin, world.caseworker.id, "enable", admin_password=factories.PASSWORD)
    assert "Account enabled." in html
    assert user_row("caseworker").active
    assert new_web(app).login("caseworker").status_code == 302
    assert [e.action for e in events() if e.action in ("user.disable", "user.enable")] == ["user.disable",
                                                                                          "user.enable"]


def test_admin_actions_on_a_missing_user_answer_404(admin, world):
    for path in ("role", "password", "two-factor", "disable", "enable"):
        response = admin.post(f"/admin/users/99999/{path}", {"admin_password": factories.PASSWORD, "role": "caseworker",
                                                              "password": NEW})
        assert response.status_code == 404, path


@pytest.mark.parametrize("username", ["caseworker", "supervisor", "hotline", "mission"])
def test_non_admins_get_403_on_every_admin_action(app, world, username):
    web = new_web(app)
    web.login(username)
    target = world.caseworker_b.id
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{target}", "/admin/organisations", "/admin/keys"):
        assert web.get(url).status_code == 403, url
    for path in ("role", "password", "two-factor", "disable", "enable"):
        response = web.post(f"/admin/users/{target}/{path}", {"admin_password": factories.PASSWORD,
                                                              "role": "administrator", "password": NEW})
        assert response.status_code == 403, path
    response = web.post("/admin/users/new", {"username": "sneaky", "display_name": "S", "organisation_id": "1",
                                             "role": "administrator", "password": NEW, "confirm": NEW,
                                             "admin_password": factories.PASSWORD})
    assert response.status_code == 403
    row = user_row("caseworkerb")
    assert row.role == "caseworker" and row.active
    assert user_row("sneaky") is None
    assert user_row(username).role != "administrator"


def test_keys_page_shows_status_but_no_key_material(admin, app):
    response = admin.get("/admin/keys")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for root in app.config["SETTINGS"].root_keys.values():
        assert base64.b64encode(root).decode() not in html
        assert root.hex() not in html

