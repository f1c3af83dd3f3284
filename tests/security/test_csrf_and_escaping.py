"""CSRF (ASVS 4.2.2): a post without a valid token is refused and changes nothing; stored text is escaped (5.3.3)."""

from __future__ import annotations

from sqlalchemy import func, select

from casemgmt.accounts.models import Organisation, UserSession
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import csrf_token_of, events, logged_in, new_web, user_row

NEW = "amber-quarry-whistle-nectar-27"


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_login_without_a_token_is_refused(app, client, world):
    client.get("/login")
    response = client.post("/login", data={"username": "caseworker", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "Reference:" in response.get_data(as_text=True)
    assert _count(UserSession) == 0
    assert not logged_in(client)


def test_posts_without_a_token_change_nothing(app, world):
    web = new_web(app)
    web.login("admin")
    before = user_row("caseworker").password_hash
    client = web.client
    attempts = [
        ("/account/password", {"current": factories.PASSWORD, "new": NEW, "confirm": NEW}),
        (f"/admin/users/{world.caseworker.id}/reset", {"admin_password": factories.PASSWORD}),
        (f"/admin/users/{world.caseworker.id}/disable", {"admin_password": factories.PASSWORD}),
        (f"/admin/users/{world.caseworker.id}/role", {"role": "administrator", "admin_password": factories.PASSWORD}),
        ("/admin/organisations", {"name": "Forged Org", "org_type": "NGO", "country": "PE"}),
        ("/logout", {}),
    ]
    events_before = len(events())
    for url, data in attempts:
        assert client.post(url, data=data).status_code == 400, url
        assert client.post(url, data={**data, "csrf_token": "forged"}).status_code == 400, url
    row = user_row("caseworker")
    assert row.password_hash == before and row.active and row.role == "caseworker"
    assert _count(Organisation) == 3
    assert len(events()) == events_before
    assert logged_in(client)  # the forged logout did not log out


def test_a_token_from_another_session_is_refused(app, world):
    victim = new_web(app)
    victim.login("caseworker")
    attacker = new_web(app)
    attacker.login("caseworkerb")
    foreign = attacker.token("/account/password")
    before = user_row("caseworker").password_hash
    response = victim.client.post("/account/password", data={"current": factories.PASSWORD, "new": NEW,
                                                             "confirm": NEW, "csrf_token": foreign})
    assert response.status_code == 400
    assert user_row("caseworker").password_hash == before


def test_the_pre_login_token_stops_working_after_login(app, client, world):
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    web = new_web(app)
    web.client = client
    web.login("caseworker")
    response = client.post("/account/password", data={"current": factories.PASSWORD, "new": NEW, "confirm": NEW,
                                                      "csrf_token": token})
    assert response.status_code == 400


def test_stored_text_is_escaped(app, world):
    factories.user(world.ngo, "installation_admin", "install")  # organisations are the installation admin's
    web = new_web(app)
    web.login("install")
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = web.post("/admin/organisations", {"name": name, "org_type": "NGO", "country": "PE",
                                                 "contact": "<b>bold</b>"}, token_page="/admin/organisations")
    assert response.status_code == 302
    html = web.get("/admin/organisations").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    world.caseworker.display_name = '<svg onload=alert(1)>'
    db.session.commit()
    html = web.get(f"/admin/users/{world.caseworker.id}").get_data(as_text=True)
    assert "&lt;svg onload=alert(1)&gt;" in html and "<svg onload" not in html
