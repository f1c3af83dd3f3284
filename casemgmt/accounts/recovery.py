"""Two-factor recovery codes: the way back in when the phone is lost, without an administrator.

Ten single-use codes are made when two-factor login is turned on (and again on request, which kills the old ones).
Each is 10 base32 characters (50 bits), shown once as "ABCDE-FGHIJ". Only an HMAC-SHA256 of the code, bound to the
user, is stored, under a key derived from the key ring: a copy of the database alone cannot be searched offline,
and a code cannot be moved to another account. Online guessing meets the login throttle.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import delete, func, select, update

from casemgmt.accounts.models import RecoveryCode, User
from casemgmt.core.invariants import lock_row
from casemgmt.core.time import utcnow
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db

COUNT = 10
LENGTH = 10
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Read back from paper: 0 and 1 are not in the alphabet, so they can only be O and I.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I"})
SHAPE = re.compile(r"^\s*[A-Za-z2-701]{5}[-\s]?[A-Za-z2-701]{5}\s*$")


def normalise(code: str) -> str:
    return re.sub(r"[-\s]", "", code or "").upper().translate(_LOOKALIKES)


def looks_like(code: str | None) -> bool:
    return bool(code) and SHAPE.match(code) is not None


def _digest(user_id: int, code: str) -> str:
    key = keyring().blind_index_key("two-factor-recovery-codes")
    return hmac.new(key, f"{user_id}:{normalise(code)}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def replace_codes(user: User) -> list[str]:
    """New codes for the user; the old ones (used or not) stop working. Returns them, to be shown once."""
    # Two regenerations at once (two tabs) must not leave both sets working: the user's row queues them, and the
    # second one's DELETE then sees the first one's codes.
    lock_row(User, user.id, User.created_at)
    discard(user)
    codes = [_new_code() for _ in range(COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(user.id, c)) for c in codes)
    return codes


def discard(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def matching_code(user: User, code: str | None) -> int | None:
    """The id of the user's unused code that matches, or None. Spends nothing: see spend()."""
    if not looks_like(code):
        return None
    digest = _digest(user.id, code)
    candidates = db.session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    found = None
    for code_id, stored in candidates:
        if hmac.compare_digest(stored, digest):
            found = code_id
    return found


def spend(code_id: int) -> bool:
    """Mark the code used with one conditional UPDATE: two logins racing with one code, only one wins."""
    spent = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1


def remaining(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0
