"""The queue of tracing requests to look for in OTHER organisations' cases (families.tracing_match).

Why a queue of its own rather than matching's match_cross_checks: that one is keyed by case and checks the case's
person; a tracing request looks for one of the case's family members, and a case may have both queued at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from casemgmt.core.time import utcnow
from casemgmt.extensions import db


class TracingCrossCheck(db.Model):
    """A tracing request queued in the transaction that opened it (or changed whom it looks for) and worked off by
    `casemgmt notifications sweep`, so that nothing the tracing side sees, nor how long it waits, can depend on what
    other organisations hold."""

    __tablename__ = "tracing_cross_checks"

    tracing_request_id: Mapped[str] = mapped_column(ForeignKey("tracing_requests.id", ondelete="CASCADE"),
                                                    primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Failed attempts, so that a request whose check keeps failing does not block the queue.
    attempts: Mapped[int] = mapped_column(default=0)
