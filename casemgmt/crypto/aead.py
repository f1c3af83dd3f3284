"""AES-256-GCM with associated data that names where a value lives.

Stored layout: format version (1 byte) | key id (4 bytes, big-endian) | nonce (12 bytes) | ciphertext + tag.
The associated data repeats the format version and key id and adds table, column, row id and case id, so a
ciphertext copied to another row, column or case fails authentication instead of decrypting.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
HEADER = struct.Struct(">BI")
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored value failed authentication: tampered, moved, or its key is gone. Says nothing about the data."""

    def __init__(self, context: str = ""):
        super().__init__("encrypted value could not be decrypted")
        self.context = context


def associated_data(*parts: str | int) -> bytes:
    # Length-prefixed so that ("ab", "c") and ("a", "bc") bind differently.
    out = bytearray()
    for part in parts:
        raw = str(part).encode()
        out += struct.pack(">H", len(raw)) + raw
    return bytes(out)


def encrypt(key: bytes, key_id: int, plaintext: bytes, context: tuple[str | int, ...]) -> bytes:
    header = HEADER.pack(FORMAT_VERSION, key_id)
    nonce = os.urandom(NONCE_BYTES)
    ad = associated_data(FORMAT_VERSION, key_id, *context)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, ad)


def key_id_of(blob: bytes) -> int:
    if len(blob) < HEADER.size + NONCE_BYTES + 16:
        raise DecryptionError("truncated")
    version, key_id = HEADER.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise DecryptionError("unknown format")
    return key_id


def decrypt(key: bytes, blob: bytes, context: tuple[str | int, ...]) -> bytes:
    key_id = key_id_of(blob)
    nonce = blob[HEADER.size : HEADER.size + NONCE_BYTES]
    ad = associated_data(FORMAT_VERSION, key_id, *context)
    try:
        return AESGCM(key).decrypt(nonce, blob[HEADER.size + NONCE_BYTES :], ad)
    except InvalidTag:
        raise DecryptionError(":".join(str(p) for p in context[:2])) from None
