"""The archive's encryption layer (STREAM over AES-256-GCM): what goes in comes out, and any change, cut or
extension of the file fails authentication, including a cut at a chunk boundary, which plain per-chunk AES-GCM
would accept."""

from __future__ import annotations

import io
import os

import pytest

from casemgmt.backup.stream import HEADER_SIZE, TAG, ArchiveError, DecryptingReader, EncryptingWriter, WrongKey

KEY = os.urandom(32)
CHUNK = 64


def seal(data: bytes, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, key, chunk_size=CHUNK)
    for start in range(0, len(data), 50):  # writes that straddle chunk boundaries
        writer.write(data[start:start + 50])
    writer.close()
    return out.getvalue()


def open_all(blob: bytes, key: bytes = KEY) -> bytes:
    reader = DecryptingReader(io.BytesIO(blob), key)
    data = reader.read()
    reader.drain()
    return data


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_what_is_sealed_opens_unchanged(size):
    data = os.urandom(size)
    blob = seal(data)
    assert open_all(blob) == data
    reader = DecryptingReader(io.BytesIO(blob), KEY)  # small reads give the same bytes
    assert b"".join(iter(lambda: reader.read(7), b"")) == data


def test_each_archive_has_its_own_key_and_nonces():
    data = b"x" * (2 * CHUNK)
    assert seal(data)[HEADER_SIZE:] != seal(data)[HEADER_SIZE:]


def _chunks(blob: bytes) -> list[bytes]:
    body = blob[HEADER_SIZE:]
    return [body[i:i + CHUNK + TAG] for i in range(0, len(body), CHUNK + TAG)]


def _damaged(blob: bytes, how: str) -> bytes:
    header, chunks = blob[:HEADER_SIZE], _chunks(blob)
    if how == "flip-header":
        return blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]
    if how == "flip-body":
        middle = HEADER_SIZE + (len(blob) - HEADER_SIZE) // 2
        return blob[:middle] + bytes([blob[middle] ^ 0x40]) + blob[middle + 1:]
    if how == "cut-at-chunk-boundary":
        return header + b"".join(chunks[:-1])
    if how == "cut-mid-chunk":
        return blob[:-5]
    if how == "header-only":
        return header
    if how == "appended":
        return blob + chunks[0]
    if how == "reordered":
        return header + chunks[1] + chunks[0] + b"".join(chunks[2:])
    if how == "chunk-dropped":
        return header + chunks[0] + b"".join(chunks[2:])
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["flip-header", "flip-body", "cut-at-chunk-boundary", "cut-mid-chunk", "header-only",
                                 "appended", "reordered", "chunk-dropped"])
def test_any_change_cut_or_extension_fails(how):
    blob = seal(os.urandom(4 * CHUNK + 10))
    with pytest.raises(ArchiveError):
        open_all(_damaged(blob, how))


def test_a_wrong_key_is_named_as_such():
    blob = seal(b"data")
    with pytest.raises(WrongKey, match="another backup key"):
        DecryptingReader(io.BytesIO(blob), os.urandom(32))


def test_something_else_is_not_mistaken_for_an_archive():
    with pytest.raises(ArchiveError, match="not a casemgmt backup"):
        DecryptingReader(io.BytesIO(b"PK\x03\x04" + os.urandom(100)), KEY)
