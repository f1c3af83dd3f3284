"""Keys derived from the root key material, one purpose per HKDF label.

Nothing is ever derived from Flask's SECRET_KEY. The KEK of version n comes from root key n. The keys of the matching
indexes come from the version their index generation names (match_index_key), so `casemgmt indexes rebuild` moves
them to the current version like rotation moves data keys. The audit-chain, checkpoint and erasure-journal keys and
blind_index_key (two-factor recovery code hashes, form submission tokens) come from the oldest root key: changing them
would mean re-computing every chain link and signature (a backfill this version does not do), so the oldest version
stays in the ring (crypto.usage).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

EXTENSION_KEY = "casemgmt.keyring"


def _hkdf(root: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"casemgmt/v1", info=label.encode()).derive(root)


class KeyRing:
    def __init__(self, root_keys: Mapping[int, bytes]):
        if not root_keys:
            raise ValueError("a key ring needs at least one root key")
        self._roots = dict(root_keys)
        self.current_version = max(self._roots)
        self._index_root = self._roots[min(self._roots)]

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._roots))

    def kek(self, version: int) -> bytes:
        return self._kek(version)

    @cache  # noqa: B019 - the ring lives as long as the app; derived keys are pure functions of it.
    def _kek(self, version: int) -> bytes:
        try:
            root = self._roots[version]
        except KeyError:
            raise KeyError(f"KEK version {version} is not in the key ring") from None
        return _hkdf(root, f"kek:v{version}")

    @cache  # noqa: B019
    def blind_index_key(self, index_name: str) -> bytes:
        return _hkdf(self._index_root, f"blind-index:{index_name}")

    def match_index_key(self, version: int, kind: str) -> bytes:
        """The key of one kind of matching index (casemgmt.matching) in the index generation built under `version`:
        the generation names its version, so the oldest root key no longer has to key the indexes for ever."""
        return self._match_index_key(version, kind)

    @cache  # noqa: B019
    def _match_index_key(self, version: int, kind: str) -> bytes:
        try:
            root = self._roots[version]
        except KeyError:
            raise KeyError(f"key version {version} is not in the key ring") from None
        return _hkdf(root, f"match-index:{kind}")

    @cache  # noqa: B019
    def audit_key(self) -> bytes:
        return _hkdf(self._index_root, "audit-chain")

    @cache  # noqa: B019
    def audit_checkpoint_key(self) -> bytes:
        # Its own label: a checkpoint signature must never be mistaken for (or reusable as) a chain link.
        return _hkdf(self._index_root, "audit-checkpoint")

    @cache  # noqa: B019
    def erasure_journal_key(self) -> bytes:
        # Signs the erasure journal (casemgmt/backup/erasures.py), kept outside the database like the checkpoints.
        return _hkdf(self._index_root, "erasure-journal")

    def user_secret_key(self, version: int) -> bytes:
        return self._user_secret_key(version)

    @cache  # noqa: B019
    def _user_secret_key(self, version: int) -> bytes:
        return _hkdf(self._roots[version], f"user-secrets:v{version}")


def keyring() -> KeyRing:
    return current_app.extensions[EXTENSION_KEY]
