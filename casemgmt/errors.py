"""Friendly error pages that show a reference id and nothing internal (ASVS 7.4.1)."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from casemgmt import ratelimits
from casemgmt.audit import record_event
from casemgmt.audit.denials import record_not_found
from casemgmt.crypto.aead import DecryptionError  # the base class: a tampered TOTP secret raises it too
from casemgmt.extensions import db

log = logging.getLogger(__name__)


def _reference() -> str:
    return uuid.uuid4().hex[:12]


def _render(status: int, reference: str, template: str = "errors/error.html", message: str | None = None):
    return render_template(template, status=status, reference=reference, message=message), status


def handle_http(exc: HTTPException):
    reference = _reference()
    if exc.code is None or exc.code >= 500:
        log.error("HTTP %s, reference %s", exc.code, reference)
    if exc.code == 404 and request.endpoint is not None:
        try:
            record_not_found()
        except Exception:  # the page must still render (a database that has gone away, say)
            log.exception("could not audit a 404, reference %s", reference)
            db.session.rollback()
    # A refusal that knows why (access.policies.OwnRequestRefused) says so; any other shows the generic text.
    body, status = _render(exc.code or 500, reference, message=getattr(exc, "user_message", None))
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


def handle_rate_limited(exc: RateLimitExceeded):
    """A per-client limit (casemgmt/ratelimits.py) was reached: say so clearly and when to come back. This page must
    render even when Redis is down, so nothing here depends on it (Retry-After falls back to the whole window)."""
    reference = _reference()
    retry_after = ratelimits.retry_after_seconds(exc)
    ratelimits.audit_breach(exc)
    log.info("rate limit %s reached at %s, reference %s", exc.limit.limit, request.endpoint, reference)
    body = render_template("errors/429.html", reference=reference, minutes=max(1, -(-retry_after // 60)))
    return body, 429, {"Retry-After": str(retry_after)}


def handle_unexpected(exc: Exception):
    reference = _reference()
    # The traceback goes to the server log under the reference; the page shows only the reference.
    log.exception("unhandled error, reference %s", reference)
    db.session.rollback()
    return _render(InternalServerError.code, reference)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
    app.register_error_handler(DecryptionError, handle_decryption)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
