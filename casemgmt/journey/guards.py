"""Closure needs a supervisor's approval: the plain stage form cannot close a case by itself."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from casemgmt.cases.stages import register_guard
from casemgmt.extensions import db
from casemgmt.journey.models import ClosureRequest


def closure_approved(case) -> str | None:
    # An approval not yet carried out by a stage change: approve_closure() makes one just before it closes the case,
    # and links it to the closing stage change, so after a reopening the old approval no longer counts.
    approved = db.session.scalar(
        select(ClosureRequest.id)
        .where(ClosureRequest.case_id == case.id, ClosureRequest.status == "approved",
               ClosureRequest.stage_change_id.is_(None))
        .limit(1)
    )
    if approved is None:
        return gettext("Closing a case needs a supervisor's approval. Request the closure from the case page.")
    return None


register_guard("closed", closure_approved)
