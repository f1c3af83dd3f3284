"""Friendly error pages that show a reference id and nothing internal (ASVS 7.4.1).

These pages must render whatever went wrong, the database being gone included: a handler that raises leaves the user
gunicorn's bare "Internal Server Error" (issue 11: 1,596 of 1,598 error answers during a 17-second outage, because
the rollback expired the signed-in user and the page's menu loaded it again from the dead database). So:

- a database that cannot be reached answers 503 with Retry-After, one with no room left 507, in errors/minimal.html,
  a layout that reads nothing from the database; a submission is told it *may* not have been saved (a commit can
  succeed on the server while its acknowledgement is lost), a page view to try again shortly;
- any other error page is rendered in the full layout (menu, user name) and, should that fail, in the minimal one;
- the handlers' own database work (auditing a 404, a 429, a failed decryption) never escapes: when it meets an
  unavailable database, the answer becomes the 503 page;
- the language is found without the database: the one chosen in this session, the signed-in user's if it was loaded
  before the error, else the browser's;
- the session is closed at the end of every request in a way a dropped connection cannot fail (_end_session).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable

from flask import Flask, current_app, g, render_template, request, session
from flask_babel import force_locale
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy import inspect as sa_inspect
from werkzeug.exceptions import HTTPException, InternalServerError

from casemgmt import outages, ratelimits
from casemgmt.audit import record_event
from casemgmt.audit.denials import record_not_found
from casemgmt.crypto.aead import DecryptionError  # the base class: a tampered TOTP secret raises it too
from casemgmt.extensions import db

log = logging.getLogger(__name__)

# Long enough for a database restart or a fail-over, short enough that nobody gives up.
RETRY_AFTER_SECONDS = 30

FULL_LAYOUT = "base.html"
MINIMAL_LAYOUT = "errors/minimal.html"

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _Page:
    """One error answer: its reference, and the language it will be shown in if the database cannot help."""

    def __init__(self):
        self.reference = uuid.uuid4().hex[:12]
        # Read before any rollback: a rollback expires the signed-in user, and reading it then would ask the database.
        try:
            self.language = _language()
        except Exception:  # nothing may stop the error page
            self.language = "en"

    def render(self, template: str, status: int, headers: Iterable[tuple[str, str]] = (), *, minimal: bool = False,
               **context):
        """The page in the full layout, else (minimal, or the full one failed) in the minimal one. Never raises."""
        headers = list(headers)
        if not minimal:
            try:
                body = render_template(template, layout=FULL_LAYOUT, status=status, reference=self.reference,
                                       **context)
                return body, status, headers
            except Exception as exc:
                if outages.classify(exc) is not None:
                    return self.outage(exc)
                log.exception("error page %s failed in the full layout, reference %s", template, self.reference)
                _reset_session()
        try:
            with force_locale(self.language):
                # Not render_template: it runs the context processors, and Flask-Login's loads the signed-in user.
                body = current_app.jinja_env.get_template(template).render(
                    layout=MINIMAL_LAYOUT, status=status, reference=self.reference, **context)
        except Exception:
            log.exception("error page %s failed in the minimal layout, reference %s", template, self.reference)
            body = f"Error {status}. Reference: {self.reference}\n"
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
        return body, status, headers

    def outage(self, exc: BaseException):
        """The database cannot be reached (503) or has no room (507): say so, without touching it again."""
        kind = outages.classify(exc)
        writing = request.method not in _SAFE_METHODS
        _reset_session(remove=True)
        if kind is outages.Outage.STORAGE_FULL:
            log.error("storage full at %s %s, reference %s: %s", request.method, request.endpoint, self.reference,
                      outages.describe(exc))
            return self.render("errors/storage_full.html", 507, minimal=True, writing=writing)
        log.error("database unavailable at %s %s, reference %s: %s", request.method, request.endpoint,
                  self.reference, outages.describe(exc))
        return self.render("errors/unavailable.html", 503, [("Retry-After", str(RETRY_AFTER_SECONDS))],
                           minimal=True, writing=writing)


def _language() -> str:
    languages = current_app.config["SETTINGS"].languages
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    user = g.get("_login_user")  # Flask-Login's user of this request, if it was loaded before the error
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    known = state.dict.get("language") if state is not None else None  # .dict: what is loaded, never a query
    if known in languages:
        return known
    return request.accept_languages.best_match(languages) or "en"


def _reset_session(remove: bool = False) -> None:
    """Undo what the request did. Never raises: a rollback on a connection that has died may. With remove, also
    hand the connection back to the pool, so nothing of the failed transaction outlives this request."""
    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback after an error failed", exc_info=True)
    if remove:
        try:
            db.session.remove()
        except Exception:
            log.warning("closing the database session after an error failed", exc_info=True)


def _audited(page: _Page, write) -> object | None:
    """Run a handler's own database work; None when it succeeded or failed harmlessly, else the outage answer."""
    try:
        write()
    except Exception as exc:
        if outages.classify(exc) is not None:
            return page.outage(exc)
        log.exception("an error page could not record its audit event, reference %s", page.reference)
        _reset_session()
    return None


def handle_http(exc: HTTPException):
    page = _Page()
    # Flask turns an error raised outside the views (an after-request hook, say) into a 500 that carries it.
    original = getattr(exc, "original_exception", None)
    if original is not None and outages.classify(original) is not None:
        return page.outage(original)
    if exc.code is None or exc.code >= 500:
        log.error("HTTP %s, reference %s", exc.code, page.reference)
    if exc.code == 404 and request.endpoint is not None:
        answer = _audited(page, record_not_found)
        if answer is not None:
            return answer
    # A 405 must say which methods are allowed (RFC 9110 15.5.6); the friendly page would drop the header.
    allow = [(name, value) for name, value in exc.get_headers() if name.lower() == "allow"]
    # A refusal that knows why (access.policies.OwnRequestRefused) says so; any other shows the generic text.
    return page.render("errors/error.html", exc.code or 500, allow, message=getattr(exc, "user_message", None))


def handle_csrf(exc: CSRFError):
    page = _Page()
    log.info("CSRF check failed (%s), reference %s", exc.description, page.reference)
    return page.render("errors/csrf.html", 400)


def handle_decryption(exc: DecryptionError):
    """A ciphertext failed authentication: tampering, a moved value, or an erased key. Audit it, say little."""
    page = _Page()

    def audit():
        db.session.rollback()
        record_event(
            "crypto.decrypt_failed",
            object_type=getattr(exc, "table", None),
            object_id=getattr(exc, "row_id", None),
            case_id=getattr(exc, "case_id", None),
            outcome="failure",
            details={"column": getattr(exc, "column", None), "reference": page.reference},
        )
        db.session.commit()

    answer = _audited(page, audit)
    if answer is not None:
        return answer
    log.error("decryption failed at %s, reference %s", exc.context, page.reference)
    return page.render("errors/decryption.html", 500)


def handle_rate_limited(exc: RateLimitExceeded):
    """A per-client limit (casemgmt/ratelimits.py) was reached: say so clearly and when to come back. This page must
    render even when Redis is down, so nothing here depends on it (Retry-After falls back to the whole window)."""
    page = _Page()
    retry_after = ratelimits.retry_after_seconds(exc)
    answer = _audited(page, lambda: ratelimits.audit_breach(exc))
    if answer is not None:
        return answer
    log.info("rate limit %s reached at %s, reference %s", exc.limit.limit, request.endpoint, page.reference)
    return page.render("errors/429.html", 429, [("Retry-After", str(retry_after))],
                       minutes=max(1, -(-retry_after // 60)))


def handle_unexpected(exc: Exception):
    page = _Page()
    if outages.classify(exc) is not None:
        return page.outage(exc)
    # The traceback goes to the server log under the reference; the page shows only the reference.
    log.exception("unhandled error, reference %s", page.reference)
    _reset_session()
    return page.render("errors/error.html", InternalServerError.code)


def _end_session(_error: BaseException | None) -> None:
    """Close the request's database session without letting a dead connection fail the answer.

    Flask-SQLAlchemy closes it too, but its close rolls back first, and on a connection the database dropped after
    the page was rendered that ROLLBACK raises: the finished page was lost and gunicorn sent its bare 500. Teardown
    functions run last-registered first, so this one closes the session before Flask-SQLAlchemy's finds any."""
    try:
        db.session.remove()
    except Exception as exc:
        log.warning("closing the database session failed: %s", outages.describe(exc))
        with contextlib.suppress(Exception):
            db.session.invalidate()  # the connection is in an unknown state: never hand it out again
        db.session.registry.clear()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_end_session)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
    app.register_error_handler(DecryptionError, handle_decryption)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
