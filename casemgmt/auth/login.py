"""authenticate(): throttle, then one-time code, then passphrase; every failure looks the same to the caller."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import case, or_, select, update

from casemgmt.accounts.models import User
from casemgmt.audit import record_event
from casemgmt.auth import passwords, totp
from casemgmt.core.time import utcnow
from casemgmt.extensions import db


class LoginFailed(Exception):
    """Deliberately carries no reason: the page shows one generic message for every failure."""


def _register_failure(user: User) -> None:
    """Count a failure with one atomic UPDATE, so concurrent attempts on several workers all count."""
    settings = current_app.config["SETTINGS"]
    now = utcnow()
    window_start = now - timedelta(seconds=settings.login_failure_window_seconds)
    fresh_window = (User.failure_window_start.is_(None)) | (User.failure_window_start < window_start)
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_logins=case((fresh_window, 1), else_=User.failed_logins + 1),
            failure_window_start=case((fresh_window, now), else_=User.failure_window_start),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    if user.failed_logins > settings.login_max_failures:
        user.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
        user.failed_logins = 0
        user.failure_window_start = None
        record_event("login.locked", object_type="user", object_id=user.id, actor=user, outcome="denied")


def recheck_passphrase(user: User, password: str) -> bool:
    """Re-authentication of a logged-in user before a sensitive change, throttled like a login: a stolen session
    must not become a way to guess the passphrase at full speed. Failures count towards the same lock."""
    if user.locked_until is not None and user.locked_until > utcnow():
        record_event("login.throttled", object_type="user", object_id=user.id, actor=user, outcome="denied")
        return False
    if passwords.verify_password(user.password_hash, password or ""):
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
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        passwords.burn_time()
        record_event("login.failure", outcome="failure", details={"reason": "unknown_account"})
        db.session.commit()
        raise LoginFailed()
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
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
    if not user.active or not password_ok or (user.has_totp and step is None):
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
    return user
