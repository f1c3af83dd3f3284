"""Wrapped per-case data keys. Deleting a case's rows here makes all its encrypted fields unreadable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casemgmt.core.time import utcnow
from casemgmt.extensions import db


class DataKey(db.Model):
    __tablename__ = "data_keys"

    case_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kek_version: Mapped[int]
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Rotation looks for keys not yet under the current KEK.
    __table_args__ = (Index("ix_data_keys_kek_version", "kek_version"),)
