"""Demo documents: a small generated image standing in for a travel document, on some cases preparing a return."""

from __future__ import annotations

import random
import struct
import zlib

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.documents import operations


def tiny_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (90, 120, 200)) -> bytes:
    """A valid PNG made with the standard library only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    if case.stage != "return" or case.erased_at is not None or rng.random() < 0.5:
        return
    uploader = next((u for u in people.values() if allowed(u, Action.DOCUMENT_UPLOAD, case)), None)
    if uploader is None:
        return
    rgb = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
    operations.upload_document(uploader, case, "travel_document", "travel-document-scan.png", tiny_png(rgb=rgb))
