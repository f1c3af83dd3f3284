"""Argon2id hashing and the passphrase policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH, MAX_LENGTH = 12, 128
# zxcvbn scores 0-4; 3 means "safely unguessable: moderate protection from offline slow-hash scenario".
MIN_STRENGTH = 3


def _hasher() -> PasswordHasher:
    settings = current_app.config["SETTINGS"]
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


# A fixed hash verified for unknown usernames, so a failed login takes as long whether or not the account exists.
_DUMMY_PASSWORD = "casemgmt-timing-equaliser"  # noqa: S105 - not a credential, only hashed for timing


def burn_time() -> None:
    cache = current_app.extensions.setdefault("casemgmt.dummy_hash", hash_password(_DUMMY_PASSWORD))
    verify_password(cache, "x" * 16)


def passphrase_problems(password: str, user_inputs: list[str] | None = None) -> list[str]:
    """Reasons the passphrase is refused, as translated messages; empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [str(_l("Use at least %(n)d characters.", n=MIN_LENGTH))]
    if len(password) > MAX_LENGTH:
        return [str(_l("Use at most %(n)d characters.", n=MAX_LENGTH))]
    # zxcvbn knows common passwords, dictionary words, keyboard patterns, dates, and the user's own names.
    result = zxcvbn(password, user_inputs=[u for u in (user_inputs or []) if u])
    if result["score"] < MIN_STRENGTH:
        return [str(_l("This passphrase is too easy to guess. Try a few unrelated words."))]
    return []
