from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

# A context per value set: Spanish needs "Alta/Baja" for a priority but "Alto/Bajo" for a risk level.
PRIORITIES = ValueSet("TaskPriority", {
    "high": lazy_pgettext("task priority", "High"),
    "normal": lazy_pgettext("task priority", "Normal"),
    "low": lazy_pgettext("task priority", "Low"),
})


class Task(db.Model):
    """A follow-up with a due date and an assignee. The title is plaintext (lists and the home page show it without
    decrypting), so the form asks for no names in it; details about the person go in the encrypted description,
    which exists only on tasks about a case (it is sealed with the case's data key)."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    # The organisation whose task it is (the creator's): a referred-in organisation keeps its own tasks on a case.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    due_on: Mapped[date]
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The version counter (core/versions.py): a save from an older version is shown the conflict page.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    case = relationship("Case")
    assignee = relationship("User", foreign_keys=[assignee_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    done_by = relationship("User", foreign_keys=[done_by_id])

    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        # "My tasks" and the home page: open tasks of one assignee by due date.
        Index("ix_tasks_assignee_done_due", "assignee_id", "done_at", "due_on"),
        Index("ix_tasks_case_due", "case_id", "due_on"),
        Index("ix_tasks_org_due", "organisation_id", "due_on"),
        # The dashboard's overdue tasks: the open ones by due date, with their case, from the index alone.
        Index("ix_tasks_open_due", "due_on", "case_id", sqlite_where=text("done_at IS NULL"),
              postgresql_where=text("done_at IS NULL")),
    )

    @property
    def encryption_case_id(self) -> str | None:
        return self.case_id

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, today: date) -> bool:
        return self.done_at is None and self.due_on < today
