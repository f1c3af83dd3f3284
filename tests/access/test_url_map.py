"""Deny by default (ASVS 4.1.1, 4.1.3, 4.1.5): every route declares a policy, anonymous users are sent to log in, a
route without a policy answers 403, and an error inside a policy denies."""

from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from casemgmt.access import Action, allowed
from casemgmt.access.guard import ENROLMENT_ENDPOINTS, PUBLIC_ENDPOINTS, requires
from casemgmt.access.policies import POLICIES
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import csrf_token_of, dummy_url, events, new_web, rules
from tests.conftest import make_test_app

EXPECTED_PUBLIC = {"static", "bootstrap.static", "auth.login", "auth.enrol", "i18n.set_language", "health.check",
                   "health.ready"}


def test_every_endpoint_declares_a_policy_or_is_on_the_public_allowlist(app):
    missing = []
    for endpoint, view in app.view_functions.items():
        action = getattr(view, "required_action", None)
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        if action is None:
            missing.append(endpoint)
        else:
            assert isinstance(action, Action), endpoint
            assert action in POLICIES, f"{endpoint}: no policy for {action}"
    assert missing == [], f"endpoints without @requires(...): {missing}"
    for rule in app.url_map.iter_rules():
        assert rule.endpoint in app.view_functions


def test_the_public_allowlist_is_short_and_reviewed(app):
    assert set(PUBLIC_ENDPOINTS) == EXPECTED_PUBLIC
    assert set(ENROLMENT_ENDPOINTS) <= {e for e in app.view_functions}
    # No public endpoint carries a policy by mistake (which would suggest it was meant to be protected).
    for endpoint in PUBLIC_ENDPOINTS & set(app.view_functions):
        assert getattr(app.view_functions[endpoint], "required_action", None) is None, endpoint


def test_every_action_has_exactly_one_policy():
    assert set(POLICIES) == set(Action)


def test_anonymous_get_to_every_protected_page_redirects_to_login(app, client):
    urls = [dummy_url(app, r) for r in rules(app, "GET") if r.endpoint not in PUBLIC_ENDPOINTS]
    assert len(urls) >= 10
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url


def test_anonymous_post_to_every_protected_form_redirects_to_login_and_changes_nothing(app, client):
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    posts = [r for r in rules(app, "POST") if r.endpoint not in PUBLIC_ENDPOINTS]
    assert len(posts) >= 8
    for rule in posts:
        url = dummy_url(app, rule)
        response = client.post(url, data={"csrf_token": token, "name": "Sneaky", "org_type": "NGO", "country": "PE"})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url
    with app.app_context():
        assert events() == []


def test_public_endpoints_answer_without_login(app, client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    assert client.get("/static/app.css").status_code == 200


def test_a_route_without_a_policy_answers_403_to_everyone(tmp_path):
    """The guard, not the view, enforces: a new view someone forgot to decorate is closed, not open."""
    other = make_test_app(tmp_path, None)

    @other.get("/forgotten")
    def forgotten():
        return "secret"

    @other.get("/declared")
    @requires(Action.HOME)
    def declared():
        return "fine"

    with other.app_context():
        db.create_all()
    with other.test_request_context():
        admin = factories.user(factories.organisation("Org"), "administrator", "boss")
        assert admin.id
    web = new_web(other)
    assert web.client.get("/forgotten").status_code == 302  # anonymous: log in first
    web.login("boss")
    response = web.get("/forgotten")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)
    assert web.get("/declared").get_data(as_text=True) == "fine"
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_anonymous_and_unknown_roles_are_allowed_nothing(ctx, world):
    anonymous = AnonymousUserMixin()
    world.caseworker.role = "superuser"
    for action in Action:
        assert not allowed(anonymous, action), action
        assert not allowed(None, action), action
        # An unrecognised role keeps only its own account (so the person can still log out).
        expected = action in (Action.ACCOUNT_SELF, Action.HOME)
        assert allowed(world.caseworker, action) is expected, action
    db.session.rollback()


def test_an_action_missing_from_the_policy_table_denies(ctx, world, monkeypatch):
    monkeypatch.delitem(POLICIES, Action.HOME)
    assert not allowed(world.supervisor, Action.HOME)
    assert not allowed(world.supervisor, "no.such.action")


def _boom(user, obj=None):
    raise RuntimeError("policy bug")


def test_an_exception_inside_a_policy_denies(ctx, world, cases, monkeypatch):
    assert allowed(world.supervisor, Action.CASE_VIEW, cases.by_caseworker)
    monkeypatch.setitem(POLICIES, Action.CASE_VIEW, _boom)
    assert not allowed(world.supervisor, Action.CASE_VIEW, cases.by_caseworker)
    assert not allowed(world.supervisor, Action.CASE_VIEW)


@pytest.mark.parametrize("action", [Action.CASE_VIEW, Action.CASE_LIST, Action.HOME])
def test_an_exception_inside_a_policy_denies_the_page_and_is_audited(app, web, world, cases, monkeypatch, action):
    web.login("supervisor")
    url = {Action.CASE_VIEW: f"/cases/{cases.by_caseworker.id}", Action.CASE_LIST: "/cases/", Action.HOME: "/"}[action]
    assert web.get(url).status_code in (200, 302)
    monkeypatch.setitem(POLICIES, action, _boom)
    response = web.get(url)
    assert response.status_code == 403
    assert "policy bug" not in response.get_data(as_text=True)
    denied = events("access.denied")
    assert denied and denied[-1].details == f'{{"action":"{action.value}"}}'
