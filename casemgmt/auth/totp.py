"""TOTP two-factor login: secrets encrypted at rest, codes valid one step either side and never twice."""

from __future__ import annotations

import time

import pyotp
import segno

from casemgmt.crypto import aead
from casemgmt.crypto.keyring import keyring

ISSUER = "casemgmt"
STEP_SECONDS = 30
VALID_WINDOW = 1


def _context(user_id: int, column: str) -> tuple[str, str, int, str]:
    return ("users", column, user_id, "-")


def seal_secret(user_id: int, column: str, secret: str) -> bytes:
    ring = keyring()
    version = ring.current_version
    return aead.encrypt(ring.user_secret_key(version), version, secret.encode(), _context(user_id, column))


def open_secret(user_id: int, column: str, blob: bytes) -> str:
    version = aead.key_id_of(blob)
    return aead.decrypt(keyring().user_secret_key(version), blob, _context(user_id, column)).decode()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    # A data: URI image, allowed by the CSP's img-src, so no inline script or style is needed.
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def matching_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """Return the time step the code belongs to, if it is valid and newer than the last one accepted."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def reseal_secrets() -> int:
    """Re-seal every stored TOTP secret under the current key version (part of `casemgmt keys rotate`)."""
    from sqlalchemy import select

    from casemgmt.accounts.models import User
    from casemgmt.extensions import db

    current = keyring().current_version
    done = 0
    for user in db.session.scalars(select(User).where(User.totp_secret.is_not(None) | User.totp_pending.is_not(None))):
        for column in ("totp_secret", "totp_pending"):
            blob = getattr(user, column)
            if blob is not None and aead.key_id_of(blob) != current:
                setattr(user, column, seal_secret(user.id, column, open_secret(user.id, column, blob)))
                done += 1
    return done
