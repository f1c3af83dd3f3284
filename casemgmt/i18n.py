"""Locale and time zone selection, the formatting of dates and times for pages, and the language switcher."""

from __future__ import annotations

from datetime import date, datetime

import flask_babel
from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import current_user

from casemgmt.core import zones
from casemgmt.core.redirects import safe_next
from casemgmt.extensions import db

bp = Blueprint("i18n", __name__)

LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français", "ht": "Kreyòl ayisyen", "pt": "Português"}


def available() -> tuple[str, ...]:
    return current_app.config["SETTINGS"].languages


def select_locale() -> str:
    if not has_request_context():
        return "en"  # CLI commands speak to operators in English
    chosen = session.get("language")
    if chosen in available():
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in available():
        return current_user.language
    return request.accept_languages.best_match(available()) or "en"


def select_timezone() -> str:
    """Flask-Babel's zone for this request: the user's organisation's (casemgmt/core/zones.py)."""
    return zones.current_zone().key


def format_datetime(moment: datetime | None, format: str | None = None) -> str:
    """A stored moment (naive UTC) in the organisation's zone, labelled with the zone: "Mar 5, 2026, 9:00:00 AM
    (America/Lima)". Every time a page shows goes through here, so none can be read as another zone's."""
    if moment is None:
        return ""
    tz = zones.current_zone()
    shown = flask_babel.format_datetime(zones.to_local(moment, tz), format, rebase=False)
    return gettext("%(time)s (%(zone)s)", time=shown, zone=zones.label(tz))


def format_date(value: date | datetime | None, format: str | None = None) -> str:
    """A day. A moment (datetime, naive UTC) shows the day it falls on in the organisation's zone: 02:30 UTC on
    the 5th is still the 4th in Lima. A date is a day already and is shown as it is."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = zones.local_date(value)
    return flask_babel.format_date(value, format)


@bp.post("/language")
def set_language():
    language = request.form.get("language", "")
    if language in available():
        session["language"] = language
        if current_user.is_authenticated:
            current_user.language = language
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
