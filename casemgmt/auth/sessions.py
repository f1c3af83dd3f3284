"""Login sessions kept in the database, so every worker sees a logout or a password change at once.

The signed Flask cookie carries only a random token. Flask-Login stores it in place of the user id (its
"alternative tokens" pattern); the loader looks up its SHA-256 and enforces the idle and absolute timeouts.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select

from casemgmt.accounts.models import User, UserSession
from casemgmt.core.time import utcnow
from casemgmt.extensions import db, login_manager

# Writing last_seen_at on every request would make each page view a write; once a minute is precise enough.
TOUCH_EVERY = timedelta(seconds=60)


def token_digest(token: str) -> str:
    """What is stored of a random bearer token (a session cookie, an enrolment link): its SHA-256, so a database
    read does not hand out live tokens. The tokens carry 256 bits, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def _sweep_expired(user_id: int) -> None:
    """Sessions abandoned without logging out are deleted when seen; this also clears the user's unseen ones."""
    settings = current_app.config["SETTINGS"]
    now = utcnow()
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id,
            (UserSession.last_seen_at < now - timedelta(minutes=settings.session_idle_minutes))
            | (UserSession.created_at < now - timedelta(hours=settings.session_absolute_hours)),
        )
    )


def start_session(user: User) -> None:
    """Begin a fresh session: clears the old cookie contents so the session identifier changes at login.

    Only the language chosen on the login page is carried over; it is not security-relevant and is checked against
    the configured languages whenever it is used."""
    language = session.get("language")
    session.clear()
    if isinstance(language, str):
        session["language"] = language
    _sweep_expired(user.id)
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=token_digest(token), user_id=user.id))
    user.session_token = token
    login_user(user, remember=False)
    session.permanent = True


def end_session(user: User) -> None:
    if user.session_token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == token_digest(user.session_token)))
    logout_user()
    session.clear()


def end_other_sessions(user: User) -> int:
    keep = token_digest(user.session_token) if user.session_token else ""
    result = db.session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.token_hash != keep)
    )
    return result.rowcount or 0


def end_all_sessions(user_id: int) -> int:
    return db.session.execute(delete(UserSession).where(UserSession.user_id == user_id)).rowcount or 0


@login_manager.user_loader
def load_user(token: str) -> User | None:
    settings = current_app.config["SETTINGS"]
    row = db.session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id).where(
            UserSession.token_hash == token_digest(token)
        )
    ).first()
    if row is None:
        return None
    user_session, user = row
    now = utcnow()
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)
    if not user.active or now - user_session.last_seen_at > idle or now - user_session.created_at > absolute:
        # Deleted, not just refused: a session that has seen its account disabled (even by a direct database edit)
        # stays dead when the account is enabled again. The application's own disable ends sessions at once
        # (accounts.set_active); a disable and re-enable both done in the database between two requests is not seen.
        db.session.delete(user_session)
        db.session.commit()
        return None
    if now - user_session.last_seen_at > TOUCH_EVERY:
        user_session.last_seen_at = now
        db.session.commit()
    user.session_token = token
    return user
