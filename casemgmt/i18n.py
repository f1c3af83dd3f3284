"""Locale selection and the language switcher."""

from __future__ import annotations

from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for
from flask_login import current_user

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


@bp.post("/language")
def set_language():
    language = request.form.get("language", "")
    if language in available():
        session["language"] = language
        if current_user.is_authenticated:
            current_user.language = language
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
