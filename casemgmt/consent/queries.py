"""has_consent(): the one question other features ask before sharing, returning or reporting."""

from __future__ import annotations

from sqlalchemy import select

from casemgmt.consent.models import PURPOSES, ConsentRecord
from casemgmt.extensions import db

_COLUMN = {
    "share": ConsentRecord.consents_to_share,
    "return": ConsentRecord.consents_to_return,
    "police_report": ConsentRecord.consents_to_police_report,
}


def has_consent(case_id: str, purpose: str) -> bool:
    """True when a consent record that is not withdrawn covers `purpose` and the interview itself."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    found = db.session.scalar(
        select(ConsentRecord.id)
        .where(
            ConsentRecord.case_id == case_id,
            ConsentRecord.withdrawn_at.is_(None),
            ConsentRecord.point_interview.is_(True),
            _COLUMN[purpose].is_(True),
        )
        .limit(1)
    )
    return found is not None
