"""Argon2id hashing and the passphrase policy."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH, MAX_LENGTH = 12, 128
# zxcvbn scores 0-4; 3 means "safely unguessable: moderate protection from offline slow-hash scenario".
MIN_STRENGTH = 3


# The application's hasher and dummy hash live in app.extensions under this name (see init_app).
EXTENSION_KEY = "casemgmt.passwords"

# A fixed passphrase whose hash is verified when there is no real hash to verify (an unknown username), so that a
# failed login costs one Argon2 verification whether or not the account exists.
_DUMMY_PASSWORD = "casemgmt-timing-equaliser"  # noqa: S105 - not a credential, only hashed for timing


class _Hashing:
    """The configured hasher and the dummy hash made with it.

    The dummy hash is made once per application, so once per worker process, when the application is created (not
    at the first login, which would then be the one slower failure), with the configured (production) cost: a
    verification against it costs what a verification against a real user's hash costs. (It used to be recomputed at
    every call, because `dict.setdefault` evaluates its default first: unknown usernames cost a hash and a
    verification, twice a real account's, which told who has an account.)
    """

    def __init__(self, hasher: PasswordHasher):
        self.hasher = hasher
        self.dummy_hash = hasher.hash(_DUMMY_PASSWORD)


def configured_hasher(settings) -> PasswordHasher:
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=1)


def use_hasher(app: Flask, hasher: PasswordHasher) -> None:
    """Make `hasher` the application's hasher and the maker of its dummy hash. Tests use it as a seam, to count the
    Argon2 operations with a PasswordHasher subclass that still does the real work."""
    app.extensions[EXTENSION_KEY] = _Hashing(hasher)


def init_app(app: Flask, settings) -> None:
    use_hasher(app, configured_hasher(settings))


def _hashing() -> _Hashing:
    return current_app.extensions[EXTENSION_KEY]


def _hasher() -> PasswordHasher:
    return _hashing().hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


def verify_dummy(password: str) -> None:
    """Spend exactly one Argon2 verification at the configured cost, with nothing to learn from it. Every failure
    path of a login that has no real hash to check (an unknown username) calls this."""
    verify_password(_hashing().dummy_hash, password)


def _name_words(user_inputs: list[str] | None) -> list[str]:
    """The user's names as zxcvbn should know them: whole values and their words ("María Quispe" -> "quispe")."""
    words: set[str] = set()
    for value in user_inputs or []:
        if not value:
            continue
        if len(value) >= 3:
            words.add(value.casefold())
        words.update(w for w in re.split(r"[\W_]+", value.casefold()) if len(w) >= 3)
    return sorted(words, key=len, reverse=True)


def _too_weak(password: str, names: list[str]) -> bool:
    # zxcvbn refuses input longer than its max_length (72 by default) to bound its run time; ours is capped at
    # MAX_LENGTH already, which zxcvbn scores in well under a second.
    return zxcvbn(password, user_inputs=names, max_length=MAX_LENGTH)["score"] < MIN_STRENGTH


def passphrase_problems(password: str, user_inputs: list[str] | None = None) -> list[str]:
    """Reasons the passphrase is refused, as translated messages; empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [str(_l("Use at least %(n)d characters.", n=MIN_LENGTH))]
    if len(password) > MAX_LENGTH:
        return [str(_l("Use at most %(n)d characters.", n=MAX_LENGTH))]
    # zxcvbn knows common passwords, dictionary words, keyboard patterns, dates, and the user's own names.
    names = _name_words(user_inputs)
    weak = _too_weak(password, names)
    if not weak and names:
        # zxcvbn underrates a name repeated or decorated ("supervisor-supervisor", "Supervisor12345!"): what is
        # left once the user's names are taken out must be strong on its own (NIST SP 800-63B 5.1.1.2).
        rest = password.casefold()
        for name in names:
            rest = rest.replace(name, "")
        weak = rest != password.casefold() and (not rest or _too_weak(rest, names))
    if weak:
        return [str(_l("This passphrase is too easy to guess. Try a few unrelated words."))]
    return []
