"""Friendly error pages that show a reference id and nothing internal (ASVS 7.4.1)."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from casemgmt.audit import record_event
from casemgmt.crypto.aead import DecryptionError  # the base class: a tampered TOTP secret raises it too
from casemgmt.extensions import db

log = logging.getLogger(__name__)


def _reference() -> str:
    return uuid.uuid4().hex[:12]


def _render(status: int, reference: str, template: str = "errors/error.html"):
    return render_template(template, status=status, reference=reference), status


def handle_http(exc: HTTPException):
    reference = _reference()
    if exc.code is None or exc.code >= 500:
        log.error("HTTP %s, reference %s", exc.code, reference)
    body, status = _render(exc.code or 500, reference)
    # A 405 must say which methods are allowed (RFC 9110 15.5.6); the friendly page would drop the header.
    allow = [(name, value) for name, value in exc.get_headers() if name.lower() == "allow"]
    return body, status, allow


def handle_csrf(exc: CSRFError):
    reference = _reference()
    log.info("CSRF check failed (%s), reference %s", exc.description, reference)
    return render_template("errors/csrf.html", reference=reference), 400


def handle_decryption(exc: DecryptionError):
    """A ciphertext failed authentication: tampering, a moved value, or an erased key. Audit it, say little."""
    reference = _reference()
    db.session.rollback()
    record_event(
        "crypto.decrypt_failed",
        object_type=getattr(exc, "table", None),
        object_id=getattr(exc, "row_id", None),
        case_id=getattr(exc, "case_id", None),
        outcome="failure",
        details={"column": getattr(exc, "column", None), "reference": reference},
    )
    db.session.commit()
    log.error("decryption failed at %s, reference %s", exc.context, reference)
    return render_template("errors/decryption.html", reference=reference), 500


def handle_unexpected(exc: Exception):
    reference = _reference()
    # The traceback goes to the server log under the reference; the page shows only the reference.
    log.exception("unhandled error, reference %s", reference)
    db.session.rollback()
    return _render(InternalServerError.code, reference)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(DecryptionError, handle_decryption)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
