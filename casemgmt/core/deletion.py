"""Deletion with a reason: the row stays, marked deleted, and every page, list, count and report leaves it out.

A session, placement, service, visit or contact recorded by mistake (the wrong case, twice) is deleted by someone
allowed to, who says why. Deleting the row would leave the audit trail pointing at nothing and lose what was
recorded; keeping it unmarked would count it. So the row keeps its content, gains who deleted it, when and why (the
reason is encrypted like every other free text about a person), and `live()` is the condition every read adds. The
content before deletion is also kept in record_revisions (casemgmt/revisions), readable by those allowed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from casemgmt.crypto import EncryptedBytes, Sealed


class Deletable:
    """Mixin for a model whose rows are deleted with a reason (the model must be encrypted per case or contact)."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    deletion_reason: Mapped[Sealed | None] = mapped_column(EncryptedBytes, default=None)

    @classmethod
    def live(cls) -> ColumnElement[bool]:
        """The rows that were not deleted: add it to every read that lists, counts or reports them."""
        return cls.deleted_at.is_(None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
