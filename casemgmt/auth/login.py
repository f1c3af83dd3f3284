"""authenticate(): throttle, then one-time code, then passphrase; every failure looks the same to the caller."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import case, or_, select, update

from casemgmt.accounts import recovery
from casemgmt.accounts.models import User
from casemgmt.audit import record_event
from casemgmt.auth import passwords, totp
from casemgmt.core.time import utcnow
from casemgmt.extensions import db


class LoginFailed(Exception):
    """Deliberately carries no reason: the page shows one generic message for every failure."""


def _count_failure(username: str) -> int | None:
    """Count a failure against the account of that name with one atomic UPDATE ... RETURNING, so concurrent attempts
    on several workers all count; return the new count, or None when no account counts it.

    Every failed login runs this same statement, also for an unknown name and a locked account (the statement then
    matches no row: a locked account's attempts do not count towards a new lock). The database work, like the Argon2
    work, is then the same whichever way a login fails, and its timing tells nobody which (finding 4 of issue 10).
    """
    settings = current_app.config["SETTINGS"]
    now = utcnow()
    window_start = now - timedelta(seconds=settings.login_failure_window_seconds)
    fresh_window = (User.failure_window_start.is_(None)) | (User.failure_window_start < window_start)
    return db.session.execute(
        update(User)
        .where(User.username == username, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(
            failed_logins=case((fresh_window, 1), else_=User.failed_logins + 1),
            failure_window_start=case((fresh_window, now), else_=User.failure_window_start),
        )
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def _register_failure(user: User) -> None:
    settings = current_app.config["SETTINGS"]
    failures = _count_failure(user.username)
    db.session.expire(user, ["failed_logins", "failure_window_start"])  # the UPDATE changed them in the database
    if failures is not None and failures > settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(minutes=settings.login_lock_minutes)
        user.failed_logins = 0
        user.failure_window_start = None
        record_event("login.locked", object_type="user", object_id=user.id, actor=user, outcome="denied")


def recheck_passphrase(user: User, password: str) -> bool:
    """Re-authentication of a logged-in user before a sensitive change, throttled like a login: a stolen session
    must not become a way to guess the passphrase at full speed. Failures count towards the same lock."""
    # The passphrase is verified even when the account is locked (and the answer ignored): one Argon2 verification
    # on every path, so a locked account does not answer faster.
    password_ok = passwords.verify_password(user.password_hash, password or "")
    if user.locked_until is not None and user.locked_until > utcnow():
        record_event("login.throttled", object_type="user", object_id=user.id, actor=user, outcome="denied")
        return False
    if password_ok:
        return True
    _register_failure(user)
    return False


def _claim_step(user: User, step: int) -> bool:
    """Record the accepted time step with one conditional UPDATE. Two logins racing with the same code both pass the
    check in Python; only one of them matches here, so a code is never accepted twice (ASVS 2.8.4)."""
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def authenticate(username: str, password: str, code: str | None) -> User:
    """Every failure costs the same: exactly one Argon2 verification at the configured cost and the same database
    statements, whether the account is unknown, locked, disabled, or the passphrase or one-time code is wrong
    (tests/auth/test_login_timing.py counts both and measures the time)."""
    name = (username or "").strip().lower()
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        passwords.verify_dummy(password or "")
        _count_failure(name)  # matches no row: the same statement as a real account's failure
        record_event("login.failure", outcome="failure", details={"reason": "unknown_account"})
        db.session.commit()
        raise LoginFailed()
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        passwords.verify_password(user.password_hash, password or "")  # the answer is ignored; only its cost counts
        _count_failure(user.username)  # matches no row while the account is locked; the same statement all the same
        record_event("login.throttled", object_type="user", object_id=user.id, actor=user, outcome="denied")
        db.session.commit()
        raise LoginFailed()
    step = None
    if user.has_totp:
        secret = totp.open_secret(user.id, "totp_secret", user.totp_secret)
        step = totp.matching_step(secret, code or "", user.totp_last_step)
    password_ok = passwords.verify_password(user.password_hash, password or "")
    if user.active and password_ok and step is not None and not _claim_step(user, step):
        step = None
    # Recovery code (finding 11): stands in for the one-time code. Spent with one conditional UPDATE only for an
    # active account with the right passphrase, so it is used once and only by a real login. Looked up whatever the
    # passphrase (the lookup spends nothing): a lookup after a right passphrase only would make a right passphrase
    # answer a query later than a wrong one, and so tell it without the second factor (finding 4).
    recovery_code = None
    if user.has_totp and step is None:
        recovery_code = recovery.matching_code(user, code)
        if recovery_code is not None and not (password_ok and user.active and recovery.spend(recovery_code)):
            recovery_code = None
    if not user.active or not password_ok or (user.has_totp and step is None and recovery_code is None):
        reason = "inactive" if not user.active else ("password" if not password_ok else "one_time_code")
        _register_failure(user)
        record_event("login.failure", object_type="user", object_id=user.id, actor=user, outcome="failure",
                     details={"reason": reason})
        db.session.commit()
        raise LoginFailed()
    if step is not None:
        user.totp_last_step = step
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.failure_window_start, user.locked_until = 0, None, None
    user.last_login_at = now
    record_event("login.success", object_type="user", object_id=user.id, actor=user)
    if recovery_code is not None:
        user.recovery_codes_left = recovery.remaining(user)
        record_event("login.recovery_code", object_type="user", object_id=user.id, actor=user,
                     details={"remaining": user.recovery_codes_left})
    return user
