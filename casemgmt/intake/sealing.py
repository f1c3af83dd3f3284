"""Encryption of a contact's free text (summary, caller's name and phone) before and after it joins a case.

Encrypted values normally live under their case's data key (crypto.fields), but most hotline contacts never become
cases, and data keys can only belong to a case. A contact without a case therefore gets a random data key of its own,
wrapped under the current KEK (the contact id and KEK version bound as associated data) and kept in the contact row.
Values are AES-256-GCM under that key, bound to table, column and row like every other encrypted value. When the
contact is attached to a case its values are re-sealed under the case's data key and its own key is dropped, so that
erasing the case (crypto-shredding) erases what the contact said about the person as well.
"""

from __future__ import annotations

import os

from flask import g
from sqlalchemy import select

from casemgmt.crypto import aead, seal, unseal
from casemgmt.crypto.fields import DATA_KEY_BYTES, DecryptionError, Sealed
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db
from casemgmt.intake.models import Contact
from casemgmt.revisions.models import RecordRevision

SEALED_COLUMNS = ("summary", "caller_name", "caller_phone")
_KEY_ID = 1  # a contact has exactly one key of its own
_NO_CASE = "-"  # stands for the case id in the associated data of a contact without a case


def _wrap_context(contact_id: str, kek_version: int) -> tuple[str | int, ...]:
    return ("contacts", "wrapped", contact_id, kek_version)


def _cache() -> dict[str, bytes]:
    # Per request only, like the case data keys.
    if "_casemgmt_contact_keys" not in g:
        g._casemgmt_contact_keys = {}
    return g._casemgmt_contact_keys


def _own_key(contact: Contact) -> bytes:
    cache = _cache()
    if contact.id not in cache:
        if contact.wrapped_key is None or contact.key_version is None:
            raise _error(contact, "wrapped_key")
        try:
            cache[contact.id] = aead.decrypt(
                keyring().kek(contact.key_version), contact.wrapped_key,
                _wrap_context(contact.id, contact.key_version),
            )
        except (aead.DecryptionError, KeyError) as exc:
            raise _error(contact, "wrapped_key") from exc
    return cache[contact.id]


def _error(contact: Contact, column: str) -> DecryptionError:
    err = DecryptionError(f"contacts.{column}")
    err.table, err.column, err.row_id, err.case_id = "contacts", column, str(contact.id), contact.case_id
    return err


def give_own_key(contact: Contact) -> None:
    """A new contact without a case: create its key (the contact id must be set)."""
    raw = os.urandom(DATA_KEY_BYTES)
    version = keyring().current_version
    contact.key_version = version
    contact.wrapped_key = aead.encrypt(keyring().kek(version), version, raw, _wrap_context(contact.id, version))
    _cache()[contact.id] = raw


def _context(contact: Contact, column: str) -> tuple[str, str, str, str]:
    return (Contact.__tablename__, column, str(contact.id), _NO_CASE)


def seal_contact(contact: Contact, column: str, value: str | None) -> None:
    if contact.case_id is not None:
        seal(contact, column, value)
        return
    if not value:
        setattr(contact, column, None)
        return
    blob = aead.encrypt(_own_key(contact), _KEY_ID, value.encode(), _context(contact, column))
    setattr(contact, column, Sealed(blob))


def unseal_contact(contact: Contact, column: str) -> str | None:
    sealed: Sealed | None = getattr(contact, column)
    if sealed is None:
        return None
    if contact.wrapped_key is None:
        return unseal(contact, column)
    try:
        return aead.decrypt(_own_key(contact), sealed.blob, _context(contact, column)).decode()
    except aead.DecryptionError as exc:
        raise _error(contact, column) from exc


def _beside_context(obj, column: str) -> tuple[str, str, str, str]:
    return (obj.__tablename__, column, str(obj.id), _NO_CASE)


def seal_beside(contact: Contact, obj, column: str, value: str | None) -> None:
    """Seal a value kept in another row about this contact (an earlier version of it, casemgmt/revisions) under the
    contact's key: its case's data key once it has a case, else its own key, bound to that row like any value."""
    if contact.case_id is not None:
        seal(obj, column, value)
        return
    if not value:
        setattr(obj, column, None)
        return
    setattr(obj, column, Sealed(aead.encrypt(_own_key(contact), _KEY_ID, value.encode(), _beside_context(obj, column))))


def unseal_beside(contact: Contact, obj, column: str) -> str | None:
    sealed: Sealed | None = getattr(obj, column)
    if sealed is None:
        return None
    if obj.encryption_case_id is not None:
        return unseal(obj, column)
    try:
        return aead.decrypt(_own_key(contact), sealed.blob, _beside_context(obj, column)).decode()
    except aead.DecryptionError as exc:
        raise _error(contact, column) from exc


def move_to_case(contact: Contact, case_id: str) -> None:
    """Link the contact to a case and re-seal its values under the case's data key, the earlier versions of it
    (record_revisions) too: erasing the case then shreds all of them, and the contact's own key can go."""
    values = {column: unseal_contact(contact, column) for column in SEALED_COLUMNS}
    kept = db.session.scalars(select(RecordRevision).where(RecordRevision.record_type == "contact",
                                                           RecordRevision.record_id == contact.id)).all()
    earlier = [(revision, {c: unseal_beside(contact, revision, c) for c in ("content", "reason")})
               for revision in kept]
    contact.case_id = case_id
    contact.wrapped_key = None
    contact.key_version = None
    _cache().pop(contact.id, None)
    for column, value in values.items():
        seal(contact, column, value)
    for revision, texts in earlier:
        revision.case_id = case_id
        for column, value in texts.items():
            seal(revision, column, value)


def rewrap_own_keys(batch_size: int = 500) -> int:
    """KEK rotation for the keys of contacts without a case (crypto.rotation re-wraps case data keys only).
    Returns how many were re-wrapped; leaves the commit to the caller."""
    current = keyring().current_version
    done = 0
    rows = db.session.scalars(
        select(Contact).where(Contact.wrapped_key.is_not(None), Contact.key_version != current).limit(batch_size)
    ).all()
    for contact in rows:
        raw = _own_key(contact)
        contact.wrapped_key = aead.encrypt(keyring().kek(current), current, raw, _wrap_context(contact.id, current))
        contact.key_version = current
        done += 1
    return done
