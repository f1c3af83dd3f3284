"""What a file is, judged by its first bytes. The name and the browser's Content-Type are chosen by the sender, so
neither is trusted: a program renamed "passport.pdf" is still refused."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    signature: bytes


ACCEPTED = (
    FileType("application/pdf", "pdf", b"%PDF-"),
    FileType("image/png", "png", b"\x89PNG\r\n\x1a\n"),
    FileType("image/jpeg", "jpg", b"\xff\xd8\xff"),
)

BY_CONTENT_TYPE = {t.content_type: t for t in ACCEPTED}


def detect(data: bytes) -> FileType | None:
    for file_type in ACCEPTED:
        if data.startswith(file_type.signature):
            return file_type
    return None
