from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, LargeBinary, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.access.roles import Role
from casemgmt.core.time import utcnow
from casemgmt.extensions import db


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    org_type: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    contact: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The IANA zone its people read and enter times in (casemgmt/core/zones.py); the database keeps UTC.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    # TOTP secret, AES-GCM under a key derived for user secrets (see auth.totp); null when not enrolled.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_pending: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The last accepted TOTP time step: a code for this step or an earlier one is never accepted again.
    totp_last_step: Mapped[int | None]
    # Throttling state lives here, not in process memory, so it holds across gunicorn workers and servers.
    failed_logins: Mapped[int] = mapped_column(default=0)
    failure_window_start: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Exporting names and other identifying fields is a grant of its own, given by an administrator to a supervisor.
    may_export_identified: Mapped[bool] = mapped_column(default=False)
    # Where notices are e-mailed, if the person turns them on (casemgmt/notifications/mail.py). A colleague's work
    # address, like the display name: the mails themselves carry no personal data, only counts and a link.
    email: Mapped[str | None] = mapped_column(String(254))
    notify_by_email: Mapped[bool] = mapped_column(default=False, server_default=false())

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)

    # Set by the session loader: Flask-Login stores this token, not the user id, in the cookie.
    session_token = None
    # Set by authenticate() when a recovery code stood in for the one-time code: how many unused codes are left.
    recovery_codes_left = None

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None

    def get_id(self) -> str:
        if not self.session_token:
            raise RuntimeError("log users in through auth.sessions.start_session()")
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


class UserSession(db.Model):
    """A login session. The cookie holds a random token; only its SHA-256 is stored, so a database read does not
    hand out live sessions. Deleting rows ends sessions on every worker at once."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountRequest(db.Model):
    """A change to an account that a supervisor of its organisation must approve before it takes effect (four eyes):
    a new account in a role that reads cases, a role change into such a role, a reset of such an account.

    kind: "create", "role" or "reset"; status: "requested", then "approved", "refused" or "withdrawn" (a newer
    request about the same account replaced it)."""

    __tablename__ = "account_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(32))
    from_role: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    # Null when the operator asked from the command line.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        Index("ix_account_requests_org_status", "organisation_id", "status"),
        # One request waiting for a supervisor per account (docs/invariants.md): a newer one withdraws the older.
        Index("uq_account_requests_user_pending", "user_id", unique=True,
              postgresql_where=text("status = 'requested'"), sqlite_where=text("status = 'requested'")),
    )


class EnrolmentLink(db.Model):
    """A single-use, expiring link with which a person sets their own passphrase (a new account, or a reset).
    Only the SHA-256 of the random token is stored: a database read hands out no usable link."""

    __tablename__ = "enrolment_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "enrol" or "reset"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    # At most one link per account that is neither used nor superseded (docs/invariants.md): a new link supersedes
    # the older ones, so only the newest can ever work.
    __table_args__ = (
        Index("uq_enrolment_links_user_open", "user_id", unique=True,
              postgresql_where=text("used_at IS NULL AND superseded_at IS NULL"),
              sqlite_where=text("used_at IS NULL AND superseded_at IS NULL")),
    )


class RecoveryCode(db.Model):
    """A single-use two-factor recovery code. Only a keyed hash is stored (HMAC-SHA256 under a key derived from the
    key ring), so the 50 bits of a code cannot be searched offline from a copy of the database alone."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
