"""Deny by default: every endpoint needs a logged-in user and a declared policy, unless it is on the allowlist.

Security you must remember to add is security someone forgets, so the check runs before every request rather than
as an opt-in decorator: a view without @requires() answers 403 to everyone, and tests/access/test_url_map.py fails.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from casemgmt.access.policies import Action, authorize
from casemgmt.access.roles import TWO_FACTOR_ROLES

# Endpoints anyone may reach without logging in. Keep this list short; each entry is reviewed.
PUBLIC_ENDPOINTS = frozenset({
    "static",             # CSS, JS and images of the application itself
    "bootstrap.static",   # Bootstrap served from the bootstrap-flask package, never from a CDN
    "auth.login",
    "auth.enrol",         # the single-use enrolment or reset link: the token in the URL is the credential
    "i18n.set_language",  # the login page has a language switcher
    "health.check",       # load balancers; answers "ok" and nothing else
    "health.ready",       # load balancers; answers "ready" or "not ready", reasons only to local callers
})

# Endpoints a logged-in user who still has to enrol in two-factor login may reach.
ENROLMENT_ENDPOINTS = frozenset({"auth.totp_enrol", "auth.logout", "i18n.set_language"})


def requires(action: Action) -> Callable:
    """Declare the coarse policy of a view. Object-level checks happen in the operation the view calls."""

    def mark(view: Callable) -> Callable:
        view.required_action = action
        return view

    return mark


def must_enrol_2fa(user) -> bool:
    return (
        current_app.config["SETTINGS"].require_2fa
        and user.role_enum in TWO_FACTOR_ROLES
        and not user.has_totp
    )


def enforce():
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if endpoint not in ENROLMENT_ENDPOINTS and must_enrol_2fa(current_user):
        return redirect(url_for("auth.totp_enrol"))
    view = current_app.view_functions.get(endpoint)
    action = getattr(view, "required_action", None)
    if action is None:
        raise Forbidden()
    authorize(current_user, action)
    return None


def init_app(app: Flask) -> None:
    app.before_request(enforce)
