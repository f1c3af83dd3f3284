"""Crisis contacts nobody has acted on yet: the first thing on the home page of those who answer them."""

from __future__ import annotations

from datetime import timedelta

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.access.roles import Role
from casemgmt.core.journey import WorkItem
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.i18n import format_datetime
from casemgmt.intake.models import Contact
from casemgmt.intake.queries import waiting_condition
from casemgmt.intake.vocabulary import CHANNELS

# A crisis call asks for help within 24 hours (DOMAIN.md, "Hotline intake").
CRISIS_WINDOW = timedelta(hours=24)
LIMIT = 50
CRISIS_ROLES = frozenset({Role.HOTLINE, Role.CASEWORKER, Role.SUPERVISOR})


def items(user) -> list[WorkItem]:
    if getattr(user, "role", None) not in CRISIS_ROLES or not allowed(user, Action.CONTACT_VIEW):
        return []
    rows = db.session.scalars(
        select(Contact)
        .where(Contact.organisation_id == user.organisation_id, waiting_condition())
        .order_by(Contact.occurred_at.desc())
        .limit(LIMIT)
    ).all()
    now = utcnow()
    out = []
    for contact in rows:
        flags = [f for f, on in ((gettext("a minor is involved"), contact.minor_involved),
                                 (gettext("immediate danger"), contact.immediate_danger)) if on]
        title = gettext("Crisis contact of %(when)s by %(channel)s", when=format_datetime(contact.occurred_at),
                        channel=CHANNELS.label(contact.channel))
        if flags:
            title = f"{title} ({', '.join(flags)})"
        deadline = contact.occurred_at + CRISIS_WINDOW
        out.append(WorkItem(
            section="crisis", title=title, url=url_for("intake.contact", contact_id=contact.id),
            due=deadline.date(), overdue=now > deadline, urgent=True,
        ))
    return out
