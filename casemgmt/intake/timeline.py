"""Contacts and screenings on the case timeline (never contact summaries or interview notes)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry, dated
from casemgmt.intake import queries
from casemgmt.intake.vocabulary import CALL_TYPES, CALLER_TYPES, CHANNELS, INDICATORS


def _labels(valueset, codes: list[str]) -> str:
    return ", ".join(valueset.label(c) for c in codes)


def _contact_entries(actor, case) -> list[TimelineEntry]:
    out = []
    # Contacts belong to the organisation that took them: the query keeps only the actor's organisation's.
    for contact in queries.contacts_of_case(actor, case.id):
        who = contact.taken_by.display_name if contact.taken_by else ""
        parts = [CHANNELS.label(contact.channel)]
        if contact.caller_type:
            parts.append(CALLER_TYPES.label(contact.caller_type))
        if contact.indicators:
            parts.append(gettext("indicators: %(list)s", list=_labels(INDICATORS, contact.indicator_list)))
        if contact.linked_as == "opened":
            parts.append(gettext("this contact opened the case"))
        url = url_for("intake.contact", contact_id=contact.id)
        out.append(TimelineEntry(
            at=contact.occurred_at, kind="contact", actor=who, url=url, detail=" · ".join(parts),
            title=gettext("Hotline contact: %(type)s", type=CALL_TYPES.label(contact.call_type)),
        ))
        if contact.handled_at is not None:
            out.append(TimelineEntry(
                at=contact.handled_at, kind="contact", url=url, title=gettext("Contact handled"),
                actor=contact.handled_by.display_name if contact.handled_by else "",
            ))
    return out


def _screening_entries(case) -> list[TimelineEntry]:
    out = []
    for screening in queries.screenings_of(case.id):
        if screening.finding:
            title = gettext("Screening: %(finding)s", finding=htcds.TRAFFICKING_STATUS.label(screening.finding))
            detail = gettext("Decided by %(who)s", who=htcds.STATUS_DECIDED_BY.label(screening.decided_by))
        else:
            title, detail = gettext("Screening"), ""
        if screening.consent_declined:
            detail = " · ".join(p for p in (detail, gettext("the person declined consent to the interview")) if p)
        out.append(dated(
            screening.screened_on, screening.created_at, kind="screening", title=title, detail=detail,
            actor=screening.screened_by.display_name if screening.screened_by else "",
            url=url_for("intake.case_contacts", case_id=case.id),
        ))
    return out


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.CASE_VIEW, case):
        return []
    contacts = _contact_entries(actor, case) if allowed(actor, Action.CONTACT_VIEW) else []
    # Screening interviews are not in the referral scope (access/scope.py): a referral does not learn of them.
    screenings = _screening_entries(case) if allowed(actor, Action.SCREENING_VIEW, case) else []
    return contacts + screenings
