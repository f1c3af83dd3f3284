"""Named verbs that change organisations and users. Each checks its policy and writes its audit event; the caller
commits once, so a change and its audit record are saved together or not at all."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from casemgmt.access import Action, authorize
from casemgmt.access.roles import Role
from casemgmt.accounts import approvals, enrolment, recovery
from casemgmt.accounts.approvals import Outcome
from casemgmt.accounts.errors import AccountError
from casemgmt.accounts.errors import _ as _gettext
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit import record_event
from casemgmt.auth import passwords, totp
from casemgmt.auth.login import recheck_passphrase
from casemgmt.auth.sessions import end_all_sessions, end_other_sessions
from casemgmt.core import zones
from casemgmt.core.invariants import insert_or_refuse
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.htcds import ORGANISATION_TYPES, country_codes

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


@dataclass(frozen=True)
class AccountTarget:
    """The account an administrator is about to create, or the role they want to give: what the policy judges."""

    organisation_id: int
    role: str


def create_organisation(actor, name: str, org_type: str, country: str, contact: str | None = None,
                        time_zone: str = zones.UTC_NAME) -> Organisation:
    authorize(actor, Action.ORGS_MANAGE)
    if not zones.is_zone(time_zone):
        raise AccountError(_gettext("Choose a time zone from the list."))
    name = (name or "").strip()
    if not name:
        raise AccountError(_gettext("An organisation needs a name."))
    if org_type not in ORGANISATION_TYPES:
        raise AccountError(_gettext("Unknown organisation type."))
    country = (country or "").strip().upper()
    if country not in country_codes():
        raise AccountError(_gettext("Unknown country code."))
    exists = AccountError(_gettext("An organisation with this name already exists."))
    if db.session.scalar(select(Organisation.id).where(func.lower(Organisation.name) == name.lower())):
        raise exists
    org = Organisation(name=name, org_type=org_type, country=country, contact=(contact or "").strip() or None,
                       time_zone=time_zone)
    insert_or_refuse(org, "uq_organisations_name", exists)
    record_event("organisation.create", object_type="organisation", object_id=org.id, actor=actor,
                 subject_organisation_id=org.id)
    return org


def set_organisation_time_zone(actor, org: Organisation, time_zone: str) -> bool:
    """Move an organisation to another zone: stored times stay as they are (UTC), only how they read changes.
    Returns whether anything changed."""
    authorize(actor, Action.ORGS_MANAGE, org)
    if not zones.is_zone(time_zone):
        raise AccountError(_gettext("Choose a time zone from the list."))
    if org.time_zone == time_zone:
        return False
    record_event("organisation.time_zone", object_type="organisation", object_id=org.id, actor=actor,
                 subject_organisation_id=org.id, details={"from": org.time_zone, "to": time_zone})
    org.time_zone = time_zone
    return True


def _find_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        raise AccountError(_gettext("No such user."))
    return user


def _check_passphrase(password: str, *hints: str) -> None:
    problems = passwords.passphrase_problems(password, list(hints))
    if problems:
        raise AccountError(" ".join(problems))


def _check_role(role: str) -> None:
    if role not in {r.value for r in Role}:
        raise AccountError(_gettext("Unknown role."))


def _new_user(actor, username: str, display_name: str, organisation_id: int, role: str, password_hash) -> User:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise AccountError(
            _gettext("Usernames are 3-64 characters: lower-case letters, digits, dot, dash and underscore.")
        )
    taken = AccountError(_gettext("This username is taken."))
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise taken
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        organisation_id=organisation_id,
        role=role,
        password_hash=password_hash(username),
    )
    insert_or_refuse(user, "uq_users_username", taken)
    record_event("user.create", object_type="user", object_id=user.id, actor=actor, details={"role": role},
                 subject_organisation_id=organisation_id)
    return user


def create_user(actor, username: str, display_name: str, organisation_id: int, role: str, password: str) -> User:
    """Create a usable account with a passphrase chosen for it: the bootstrap of a fresh install, for the operator at
    the server's shell only (`casemgmt users create`, the demo, the tests). The pages use add_account()."""
    authorize(actor, Action.USERS_BOOTSTRAP)
    _check_role(role)
    if db.session.get(Organisation, organisation_id) is None:
        raise AccountError(_gettext("Unknown organisation."))

    def chosen(name: str) -> str:
        _check_passphrase(password, name, display_name)
        return passwords.hash_password(password)

    return _new_user(actor, username, display_name, organisation_id, role, chosen)


def add_account(actor, username: str, display_name: str, organisation_id: int, role: str) -> Outcome:
    """An administrator creates an account without a passphrase. A case-reading account waits for a supervisor of
    its organisation, who receives its enrolment link at approval; an administrator account gets its link at once,
    for the (installation) administrator who asked to hand over."""
    _check_role(role)
    if db.session.get(Organisation, organisation_id) is None:
        raise AccountError(_gettext("Unknown organisation."))
    authorize(actor, Action.USERS_MANAGE, AccountTarget(organisation_id, role))
    user = _new_user(actor, username, display_name, organisation_id, role,
                     lambda _name: enrolment.unknowable_password_hash())
    if approvals.needs_approval(actor, role):
        return Outcome(user, request=approvals.file_request(actor, user, "create", role))
    return Outcome(user, token=enrolment.issue_link(actor, user, "enrol"))


def set_active(actor, user: User, active: bool) -> None:
    authorize(actor, Action.USERS_MANAGE, user)
    if getattr(actor, "id", None) == user.id and not active:
        raise AccountError(_gettext("You cannot disable your own account."))
    user.active = active
    if not active:
        end_all_sessions(user.id)
    record_event("user.enable" if active else "user.disable", object_type="user", object_id=user.id, actor=actor,
                 subject_organisation_id=user.organisation_id)


def _check_role_change(actor, user: User, role: str) -> None:
    _check_role(role)
    if getattr(actor, "id", None) == user.id:
        raise AccountError(_gettext("You cannot change your own role."))
    if user.role == role:
        raise AccountError(_gettext("The account already has this role."))


def set_role(actor, user: User, role: str) -> None:
    """Change a role at once: the operator at the shell only (see request_role_change for the pages)."""
    authorize(actor, Action.USERS_BOOTSTRAP)
    _check_role_change(actor, user, role)
    old = user.role
    approvals.apply_role(user, role)
    record_event("user.set_role", object_type="user", object_id=user.id, actor=actor,
                 details={"from": old, "to": role}, subject_organisation_id=user.organisation_id)


def request_role_change(actor, user: User, role: str) -> Outcome:
    """A role change into a case-reading role waits for a supervisor's approval; others happen at once."""
    authorize(actor, Action.USERS_MANAGE, user)
    _check_role(role)
    authorize(actor, Action.USERS_MANAGE, AccountTarget(user.organisation_id, role))
    _check_role_change(actor, user, role)
    if approvals.needs_approval(actor, role):
        return Outcome(user, request=approvals.file_request(actor, user, "role", role))
    old = user.role
    approvals.apply_role(user, role)
    record_event("user.set_role", object_type="user", object_id=user.id, actor=actor,
                 details={"from": old, "to": role}, subject_organisation_id=user.organisation_id)
    return Outcome(user)


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
                 details={"granted": granted}, subject_organisation_id=user.organisation_id)


def request_reset(actor, user: User) -> Outcome:
    """Reset a passphrase and two-factor login: the person sets new ones through a reset link. For a case-reading
    account the reset waits for a supervisor, who receives the link; for an administrator account it happens at
    once and the link goes to the requester. Nobody ever types another person's passphrase."""
    authorize(actor, Action.USERS_MANAGE, user)
    if getattr(actor, "id", None) == user.id:
        raise AccountError(_gettext("Change your own passphrase from your account page."))
    if approvals.needs_approval(actor, user.role):
        return Outcome(user, request=approvals.file_request(actor, user, "reset"))
    return Outcome(user, token=reset_now(actor, user))


def reset_now(actor, user: User) -> str:
    """Revoke the user's passphrase, second factor, recovery codes and sessions, and make a link to set new ones."""
    if approvals.needs_approval(actor, user.role):
        authorize(actor, Action.USERS_BOOTSTRAP)
    else:
        authorize(actor, Action.USERS_MANAGE, user)
    if approvals.awaiting_creation(user):
        raise AccountError(_gettext("This account waits for a supervisor's approval of its creation."))
    ended = enrolment.revoke_credentials(user)
    record_event("user.reset", object_type="user", object_id=user.id, actor=actor, details={"ended_sessions": ended},
                 subject_organisation_id=user.organisation_id)
    return enrolment.issue_link(actor, user, "reset")


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


def confirm_totp_enrolment(user: User, code: str, password: str) -> list[str]:
    """Turn two-factor login on and return the new recovery codes, to be shown once. The passphrase is asked again
    so that a stolen session cannot attach the thief's authenticator and lock the real user out."""
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
    codes = recovery.replace_codes(user)
    record_event("account.enable_2fa", object_type="user", object_id=user.id, details={"ended_sessions": ended},
                 subject_organisation_id=user.organisation_id)
    return codes


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    """New recovery codes (the old ones die), after the passphrase is asked again (ASVS 3.7.1)."""
    authorize(user, Action.ACCOUNT_SELF)
    if not user.has_totp:
        raise AccountError(_gettext("Turn on two-factor login first."))
    if not recheck_passphrase(user, password):
        raise AccountError(_gettext("Your current passphrase is not correct."))
    codes = recovery.replace_codes(user)
    record_event("account.recovery_codes", object_type="user", object_id=user.id,
                 subject_organisation_id=user.organisation_id, details={"codes": len(codes)})
    return codes


def disable_own_totp(user: User, password: str, required: bool) -> None:
    authorize(user, Action.ACCOUNT_SELF)
    if required:
        raise AccountError(_gettext("Two-factor login is required for your role."))
    if not recheck_passphrase(user, password):
        raise AccountError(_gettext("Your current passphrase is not correct."))
    user.totp_secret = None
    user.totp_last_step = None
    recovery.discard(user)
    record_event("account.disable_2fa", object_type="user", object_id=user.id,
                 subject_organisation_id=user.organisation_id)
