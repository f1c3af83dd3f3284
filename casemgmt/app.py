"""create_app(): the table of contents of the application."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from casemgmt import assets, errors, headers, i18n, navigation, ratelimits
from casemgmt.access import guard
from casemgmt.audit import anchor as audit_anchor
from casemgmt.auth import passwords
from casemgmt.core import converters, creole, params
from casemgmt.crypto.keyring import EXTENSION_KEY, KeyRing
from casemgmt.database import configure_engine
from casemgmt.extensions import babel, bootstrap, csrf, db, login_manager, migrate
from casemgmt.settings import Settings, load_settings


def create_app(overrides: Mapping[str, object] | None = None, settings: Settings | None = None) -> Flask:
    settings = settings or load_settings(overrides=overrides)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    _configure(app, settings)
    _init_extensions(app, settings)
    converters.init_app(app)  # before the blueprints add their <int:...> rules
    _register_blueprints(app)
    ratelimits.init_app(app, settings)  # after the blueprints: limits are applied by endpoint name
    params.init_app(app)  # before the guard: a malformed query string is refused first
    guard.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    navigation.init_app(app)
    assets.init_app(app)
    audit_anchor.init_app(app)
    _register_cli(app)
    return app


def _configure(app: Flask, settings: Settings) -> None:
    production = settings.is_production
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        # hide_parameters: a database error's message goes to the log under the page's reference, and its bound
        # parameters would carry names, usernames and search terms there (ASVS 7.1.1).
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": True},
        TESTING=settings.env == "testing",
        DEBUG=False,
        # In production the __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and for
        # path /, so a sibling subdomain cannot plant or overwrite it.
        SESSION_COOKIE_NAME="__Host-casemgmt_session" if production else "casemgmt_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_absolute_hours),
        # Document uploads are the largest requests; the upload view enforces the exact file limit itself.
        MAX_CONTENT_LENGTH=settings.document_max_bytes + 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which has its own timeouts
        WTF_CSRF_SSL_STRICT=production,
        BOOTSTRAP_SERVE_LOCAL=True,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES="translations",
    )
    if settings.trusted_proxies:
        # Behind that many reverse proxies, the client's address is the one they append to X-Forwarded-For (the
        # rate limits count per address); with 0, the connection's own address, which a client cannot forge.
        # The scheme is gunicorn's business (forwarded_allow_ips in config/gunicorn.conf.py), so x_proto stays off.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=0, x_host=0, x_port=0,
                                x_prefix=0)
    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _init_extensions(app: Flask, settings: Settings) -> None:
    app.extensions[EXTENSION_KEY] = KeyRing(settings.root_keys)
    passwords.init_app(app, settings)  # the hasher, and the dummy hash that evens out failed logins
    db.init_app(app)
    configure_engine(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # sessions are server-side rows; see auth.sessions
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    creole.install()  # CLDR has no Haitian Creole month names: Babel would write "2026 M11 29"
    bootstrap.init_app(app)
    # Import the models so that the metadata (and Flask-Migrate's autogenerate) sees every table.
    from casemgmt import models  # noqa: F401
    from casemgmt.auth import sessions  # noqa: F401  (registers the user loader)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    from casemgmt.admin.views import bp as admin_bp
    from casemgmt.audit.views import bp as audit_bp
    from casemgmt.auth.views import bp as auth_bp
    from casemgmt.cases.views import bp as cases_bp
    from casemgmt.health import bp as health_bp
    from casemgmt.home import bp as home_bp
    from casemgmt.matching.views import bp as matching_bp
    from casemgmt.reports.views import bp as reports_bp

    for bp in (auth_bp, home_bp, cases_bp, admin_bp, audit_bp, health_bp, i18n.bp, reports_bp, matching_bp):
        app.register_blueprint(bp)
    _register_features(app)


def _register_features(app: Flask) -> None:
    """Each journey feature may bring a blueprint (views.bp) and stage guards (guards.py); see core/journey.py."""
    import importlib
    import importlib.util

    from casemgmt.core.journey import FEATURES

    for feature in FEATURES:
        for part in ("guards", "views"):
            name = f"casemgmt.{feature}.{part}"
            if importlib.util.find_spec(name) is None:
                continue
            module = importlib.import_module(name)
            if part == "views":
                app.register_blueprint(module.bp)


def _register_cli(app: Flask) -> None:
    from casemgmt.commands import register

    register(app)
