"""Overdue tasks. A task becomes overdue when a day passes, which no one records, so no audit event says so: this
sweep looks for them.

One notice per task, assignee and due date: a second sweep the same day, or the next day, adds nothing (the notice's
dedupe key is unique), while a task postponed and overdue again, or handed to someone else, gets a new one. The
sweep reads the tasks that fell due in the last week only, through the tasks' (organisation, due date) index, so it
costs the same at 100,000 cases as at 100; a task overdue for longer is on its assignee's home page and task list
already.

It runs from `casemgmt notifications sweep` (cron, daily or more often) and lazily from the home page, at most once
an hour per organisation: the first home page of the hour claims the organisation's sweep row with a conditional
UPDATE, so two workers never sweep the same organisation at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from casemgmt import outages
from casemgmt.accounts.models import Organisation, User
from casemgmt.core import zones
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.notifications import derive
from casemgmt.notifications.models import Notification, NotificationSweep
from casemgmt.notifications.rules import Notice, path_for
from casemgmt.tasks.models import Task

log = logging.getLogger(__name__)

WINDOW = timedelta(days=7)
LAZY_INTERVAL = timedelta(hours=1)
CHUNK = 500


def dedupe_key(task_id: str, assignee_id: int, due_on) -> str:
    return f"task_overdue:{task_id}:{assignee_id}:{due_on.isoformat()}"


def sweep_overdue(organisation: Organisation) -> int:
    """Notices for the organisation's tasks overdue since the last week; returns how many were added. The caller
    commits."""
    today = zones.local_today(zones.zone(organisation.time_zone))  # overdue by the organisation's calendar
    rows = db.session.execute(
        select(Task.id, Task.assignee_id, Task.case_id, Task.due_on)
        .join(User, User.id == Task.assignee_id)
        .where(Task.organisation_id == organisation.id, Task.due_on < today, Task.due_on >= today - WINDOW,
               Task.done_at.is_(None), User.active.is_(True))
        .order_by(Task.due_on, Task.id)
    ).all()
    added = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        keys = [dedupe_key(r.id, r.assignee_id, r.due_on) for r in chunk]
        known = set(db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys))))
        fresh = [(r, key) for r, key in zip(chunk, keys, strict=True) if key not in known]
        derive.save(
            db.session,
            [Notice(r.assignee_id, "task_overdue", path_for("tasks.edit", task_id=r.id), r.case_id, "task", r.id)
             for r, _key in fresh],
            dedupe_keys=[key for _r, key in fresh],
        )
        added += len(fresh)
    return added


def _claim(organisation_id: int, every: timedelta) -> bool:
    """Whether this request sweeps the organisation now: at most once per `every`, across workers."""
    now = utcnow()
    last = db.session.scalar(select(NotificationSweep.swept_at)
                             .where(NotificationSweep.organisation_id == organisation_id))
    if last is not None and last > now - every:
        return False  # the usual answer, from one primary-key read
    moved = db.session.execute(
        update(NotificationSweep)
        .where(NotificationSweep.organisation_id == organisation_id, NotificationSweep.swept_at <= now - every)
        .values(swept_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 1:
        return True
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    # RETURNING says whether the row went in: psycopg reports no row count for INSERT ... ON CONFLICT.
    inserted = db.session.execute(
        dialect.insert(NotificationSweep).values(organisation_id=organisation_id, swept_at=now)
        .on_conflict_do_nothing().returning(NotificationSweep.organisation_id)
    )
    return inserted.first() is not None


def sweep(organisation: Organisation, every: timedelta = timedelta(0)) -> int | None:
    """Sweep the organisation unless it was swept less than `every` ago (None then). The caller commits."""
    if not _claim(organisation.id, every):
        return None
    return sweep_overdue(organisation)


def sweep_lazily(user) -> None:
    """From the home page: the user's organisation, at most once an hour. Never fails the page: a sweep that cannot
    run now runs at the next hour, or from cron."""
    organisation = getattr(user, "organisation", None)
    if organisation is None:
        return
    try:
        sweep(organisation, LAZY_INTERVAL)
        db.session.commit()
    except Exception as exc:  # the page matters more than a reminder; say so in the log
        if outages.classify(exc) is not None:
            raise  # the database is away or full: the outage page says so (casemgmt/errors.py)
        db.session.rollback()
        log.exception("overdue-task sweep for organisation %s failed", organisation.id)


def sweep_all() -> dict[int, int]:
    """Every organisation now (the CLI); returns the notices added per organisation id."""
    added = {}
    for organisation in db.session.scalars(select(Organisation).order_by(Organisation.id)).all():
        added[organisation.id] = sweep(organisation) or 0
        db.session.commit()
    return added


def sweep_cross_checks():
    """The queue of people to look for in other organisations' cases (matching.crossorg): each holder of a strong
    match is told. Only from the CLI (cron), never from a page: a page that ran it would take longer when another
    organisation holds the person its user just registered."""
    from casemgmt.matching import crossorg

    return crossorg.run_all()


def sweep_tracing_checks():
    """The queue of tracing requests to look for in other organisations' cases (families.tracing_match): each holder
    of a strong match is told. Only from the CLI, never from a page (see sweep_cross_checks), and before it: a person
    re-identified after a tracing request was queued is still in matching's queue then, which is how the tracing
    check leaves them out (tracing_match._elsewhere)."""
    from casemgmt.families import tracing_match

    return tracing_match.run_all()
