"""Named verbs that change organisations and users. Each checks its policy and writes its audit event; the caller
commits once, so a change and its audit record are saved together or not at all."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from casemgmt.access import Action, authorize
from casemgmt.access.roles import Role
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit import record_event
from casemgmt.auth import passwords, totp
from casemgmt.auth.login import recheck_passphrase
from casemgmt.auth.sessions import end_all_sessions, end_other_sessions
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.htcds import ORGANISATION_TYPES, country_codes

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class AccountError(ValueError):
    """A request that cannot be carried out; the message is shown to the user (already translated)."""


def _gettext(message: str, **kwargs) -> str:
    from flask_babel import gettext

    return gettext(message, **kwargs)


def create_organisation(actor, name: str, org_type: str, country: str, contact: str | None = None) -> Organisation:
    authorize(actor, Action.ORGS_MANAGE)
    name = (name or "").strip()
    if not name:
        raise AccountError(_gettext("An organisation needs a name."))
    if org_type not in ORGANISATION_TYPES:
        raise AccountError(_gettext("Unknown organisation type."))
    country = (country or "").strip().upper()
    if country not in country_codes():
        raise AccountError(_gettext("Unknown country code."))
    if db.session.scalar(select(Organisation.id).where(func.lower(Organisation.name) == name.lower())):
        raise AccountError(_gettext("An organisation with this name already exists."))
    org = Organisation(name=name, org_type=org_type, country=country, contact=(contact or "").strip() or None)
    db.session.add(org)
    db.session.flush()
    record_event("organisation.create", object_type="organisation", object_id=org.id, actor=actor)
    return org


def _find_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        raise AccountError(_gettext("No such user."))
    return user


def _check_passphrase(password: str, *hints: str) -> None:
    problems = passwords.passphrase_problems(password, list(hints))
    if problems:
        raise AccountError(" ".join(problems))


def create_user(actor, username: str, display_name: str, organisation_id: int, role: str, password: str) -> User:
    authorize(actor, Action.USERS_MANAGE)
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise AccountError(
            _gettext("Usernames are 3-64 characters: lower-case letters, digits, dot, dash and underscore.")
        )
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(_gettext("This username is taken."))
    if role not in {r.value for r in Role}:
        raise AccountError(_gettext("Unknown role."))
    if db.session.get(Organisation, organisation_id) is None:
        raise AccountError(_gettext("Unknown organisation."))
    _check_passphrase(password, username, display_name)
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        organisation_id=organisation_id,
        role=role,
        password_hash=passwords.hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    record_event("user.create", object_type="user", object_id=user.id, actor=actor, details={"role": role})
    return user


def set_active(actor, user: User, active: bool) -> None:
    authorize(actor, Action.USERS_MANAGE, user)
    if getattr(actor, "id", None) == user.id and not active:
        raise AccountError(_gettext("You cannot disable your own account."))
    user.active = active
    if not active:
        end_all_sessions(user.id)
    record_event("user.enable" if active else "user.disable", object_type="user", object_id=user.id, actor=actor)


def set_role(actor, user: User, role: str) -> None:
    authorize(actor, Action.USERS_MANAGE, user)
    if role not in {r.value for r in Role}:
        raise AccountError(_gettext("Unknown role."))
    if getattr(actor, "id", None) == user.id:
        raise AccountError(_gettext("You cannot change your own role."))
    old = user.role
    user.role = role
    if role != Role.SUPERVISOR and user.may_export_identified:
        # The grant belongs to the supervisor role; a new role starts without it.
        user.may_export_identified = False
    # A role change takes effect at once: the user logs in again under the new role.
    end_all_sessions(user.id)
    record_event("user.set_role", object_type="user", object_id=user.id, actor=actor,
                 details={"from": old, "to": role})


def set_export_grant(actor, user: User, granted: bool) -> None:
    """Give or take away the right to export identified case data in bulk. Only supervisors can hold it: the
    export is scoped to their organisation, and other roles have no report access to begin with."""
    authorize(actor, Action.USERS_MANAGE, user)
    if granted and user.role != Role.SUPERVISOR:
        raise AccountError(_gettext("Only supervisors can be allowed to export identified data."))
    if user.may_export_identified == granted:
        return
    user.may_export_identified = granted
    record_event("user.export_grant", object_type="user", object_id=user.id, actor=actor,
                 details={"granted": granted})


def reset_password(actor, user: User, password: str) -> None:
    authorize(actor, Action.USERS_MANAGE, user)
    _check_passphrase(password, user.username, user.display_name)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins, user.failure_window_start, user.locked_until = 0, None, None
    end_all_sessions(user.id)
    record_event("user.reset_password", object_type="user", object_id=user.id, actor=actor)


def reset_two_factor(actor, user: User) -> None:
    authorize(actor, Action.USERS_MANAGE, user)
    user.totp_secret = user.totp_pending = None
    user.totp_last_step = None
    end_all_sessions(user.id)
    record_event("user.reset_2fa", object_type="user", object_id=user.id, actor=actor)


def change_own_password(user: User, current: str, new: str) -> None:
    authorize(user, Action.ACCOUNT_SELF)
    if not recheck_passphrase(user, current):
        raise AccountError(_gettext("Your current passphrase is not correct."))
    if current == new:
        raise AccountError(_gettext("Choose a passphrase different from the current one."))
    _check_passphrase(new, user.username, user.display_name)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    ended = end_other_sessions(user)
    record_event("account.change_password", object_type="user", object_id=user.id, details={"ended_sessions": ended})


def begin_totp_enrolment(user: User) -> str:
    authorize(user, Action.ACCOUNT_SELF)
    secret = totp.new_secret()
    user.totp_pending = totp.seal_secret(user.id, "totp_pending", secret)
    return secret


def pending_totp_secret(user: User) -> str | None:
    if user.totp_pending is None:
        return None
    return totp.open_secret(user.id, "totp_pending", user.totp_pending)


def confirm_totp_enrolment(user: User, code: str, password: str) -> None:
    """Turn two-factor login on. The passphrase is asked again so that a stolen session cannot attach the thief's
    authenticator and lock the real user out."""
    authorize(user, Action.ACCOUNT_SELF)
    if not recheck_passphrase(user, password):
        raise AccountError(_gettext("Your current passphrase is not correct."))
    secret = pending_totp_secret(user)
    if secret is None:
        raise AccountError(_gettext("Start the set-up again."))
    step = totp.matching_step(secret, code, None)
    if step is None:
        raise AccountError(_gettext("That code is not valid. Check the time on your phone and try again."))
    user.totp_secret = totp.seal_secret(user.id, "totp_secret", secret)
    user.totp_pending = None
    user.totp_last_step = step
    ended = end_other_sessions(user)
    record_event("account.enable_2fa", object_type="user", object_id=user.id, details={"ended_sessions": ended})


def disable_own_totp(user: User, password: str, required: bool) -> None:
    authorize(user, Action.ACCOUNT_SELF)
    if required:
        raise AccountError(_gettext("Two-factor login is required for your role."))
    if not recheck_passphrase(user, password):
        raise AccountError(_gettext("Your current passphrase is not correct."))
    user.totp_secret = None
    user.totp_last_step = None
    record_event("account.disable_2fa", object_type="user", object_id=user.id)
