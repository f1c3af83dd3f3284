"""Every key comes from its own HKDF label, exactly as documented (issue 10, mutation tests).

A slip in keyring._hkdf() (the label or the salt left out) went unnoticed: the suite derives and uses keys through the
same function, so with the label gone the KEK, the blind-index keys and the audit key all became one key and every
test still passed. Here the keys are recomputed with an independent RFC 5869 HKDF (the standard library's hmac), so
the derivation is pinned: changing it would make every stored value unreadable, and a recovery tool can rely on it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools

from casemgmt.crypto.keyring import KeyRing

ROOT_1 = bytes(range(32))
ROOT_2 = bytes(range(32, 64))


def _hkdf_sha256(root: bytes, label: str, salt: bytes = b"casemgmt/v1") -> bytes:
    """RFC 5869 with SHA-256, one output block (32 bytes)."""
    prk = hmac.new(salt, root, hashlib.sha256).digest()
    return hmac.new(prk, label.encode() + b"\x01", hashlib.sha256).digest()


def test_each_key_is_hkdf_sha256_of_its_root_under_its_own_label():
    """Mutations caught: keyring._hkdf() without (or with another) salt or info, another length or hash."""
    ring = KeyRing({1: ROOT_1, 2: ROOT_2})
    assert ring.kek(1) == _hkdf_sha256(ROOT_1, "kek:v1")
    assert ring.kek(2) == _hkdf_sha256(ROOT_2, "kek:v2")
    assert ring.user_secret_key(2) == _hkdf_sha256(ROOT_2, "user-secrets:v2")
    # Blind indexes and the audit chain come from the oldest root: they cannot be re-keyed by adding a root.
    assert ring.blind_index_key("name") == _hkdf_sha256(ROOT_1, "blind-index:name")
    assert ring.audit_key() == _hkdf_sha256(ROOT_1, "audit-chain")
    # A known answer, so that the standard itself is pinned too.
    assert ring.kek(1).hex() == "d5f241133cf3a8f0b83b95e3d2bf47eabbe2c8804b901af4c2cad8f54ca0084e"


def test_no_two_purposes_share_a_key():
    ring = KeyRing({1: ROOT_1, 2: ROOT_2})
    keys = {
        "kek v1": ring.kek(1), "kek v2": ring.kek(2), "user secrets v1": ring.user_secret_key(1),
        "user secrets v2": ring.user_secret_key(2), "audit chain": ring.audit_key(),
        "blind index name": ring.blind_index_key("name"), "blind index phone": ring.blind_index_key("phone"),
    }
    for (a, key_a), (b, key_b) in itertools.combinations(keys.items(), 2):
        assert key_a != key_b, f"{a} and {b} share a key"
    assert all(len(key) == 32 for key in keys.values())


def test_the_newest_root_encrypts_and_the_oldest_indexes():
    """Mutations caught: KeyRing.__init__ taking the wrong end of the versions."""
    ring = KeyRing({2: ROOT_2, 1: ROOT_1})
    assert ring.current_version == 2 and ring.versions == (1, 2)
    assert ring.blind_index_key("name") == KeyRing({1: ROOT_1}).blind_index_key("name")
