"""The blind indexes of matching: one row per key of a person, per index generation.

A person has several keys of one kind (a phonetic code per name part), so the keys are rows rather than columns.
Each row belongs to a generation: the HMAC key (derived from one root-key version) and the size (bits) it was
computed with. While `casemgmt indexes rebuild` computes a new generation, both are written and both are searched;
when it finishes, the new one becomes the only one and the old rows are deleted (matching.rebuild).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from casemgmt.core.time import utcnow
from casemgmt.extensions import db

BUILDING, ACTIVE, RETIRING = "building", "active", "retiring"


class IndexGeneration(db.Model):
    __tablename__ = "match_index_generations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # The root-key version the generation's HMAC keys are derived from, and the index size (crypto.blind_index).
    key_version: Mapped[int]
    bits: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(String(16))
    # The rebuild's progress: the last case id whose keys this generation holds (ids are compared as strings).
    cursor: Mapped[str | None] = mapped_column(String(36))
    done: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class PersonMatchKey(db.Model):
    __tablename__ = "person_match_keys"

    generation: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(4), primary_key=True)  # matching.keys.KINDS
    value: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)

    # The primary key (generation, kind, value, case_id) is the lookup; this one finds a case's rows to replace them.
    __table_args__ = (Index("ix_person_match_keys_case", "case_id", "generation"),)


class CrossCheck(db.Model):
    """A case whose person must be looked for in other organisations' cases (matching.crossorg), queued in the
    transaction that created or re-identified it and worked off later, so that neither the answer nor the time the
    registering user waits can depend on what other organisations hold."""

    __tablename__ = "match_cross_checks"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Failed attempts, so that a case whose check keeps failing does not block the queue (matching.crossorg).
    attempts: Mapped[int] = mapped_column(default=0)
