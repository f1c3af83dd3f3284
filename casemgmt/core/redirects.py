"""Safe redirects: only paths on this site, never another host (ASVS 5.1.5)."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    # Reject schemes, hosts, protocol-relative "//host" and backslash tricks browsers treat as "//".
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 32 for ch in target):
        return None
    return target
