"""Demo notices. The demo goes through the users' own operations, so its referrals, submitted plans, closure
requests, account requests and tasks make their notices as they are saved (derive.py). What is left for here: the
overdue tasks, which no event announces (the sweep), e-mail addresses for the demo accounts (e-mail stays off but
for the supervisor, and needs an SMTP server anyway), and some notices already read, as a list looks after a few
days of work."""

from __future__ import annotations

import random

from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.notifications import operations, sweep
from casemgmt.notifications.models import Notification

DOMAINS = {0: "casa-esperanza.example", 1: "caminoseguro.example", 2: "iom-haiti.example"}


def populate(case, people: dict[str, User], rng: random.Random) -> None:
    """Nothing per case: each case's notices were made by the operations that built it."""


def finish(people: dict[str, User], rng: random.Random) -> None:
    sweep.sweep_all()
    organisations = sorted({u.organisation_id for u in people.values()})
    for user in people.values():
        domain = DOMAINS.get(organisations.index(user.organisation_id), "example.org")
        operations.set_email_preferences(user, f"{user.username}@{domain}", user.username == "supervisor")
    # Each user has read about half of their older notices; the newest three stay unread, so the bell counts.
    now = utcnow()
    for user in people.values():
        notices = db.session.scalars(
            select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
        ).all()
        for notice in notices[3:]:
            if rng.random() < 0.5:
                notice.read_at = now
