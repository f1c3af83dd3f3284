"""Encrypted columns and the two verbs that cross the boundary: seal() and unseal().

A model declares an encrypted field in one line::

    given_name: Mapped[Sealed | None] = mapped_column(EncryptedBytes)

The column holds only `Sealed` ciphertext; assigning a str raises, so plaintext cannot reach the database by mistake.
Decryption is an explicit call, made only where a policy has allowed it, which keeps list pages and reports from
decrypting whole tables.
"""

from __future__ import annotations

import os
import uuid

from flask import g
from sqlalchemy import LargeBinary, delete, select
from sqlalchemy.types import TypeDecorator

from casemgmt.crypto import aead
from casemgmt.crypto.keyring import keyring
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db

DATA_KEY_BYTES = 32


class Sealed:
    """Ciphertext as stored. Its repr never shows content, so it cannot leak into logs."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes):
        self.blob = bytes(blob)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.blob == self.blob

    def __hash__(self) -> int:
        return hash(self.blob)

    def __repr__(self) -> str:
        return f"<Sealed {len(self.blob)} bytes>"


class EncryptedBytes(TypeDecorator):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.blob
        raise TypeError("encrypted columns accept only values made by casemgmt.crypto.seal()")

    def process_result_value(self, value, dialect):
        return None if value is None else Sealed(value)


def _cache() -> dict[tuple[str, int], bytes]:
    # Per request (or CLI app context) only: the application keeps no key state between requests.
    if "_casemgmt_data_keys" not in g:
        g._casemgmt_data_keys = {}
    return g._casemgmt_data_keys


def _wrap_context(case_id: str, key_id: int, kek_version: int) -> tuple[str | int, ...]:
    return ("data_keys", "wrapped", case_id, key_id, kek_version)


def wrap(case_id: str, key_id: int, raw: bytes, kek_version: int) -> bytes:
    return aead.encrypt(keyring().kek(kek_version), kek_version, raw, _wrap_context(case_id, key_id, kek_version))


def unwrap(row: DataKey) -> bytes:
    return aead.decrypt(
        keyring().kek(row.kek_version), row.wrapped, _wrap_context(row.case_id, row.key_id, row.kek_version)
    )


def create_data_key(case_id: str) -> int:
    """Add a fresh data key for a case to the session and return its key id."""
    existing = db.session.scalar(select(db.func.max(DataKey.key_id)).where(DataKey.case_id == case_id))
    key_id = (existing or 0) + 1
    raw = os.urandom(DATA_KEY_BYTES)
    version = keyring().current_version
    db.session.add(
        DataKey(case_id=case_id, key_id=key_id, kek_version=version, wrapped=wrap(case_id, key_id, raw, version))
    )
    _cache()[(case_id, key_id)] = raw
    _newest()[case_id] = key_id
    return key_id


def _newest() -> dict[str, int]:
    # The newest key id per case, kept apart from the key cache: the cache also holds older keys loaded to decrypt
    # old values, and the highest id among those is not necessarily the case's newest key.
    if "_casemgmt_newest_key" not in g:
        g._casemgmt_newest_key = {}
    return g._casemgmt_newest_key


def _current_key_id(case_id: str) -> int:
    newest = _newest()
    if case_id not in newest:
        key_id = db.session.scalar(select(db.func.max(DataKey.key_id)).where(DataKey.case_id == case_id))
        if key_id is None:
            raise aead.DecryptionError("no data key")
        newest[case_id] = key_id
    return newest[case_id]


def _data_key(case_id: str, key_id: int) -> bytes:
    cache = _cache()
    if (case_id, key_id) not in cache:
        row = db.session.get(DataKey, (case_id, key_id))
        if row is None:
            raise aead.DecryptionError("data key erased")
        cache[(case_id, key_id)] = unwrap(row)
    return cache[(case_id, key_id)]


def preload_keys(case_ids: list[str]) -> None:
    """Unwrap the data keys of many cases with one query, so a page of N cases does not make N key look-ups."""
    cache = _cache()
    cached = {k[0] for k in cache}
    wanted = [cid for cid in set(case_ids) if cid not in cached]
    if not wanted:
        return
    for row in db.session.scalars(select(DataKey).where(DataKey.case_id.in_(wanted))):
        cache[(row.case_id, row.key_id)] = unwrap(row)


def forget_keys(case_ids) -> None:
    """Drop unwrapped keys a long job no longer needs (a bulk export forgets each batch's keys once written)."""
    cache = _cache()
    drop = set(case_ids)
    for k in [k for k in cache if k[0] in drop]:
        del cache[k]


def _context(obj, column: str) -> tuple[str, str, str, str]:
    return (obj.__tablename__, column, str(obj.id), str(obj.encryption_case_id))


def seal(obj, column: str, value: str | None) -> None:
    """Encrypt `value` into `obj.<column>`, bound to the object's table, column, row and case."""
    if value is None or value == "":
        setattr(obj, column, None)
        return
    if obj.id is None:
        obj.id = str(uuid.uuid4())
    case_id = str(obj.encryption_case_id)
    key_id = _current_key_id(case_id)
    blob = aead.encrypt(_data_key(case_id, key_id), key_id, value.encode(), _context(obj, column))
    setattr(obj, column, Sealed(blob))


def unseal(obj, column: str) -> str | None:
    sealed: Sealed | None = getattr(obj, column)
    if sealed is None:
        return None
    try:
        key_id = aead.key_id_of(sealed.blob)
        key = _data_key(str(obj.encryption_case_id), key_id)
        return aead.decrypt(key, sealed.blob, _context(obj, column)).decode()
    except aead.DecryptionError as exc:
        raise DecryptionError.at(obj, column) from exc


def seal_bytes(case_id: str, context: tuple[str | int, ...], data: bytes) -> bytes:
    """Encrypt bytes kept outside the database (document files) under the case's current data key, bound to
    `context` (e.g. ("documents", "content", document_id, case_id)). Erasing the case's keys makes them unreadable."""
    key_id = _current_key_id(case_id)
    return aead.encrypt(_data_key(case_id, key_id), key_id, data, context)


def open_bytes(case_id: str, context: tuple[str | int, ...], blob: bytes) -> bytes:
    """Decrypt what seal_bytes() made; raises aead.DecryptionError when tampered, moved or erased."""
    key_id = aead.key_id_of(blob)
    return aead.decrypt(_data_key(case_id, key_id), blob, context)


class DecryptionError(aead.DecryptionError):
    """Raised by unseal(); carries where it happened (ids only) so the failure can be audited."""

    @classmethod
    def at(cls, obj, column: str) -> DecryptionError:
        err = cls(f"{obj.__tablename__}.{column}")
        err.table = obj.__tablename__
        err.column = column
        err.row_id = str(obj.id)
        err.case_id = str(obj.encryption_case_id)
        return err


def shred(case_id: str) -> int:
    """Delete every data key of a case (crypto-shredding). Returns how many keys were deleted."""
    result = db.session.execute(delete(DataKey).where(DataKey.case_id == case_id))
    for key in [k for k in _cache() if k[0] == case_id]:
        del _cache()[key]
    _newest().pop(case_id, None)
    return result.rowcount or 0
