"""Single-use submission tokens: a creating form that is sent twice makes one record, and the second sending shows it.

A form is sent twice when the answer to the first was lost (a dropped connection, a proxy timeout, a worker killed
after its commit) and the person presses the button again or the browser resends, or on a double click. Without a
token each sending makes a new contact, case or task.

How it works:
- A creating form carries `SubmissionTokenMixin`: a hidden field holding a random token, signed (HMAC-SHA256 under a
  key derived from the key ring) together with the id of the user it was shown to and the time it was shown. Showing
  a form writes nothing: the signature is what makes a token genuine, mine and recent (EXPIRES).
- On submission the form's validation looks the token up. If this user's earlier submission of it was saved, the
  request is a replay: nothing is created and the browser goes to what the first one created, with a flash message.
  A missing, made-up, expired or another user's token is refused with a clear message and a fresh token.
- The view calls `consume(form, result_url)` in the transaction that inserts the record, just before its commit.
  It inserts the token's digest (unique) with that URL. A worker killed before the commit leaves no row, so the
  retry works; after the commit the retry is a replay. Two requests racing with one token both pass validation,
  but only one insert of the digest can commit (INSERT ... ON CONFLICT DO NOTHING waits for the other transaction):
  the loser rolls its whole transaction back and answers as a replay.

Only the SHA-256 of a used token is stored (auth.sessions.token_digest), with the user, the form's kind, when the
form was shown and used, and the URL of the record. Rows are deleted KEEP after use: by then the token has expired,
so a late replay is refused as expired rather than served.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from flask import abort, flash, redirect
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField
from wtforms.validators import ValidationError

from casemgmt.auth.sessions import token_digest
from casemgmt.core.time import utcnow
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db

# A form left open over a night and a day still works; an older one is refused (and shown again with a new token).
EXPIRES = timedelta(hours=24)
# Used tokens are kept longer than they can be sent, so every replay of a live token finds its row.
KEEP = timedelta(days=2)
# A token is about 90 characters; anything much longer is not one of ours and is not worth hashing.
MAX_LENGTH = 256
FIELD_NAME = "submission_token"
_SALT = "casemgmt.submission-token"


class SubmissionToken(db.Model):
    """A submission token that was used: which record its first submission created."""

    __tablename__ = "submission_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # the form, e.g. "contact" (for whoever reads this table)
    created_at: Mapped[datetime]  # when the form was shown (from the token's signature)
    used_at: Mapped[datetime]  # when its first submission was saved
    result_url: Mapped[str] = mapped_column(String(300))  # where that submission led: the record it created


class _Refused(Exception):
    """A token that cannot be used: missing, made up, expired, or another user's."""


def _invalid() -> str:
    return _("This form could not be recognised, so nothing was saved. Please check it and submit it again.")


def _not_yours() -> str:
    return _("This form was opened by another account, so nothing was saved. Please check it and submit it again.")


def _serializer() -> URLSafeTimedSerializer:
    # A key of its own (HKDF label "blind-index:submission-tokens", as the recovery codes have theirs): a token's
    # signature can never pass for a blind index or anything else, and nothing comes from Flask's SECRET_KEY.
    return URLSafeTimedSerializer(keyring().blind_index_key("submission-tokens"), salt=_SALT,
                                  signer_kwargs={"digest_method": hashlib.sha256})


def issue(user_id: int) -> str:
    """A fresh token for a form shown to `user_id`. Nothing is stored until it is used."""
    return _serializer().dumps([user_id, secrets.token_urlsafe(16)])


def _read(token: str | None, user_id: int) -> datetime:
    """When the token was issued, if it is genuine, recent and `user_id`'s; otherwise _Refused with the reason."""
    if not token:
        raise _Refused(_("This form arrived incomplete, so nothing was saved. Please check it and submit it again."))
    if len(token) > MAX_LENGTH:
        raise _Refused(_invalid())
    try:
        payload, issued = _serializer().loads(token, max_age=int(EXPIRES.total_seconds()), return_timestamp=True)
    except SignatureExpired:
        hours = EXPIRES // timedelta(hours=1)
        raise _Refused(ngettext(
            "This form was opened more than %(num)d hour ago and has expired, so nothing was saved. Please check it "
            "and submit it again.",
            "This form was opened more than %(num)d hours ago and has expired, so nothing was saved. Please check it "
            "and submit it again.", hours)) from None
    except BadData:
        raise _Refused(_invalid()) from None
    if not (isinstance(payload, list) and payload and payload[0] == user_id):
        raise _Refused(_not_yours())
    return issued.astimezone(UTC).replace(tzinfo=None)


def _replay(row: SubmissionToken, form=None):
    # An edit form's second sending saved nothing new either: its own message says so (see replayed_message).
    message = getattr(form, "replayed_message", None)
    flash(str(message) if message else _("This form was already submitted; here is the record it created."), "info")
    return redirect(row.result_url, code=303)


def _used(token: str) -> SubmissionToken | None:
    return db.session.scalar(select(SubmissionToken).where(SubmissionToken.token_hash == token_digest(token)))


class SubmissionTokenField(HiddenField):
    """The hidden token of a creating form. Rendering fills in a fresh token when the form has none (a new form, or
    one whose token was refused); validation answers a replay with a redirect and refuses a token it cannot use."""

    def _value(self) -> str:
        if not self.data:
            self.data = issue(current_user.id)
        return self.data

    def pre_validate(self, form) -> None:
        token = self.data if isinstance(self.data, str) else None
        try:
            row = _used(token) if token and len(token) <= MAX_LENGTH else None
            if row is not None and row.user_id == current_user.id:
                abort(_replay(row, form))  # nothing else of the request runs: the first submission's record is shown
            if row is not None:  # another account's used token: never show that account's record
                raise _Refused(_not_yours())
            _read(token, current_user.id)
        except _Refused as refused:
            self.data = None  # shown again with a fresh token
            # Flashed as well: the field is hidden, and some views answer a refusal with a redirect.
            flash(str(refused), "danger")
            raise ValidationError(str(refused)) from None


class SubmissionTokenMixin:
    """For forms that create a record: put it before Form (`class ContactForm(SubmissionTokenMixin, Form)`)
    and name the kind (`submission_kind = "contact"`). The view calls `consume(form, url)` before its commit.

    Edit forms carry one too (core/versions.py): the second sending of a saved edit is the same edit, not a conflict
    with itself. They say so with `replayed_message`."""

    submission_kind: ClassVar[str]
    replayed_message: ClassVar[str | None] = None
    submission_token = SubmissionTokenField()

    @property
    def data(self) -> dict:
        # The token is not part of what the form says about the record: keep it out of values() and the operations.
        data = super().data  # type: ignore[misc]
        data.pop(FIELD_NAME, None)
        return data


def _insert(dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(SubmissionToken.__table__)


def consume(form: SubmissionTokenMixin, result_url: str) -> None:
    """Mark the form's (validated) token used by the record at `result_url`, in the current transaction: call it
    after the operation and before the commit. If another request with the same token was saved meanwhile, roll
    this one back and answer with that request's record instead (the request ends here)."""
    token = form.submission_token.data
    if not token or form.submission_token.errors:
        raise RuntimeError("consume() takes a form whose validation passed")
    now = utcnow()
    try:
        issued = _read(token, current_user.id)  # validated already; this recovers when the form was shown
    except _Refused:
        issued = now  # it expired in the moment since its validation
    inserted = db.session.execute(
        _insert(db.session.get_bind().dialect.name)
        .values(token_hash=token_digest(token), user_id=current_user.id, kind=form.submission_kind,
                created_at=issued, used_at=now, result_url=result_url)
        # On PostgreSQL this waits for a racing transaction that inserted the same digest, then skips if it
        # committed; SQLite runs one writer at a time. Either way exactly one insert of a token can commit.
        .on_conflict_do_nothing(index_elements=["token_hash"])
        .returning(SubmissionToken.__table__.c.id)
    ).scalar()
    if inserted is None:
        db.session.rollback()
        row = _used(token)
        if row is None:  # cannot happen: the row that won the race was committed before ours was skipped
            abort(409)
        abort(_replay(row, form))
    # Pruning here keeps the table small without a scheduled job: only this user's old rows, a handful at most.
    db.session.execute(delete(SubmissionToken).where(SubmissionToken.user_id == current_user.id,
                                                     SubmissionToken.used_at < now - KEEP))


def replay_if_used(form: SubmissionTokenMixin) -> None:
    """After an edit was refused as a conflict (and rolled back): if this user's submission of the same form has
    been saved meanwhile (a double click whose first request won), answer as a replay of it instead (the request ends
    here). A conflict with oneself is no conflict."""
    token = form.submission_token.data
    if not isinstance(token, str) or not token or len(token) > MAX_LENGTH:
        return
    row = _used(token)
    if row is not None and row.user_id == current_user.id:
        abort(_replay(row, form))
