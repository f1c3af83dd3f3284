"""KEK rotation: re-wrap every data key under the current KEK, in small committed batches.

Each batch commits on its own, so a rotation killed at any point has lost nothing: keys already re-wrapped are under
the new KEK, the rest are still under the old one, and both versions stay in the key ring and decrypt. Running the
command again picks up the keys that are not yet current.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from casemgmt.crypto.fields import unwrap, wrap
from casemgmt.crypto.keyring import keyring
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db


def pending_count() -> int:
    current = keyring().current_version
    return db.session.scalar(select(func.count()).select_from(DataKey).where(DataKey.kek_version != current)) or 0


def rotate(batch_size: int = 500, on_batch: Callable[[int], None] | None = None) -> int:
    """Re-wrap keys not under the current KEK. Returns how many were re-wrapped in this run."""
    current = keyring().current_version
    done = 0
    while True:
        rows = db.session.scalars(
            select(DataKey)
            .where(DataKey.kek_version != current)
            .order_by(DataKey.case_id, DataKey.key_id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return done
        for row in rows:
            raw = unwrap(row)
            row.wrapped = wrap(row.case_id, row.key_id, raw, current)
            row.kek_version = current
        db.session.commit()
        done += len(rows)
        if on_batch:
            on_batch(len(rows))


def versions_in_use() -> dict[int, int]:
    rows = db.session.execute(select(DataKey.kek_version, func.count()).group_by(DataKey.kek_version))
    return {version: count for version, count in rows}
