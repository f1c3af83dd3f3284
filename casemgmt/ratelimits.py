"""Per-client rate limits, kept in ONE table: endpoint name -> rules (finding 5 of issue 10).

The per-account lock (User.failed_logins / locked_until, casemgmt.auth.login) stops guessing one account's passphrase,
but not spraying a few passphrases across many accounts, and it lets anyone lock a known user out. These limits count
per client instead. They are applied by endpoint name when the application starts, so a feature names no decorator:
adding a sensitive page means adding a row here. A name that matches no endpoint stops the start (a typo must not
silently leave a page unlimited), and tests/security/test_rate_limits.py checks the table against the URL map.

Counts live in Redis in production (shared by every worker and server; settings refuse memory:// there) and in
process memory in development. A 429 answer renders errors/429.html with a Retry-After header (casemgmt.errors) and is
audited once per window, without the address or any other personal data.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_qualified_name
from flask_login import current_user

from casemgmt.audit import record_event
from casemgmt.extensions import db
from casemgmt.settings import Settings

log = logging.getLogger(__name__)

EXTENSION_KEY = "casemgmt.limiter"

CLIENT = "client"    # counted per remote address (after the trusted proxies, see CASEMGMT_TRUSTED_PROXIES)
ACCOUNT = "account"  # counted per signed-in account


@dataclass(frozen=True)
class Rule:
    # Flask-Limiter's notation ("10/minute"); several limits separated by ";" all apply.
    limits: str
    methods: tuple[str, ...] = ("POST",)
    per: str = CLIENT
    # Count only failed attempts (see _failed_attempt and auth.login below).
    failures_only: bool = False


LIMITS: dict[str, tuple[Rule, ...]] = {
    # Passphrase spraying: the per-account lock allows 5 failures a minute on each account, so one client trying a
    # few passphrases across many accounts is stopped only here. 10 failures a minute, 100 an hour, 300 a day are far
    # above an office's typing mistakes, even behind one shared address, and cap a sprayer at 300 guesses a day.
    # Only failures count (a successful login answers with a redirect), so a whole shift logging in at 8:00 from
    # one office address is not stopped; because a failures-only limit is checked before and counted after the
    # attempt, parallel requests could overshoot it, so every attempt also counts towards a ceiling of 30 a minute.
    "auth.login": (
        Rule("10/minute;100/hour;300/day", failures_only=True),
        Rule("30/minute"),
    ),
    # The page behind a single-use enrolment or reset link. Tokens are too long to guess, but every submission
    # hashes a passphrase and scores it with zxcvbn (CPU), and nobody follows their own link more than a few times.
    "auth.enrol": (Rule("10/minute;30/hour", methods=("GET", "POST")),),
    # Signed-in pages count per account: colleagues behind one office address do not share a budget, and an insider
    # cannot get a new one by changing address. Search answers exact matches on blind indexes; a script walking
    # names and birth dates is what this stops. A hotline operator searching all day stays far below 30 a minute.
    "cases.search": (Rule("30/minute;300/hour", per=ACCOUNT),),
    # The duplicate check runs on every new-case submission (finding 2 made it an oracle). Each is a whole intake
    # form, typed by hand; 10 a minute and 60 an hour are more than anyone enters.
    "cases.create": (Rule("10/minute;60/hour", per=ACCOUNT),),
    "intake.open_case": (Rule("10/minute;60/hour", per=ACCOUNT),),
    # Exports read the whole caseload: a handful an hour is a busy reporting day; more is copying the database out.
    "reports.export_caseload": (Rule("10/hour;50/day", per=ACCOUNT),),
    "reports.export_deidentified": (Rule("10/hour;50/day", per=ACCOUNT),),
    "reports.deidentified_preview": (Rule("30/hour", methods=("GET",), per=ACCOUNT),),
    # The identified export is the most sensitive file the system makes, and it re-checks the passphrase.
    "reports.export_identified": (Rule("5/hour;20/day", per=ACCOUNT),),
}

# The endpoints that run the duplicate check or a search, and which kind each is (issue 13, item 4): reaching their
# limit, or a burst below it, is told to the user's supervisors (casemgmt.matching.limits).
WATCHED: dict[str, str] = {
    "cases.create": "check",
    "intake.open_case": "check",
    "cases.search": "search",
}
# A burst, per account and kind over the endpoints above: well below the hard limits (a whole intake form a minute,
# for ten minutes, is 10; a hotline operator searches a few times an hour), yet a pace nobody keeps by hand. Reported
# once per window (ratelimit.burst, then a notice to the supervisors), never refused.
BURSTS: dict[str, str] = {
    "check": "20 per 10 minutes",
    "search": "100 per 10 minutes",
}

# A dead Redis must not hang the workers: give up on it quickly and fall back (see init_app).
_REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def client_address() -> str:
    # ProxyFix (create_app) has already replaced remote_addr with the address the trusted proxies saw.
    return request.remote_addr or "unknown"


def account_or_address() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return client_address()  # never reached behind the login guard; kept so a key is never empty


_KEYS = {CLIENT: client_address, ACCOUNT: account_or_address}


def _failed_attempt(response: Response) -> bool:
    # A login succeeds with a redirect. A 429 was no attempt at all: counting it would let a user who reloads the
    # page while waiting use up the hourly and daily budgets.
    return response.status_code not in (302, 429)


def init_app(app: Flask, settings: Settings) -> None:
    """Bind a limiter to this application and apply the table. Call it after the blueprints are registered."""
    missing = sorted(set(LIMITS) - set(app.view_functions))
    if missing:
        raise RuntimeError(f"casemgmt.ratelimits.LIMITS names endpoints that do not exist: {', '.join(missing)}")
    if not settings.ratelimit_enabled:
        return
    uri = settings.ratelimit_storage_uri
    # One limiter per application, not one in casemgmt.extensions: Flask-Limiter keeps its storage and its table of
    # limits on the Limiter object itself, so a shared one would mix the limits and stores of two applications (the
    # test suite runs several in one process).
    limiter = Limiter(
        client_address,
        storage_uri=uri,
        storage_options=_REDIS_OPTIONS if uri.startswith("redis") else {},
        key_prefix=settings.ratelimit_key_prefix,
        # A moving window counts the last minute/hour/day exactly: a fixed window would allow twice the limit across
        # the boundary between two windows.
        strategy="moving-window",
        # When Redis cannot be reached, keep counting in this process's memory rather than failing open (no limit
        # at all) or closed (every limited page answers 500). Fail-soft: the limits still hold per worker, the
        # per-account lock in the database still holds, and a shelter can still log in and record a case during a
        # Redis outage. Flask-Limiter retries Redis with back-off and switches back when it answers. Any other error
        # of the limiter is logged and swallowed for the same reason.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,  # the 429 page sets Retry-After itself; other answers need no limiter headers
    )
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
    # Flask-Limiter files a view's limits under the view function's qualified name: two limited endpoints served by
    # one function would share (and add up) their rules.
    names = [get_qualified_name(app.view_functions[endpoint]) for endpoint in LIMITS]
    if len(set(names)) != len(names):
        raise RuntimeError("casemgmt.ratelimits.LIMITS limits two endpoints that share one view function")
    for endpoint, rules in LIMITS.items():
        view = app.view_functions[endpoint]
        for rule in rules:
            view = limiter.limit(
                rule.limits,
                key_func=_KEYS[rule.per],
                methods=list(rule.methods),
                deduct_when=_failed_attempt if rule.failures_only else None,
            )(view)
        app.view_functions[endpoint] = view
    app.after_request(_count_burst)


def _ran_a_check(response: Response) -> bool:
    # A check or search ran: the page answered, or warned of a duplicate (409). A form that failed validation, a
    # refusal or a 429 ran none.
    return response.status_code < 400 or response.status_code == 409


def _count_burst(response: Response) -> Response:
    """Count a check or search towards its burst; the first one over it in a window is audited (ratelimit.burst),
    which tells the user's supervisors (notifications.rules). Never fails the answer."""
    kind = WATCHED.get(request.endpoint or "")
    if kind is None or request.method != "POST" or not _ran_a_check(response):
        return response
    limiter = current_app.extensions.get(EXTENSION_KEY)
    if limiter is None or not current_user.is_authenticated:
        return response
    try:
        from limits import parse

        parsed = parse(BURSTS[kind])
        burst = type(parsed)(parsed.amount, parsed.multiples, namespace="BURST")
        told = type(parsed)(1, parsed.multiples, namespace="BURST-TOLD")
        key = (current_app.config["SETTINGS"].ratelimit_key_prefix, f"user:{current_user.id}", kind)
        if limiter.limiter.hit(burst, *key) or not limiter.limiter.hit(told, *key):
            return response
        record_event("ratelimit.burst", details={"kind": kind, "limit": BURSTS[kind]})
        db.session.commit()
    except Exception:  # the answer is already made; a burst not reported is logged, not a failed request
        db.session.rollback()
        log.exception("counting a burst of %s failed", kind)
    return response


def _breached() -> RequestLimit | None:
    limiter = current_app.extensions.get(EXTENSION_KEY)
    return limiter.current_limit if limiter is not None else None


def retry_after_seconds(exc: RateLimitExceeded) -> int:
    """Seconds until the breached limit lets the client in again; the limit's whole window if the store cannot say."""
    window = exc.limit.limit.get_expiry()
    breached = _breached()
    try:
        seconds = breached.reset_at - time.time() if breached is not None else window
    except Exception:  # the store went away between the check and this answer; the page must render anyway
        log.warning("rate limit store unreachable while answering 429; Retry-After is the whole window")
        seconds = window
    return max(1, min(window, math.ceil(seconds)))


def audit_breach(exc: RateLimitExceeded) -> None:
    """Record "ratelimit.exceeded" once per client, limit and window: a sprayer hammering the login page must not
    flood the audit trail. The event names the endpoint and the limit; never the address or what was submitted."""
    breached = _breached()
    limiter = current_app.extensions.get(EXTENSION_KEY)
    if breached is not None and limiter is not None:
        item = breached.limit
        once = type(item)(1, item.multiples, namespace="AUDITED")
        try:
            first = limiter.limiter.hit(once, *breached.request_args)
        except Exception:  # better an event too many than none
            first = True
        if not first:
            return
    db.session.rollback()  # the limit is checked before the view runs: there is nothing of the request to keep
    event = record_event("ratelimit.exceeded", outcome="denied",
                         details={"endpoint": request.endpoint, "limit": str(exc.limit.limit)})
    if request.endpoint in WATCHED and current_user.is_authenticated:
        from casemgmt.matching import limits

        limits.limit_reached(current_user._get_current_object(), request.endpoint, event)  # its supervisors
    db.session.commit()
