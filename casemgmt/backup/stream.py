"""The encryption layer of an archive: AES-256-GCM over fixed-size chunks, in the STREAM construction (Hoang,
Reyhanitabar, Rogaway and Vizár, "Online authenticated-encryption and its nonce-reuse misuse-resistance", 2015; the
one age and Tink's streaming AEAD use).

Why chunks: one GCM message over a whole archive would have to be held in memory (or released before its tag is
checked); chunks keep memory at one chunk whatever the size of the document store, and each is checked before any of
its bytes are used. Why STREAM: each chunk's nonce is its position and a flag that is set on the last chunk only, so
reordered, dropped or duplicated chunks fail, and so does a file cut at a chunk boundary (its new last chunk was not
sealed as last) or one with bytes added after the end.

Layout: a plaintext header, then chunks of CHUNK_SIZE bytes of plaintext + a 16-byte tag (the last one shorter, and
possibly empty). The header is bound to every chunk as associated data, so it cannot be changed either.

    magic (16) | format (1) | chunk size (4) | key fingerprint (8) | salt (32)

Each archive gets its own key: HKDF-SHA256 of the backup key with the archive's random salt. Nonces are then
counters that never repeat under one key. The fingerprint (an HMAC of a fixed label under the backup key) lets a
wrong key be named as such instead of as a damaged archive; it reveals nothing about the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"casemgmt-backup\n"
FORMAT = 1
CHUNK_SIZE = 1024 * 1024
TAG = 16
_HEADER = struct.Struct(">16sBI8s32s")
HEADER_SIZE = _HEADER.size
_MAX_CHUNK = 64 * 1024 * 1024  # a header claiming more is damaged: refuse rather than allocate it


class ArchiveError(Exception):
    """The archive is not one we made with this key, or it was changed, cut short or extended."""


class WrongKey(ArchiveError):
    pass


def fingerprint(key: bytes) -> bytes:
    return hmac.new(key, b"casemgmt-backup/v1/fingerprint", hashlib.sha256).digest()[:8]


def _archive_key(key: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"casemgmt-backup/v1/stream").derive(key)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object: what is written is sealed chunk by chunk into `out`. close() seals the last chunk;
    without it the archive is unreadable (as it should be: it is incomplete)."""

    def __init__(self, out: BinaryIO, key: bytes, chunk_size: int = CHUNK_SIZE):
        salt = os.urandom(32)
        self._header = _HEADER.pack(MAGIC, FORMAT, chunk_size, fingerprint(key), salt)
        self._aead = AESGCM(_archive_key(key, salt))
        self._out, self._chunk_size = out, chunk_size
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        out.write(self._header)

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > self._chunk_size:  # keep at least one byte back: the last chunk may not be empty
            self._seal(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def _seal(self, chunk: bytes, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._counter, last), chunk, self._header))
        self._counter += 1

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()

    def flush(self) -> None:  # tarfile calls it; chunks are written as they fill
        pass


class DecryptingReader:
    """A read-only file object over an archive. Every chunk is authenticated before its bytes are returned; reaching
    the end checks that the last chunk was sealed as last. Raises ArchiveError, WrongKey."""

    def __init__(self, source: BinaryIO, key: bytes):
        header = source.read(HEADER_SIZE)
        if len(header) != HEADER_SIZE:
            raise ArchiveError("too short to be a casemgmt backup")
        magic, version, chunk_size, print_, salt = _HEADER.unpack(header)
        if magic != MAGIC:
            raise ArchiveError("not a casemgmt backup")
        if version != FORMAT:
            raise ArchiveError(f"backup format {version} is not known to this version of casemgmt")
        if not 0 < chunk_size <= _MAX_CHUNK:
            raise ArchiveError("damaged header")
        if not hmac.compare_digest(print_, fingerprint(key)):
            raise WrongKey(
                f"this archive was made with another backup key (fingerprint {print_.hex()}, the configured key's is "
                f"{fingerprint(key).hex()})"
            )
        self._source, self._header = source, header
        self._aead = AESGCM(_archive_key(key, salt))
        self._sealed_size = chunk_size + TAG
        self._counter = 0
        self._plain = memoryview(b"")
        self._next = source.read(self._sealed_size)  # one chunk of look-ahead tells which chunk is the last
        self._finished = False

    def _open_next(self) -> None:
        current = self._next
        self._next = self._source.read(self._sealed_size) if current else b""
        last = not self._next
        try:
            plain = self._aead.decrypt(_nonce(self._counter, last), current, self._header)
        except InvalidTag:
            where = f"chunk {self._counter}"
            raise ArchiveError(
                f"{where} fails authentication: the archive was changed, cut short or extended" if current
                else "the archive was cut short"
            ) from None
        self._counter += 1
        self._plain = memoryview(plain)
        self._finished = last

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size if size is not None and size >= 0 else None
        while wanted is None or wanted > 0:
            if not self._plain:
                if self._finished:
                    break
                self._open_next()
                continue
            take = len(self._plain) if wanted is None else min(wanted, len(self._plain))
            parts.append(bytes(self._plain[:take]))
            self._plain = self._plain[take:]
            if wanted is not None:
                wanted -= take
        return b"".join(parts)

    def drain(self) -> None:
        """Read to the end: tarfile stops at its end-of-archive marker, which is not the end of the stream."""
        while self.read(self._sealed_size):
            pass
