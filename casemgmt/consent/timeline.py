"""Consent on the case timeline: recorded and withdrawn (never notes or reasons)."""

from __future__ import annotations

from flask import url_for
from flask_babel import format_date, gettext

from casemgmt.access import Action, allowed
from casemgmt.consent import queries
from casemgmt.core.journey import TimelineEntry, dated

_PURPOSES = (
    ("consents_to_share", lambda: gettext("sharing with other organisations")),
    ("consents_to_return", lambda: gettext("voluntary return")),
    ("consents_to_police_report", lambda: gettext("a report to the police")),
)


def entries(actor, case) -> list[TimelineEntry]:
    # One policy answer for the whole case: every record of a case has the same readers.
    if not allowed(actor, Action.CONSENT_VIEW, case):
        return []
    url = url_for("consent.case_index", case_id=case.id)
    out = []
    for record in queries.records_of(case.id):
        agreed = [label() for field, label in _PURPOSES if getattr(record, field)]
        detail = gettext("Agrees to: %(list)s", list=", ".join(agreed)) if agreed else gettext(
            "The interview only")
        out.append(dated(
            record.obtained_on, record.created_at, kind="consent", url=url, detail=detail,
            title=gettext("Child's assent recorded") if record.is_child_assent else gettext("Consent recorded"),
            actor=record.obtained_by.display_name if record.obtained_by else "",
        ))
        if record.withdrawn_at is not None:
            out.append(TimelineEntry(
                at=record.withdrawn_at, kind="consent", url=url, title=gettext("Consent withdrawn"),
                detail=gettext("Consent of %(date)s", date=format_date(record.obtained_on)),
                actor=record.withdrawn_by.display_name if record.withdrawn_by else "",
            ))
    return out
