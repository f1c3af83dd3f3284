"""Enrolment and reset links: the only way a passphrase is set for someone, by that person.

An administrator never chooses or learns a user's passphrase. A new account starts with a random passphrase nobody
knows; the person follows a single-use link, valid for `enrolment_link_hours`, and sets their own. A reset works the
same way: the old passphrase, two-factor secret, recovery codes and sessions stop working at once. Only the SHA-256
of the link's random token is stored, and a new link supersedes the older ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from casemgmt.accounts.errors import AccountError, _
from casemgmt.accounts.models import EnrolmentLink, RecoveryCode, User
from casemgmt.audit import record_event
from casemgmt.auth import passwords
from casemgmt.auth.sessions import end_all_sessions, token_digest
from casemgmt.core.invariants import insert_or_refuse
from casemgmt.core.time import utcnow
from casemgmt.extensions import db


def unknowable_password_hash() -> str:
    """The hash of a random passphrase nobody is told: the account cannot be logged into until its owner follows a
    link. An Argon2id hash like any other, so a login attempt on such an account costs the same as on any other."""
    return passwords.hash_password(secrets.token_urlsafe(32))


def revoke_credentials(user: User) -> int:
    """The old passphrase, second factor, recovery codes and sessions stop working; returns the sessions ended."""
    user.password_hash = unknowable_password_hash()
    user.password_changed_at = utcnow()
    user.totp_secret = user.totp_pending = None
    user.totp_last_step = None
    user.failed_logins, user.failure_window_start, user.locked_until = 0, None, None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return end_all_sessions(user.id)


def issue_link(actor, user: User, purpose: str) -> str:
    """A new link for the user (older unused ones stop working). Returns the token, to be shown once to whoever
    hands it over; the caller has already checked who that may be."""
    now = utcnow()
    db.session.execute(
        update(EnrolmentLink)
        .where(EnrolmentLink.user_id == user.id, EnrolmentLink.used_at.is_(None), EnrolmentLink.superseded_at.is_(None))
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    hours = current_app.config["SETTINGS"].enrolment_link_hours
    link = EnrolmentLink(user_id=user.id, token_hash=token_digest(token), purpose=purpose, created_at=now,
                         expires_at=now + timedelta(hours=hours))
    # One open link per account (uq_enrolment_links_user_open): of two links made at the same instant, the second
    # is refused instead of leaving two that work.
    insert_or_refuse(link, "uq_enrolment_links_user_open", AccountError(
        _("Someone else has just made a link for this account. Look at the account again.")))
    record_event("user.enrol_link", object_type="user", object_id=user.id, actor=actor,
                 subject_organisation_id=user.organisation_id,
                 details={"purpose": purpose, "valid_hours": hours})
    return token


@dataclass(frozen=True)
class LinkState:
    link: EnrolmentLink | None
    problem: str | None  # None when usable; "unknown", "used", "superseded", "expired" or "disabled"

    @property
    def usable(self) -> bool:
        return self.problem is None


def look_up(token: str) -> LinkState:
    link = db.session.scalar(select(EnrolmentLink).where(EnrolmentLink.token_hash == token_digest(token or "")))
    if link is None:
        return LinkState(None, "unknown")
    if link.used_at is not None:
        return LinkState(link, "used")
    if link.superseded_at is not None:
        return LinkState(link, "superseded")
    if link.expires_at <= utcnow():
        return LinkState(link, "expired")
    if not link.user.active:
        return LinkState(link, "disabled")
    return LinkState(link, None)


class LinkUnusable(Exception):
    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def passphrase_problems(user: User, password: str) -> list[str]:
    return passwords.passphrase_problems(password or "", [user.username, user.display_name])


def complete(token: str, password: str) -> User:
    """Set the passphrase the person chose and spend the link. The caller has checked passphrase_problems()."""
    state = look_up(token)
    if not state.usable:
        raise LinkUnusable(state.problem)
    link, user = state.link, state.link.user
    # One conditional UPDATE spends the link: two tabs submitting the same link at once cannot both succeed.
    spent = db.session.execute(
        update(EnrolmentLink).where(EnrolmentLink.id == link.id, EnrolmentLink.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise LinkUnusable("used")
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins, user.failure_window_start, user.locked_until = 0, None, None
    end_all_sessions(user.id)
    record_event("account.enrol", object_type="user", object_id=user.id, actor=user,
                 subject_organisation_id=user.organisation_id, details={"purpose": link.purpose})
    return user


def open_link(user: User) -> EnrolmentLink | None:
    """The user's link that can still be used, if any (for the administration pages: issued, not yet followed)."""
    return db.session.scalar(
        select(EnrolmentLink).where(EnrolmentLink.user_id == user.id, EnrolmentLink.used_at.is_(None),
                                    EnrolmentLink.superseded_at.is_(None), EnrolmentLink.expires_at > utcnow())
    )


def link_hours() -> int:
    return current_app.config["SETTINGS"].enrolment_link_hours
