"""Reading notices: the bell's count on every page, and the list page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import g, has_request_context
from flask_babel import gettext, ngettext
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed
from casemgmt.extensions import db
from casemgmt.notifications import kinds
from casemgmt.notifications.derive import COUNT_CACHE
from casemgmt.notifications.models import Notification


def open_count(user) -> int:
    """Unread notices that still ask for something: one COUNT through the partial index of open notices."""
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None), Notification.done_at.is_(None))
    ) or 0


@dataclass(frozen=True)
class Bell:
    count: int
    label: str  # for screen readers: the count in words, not only a coloured badge


def bell() -> Bell | None:
    """The navigation's bell, counted once per request however often the page asks."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    cached = g.get(COUNT_CACHE)
    if cached is None:
        count = open_count(current_user)
        label = ngettext("Notifications: %(num)d unread notice", "Notifications: %(num)d unread notices",
                         count) if count else gettext("Notifications: nothing unread")
        cached = g.setdefault(COUNT_CACHE, Bell(count, label))
    return cached


def mine(user) -> Select:
    return (
        select(Notification).where(Notification.user_id == user.id)
        .options(selectinload(Notification.case))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


@dataclass(frozen=True)
class Row:
    id: int
    text: str
    link: str
    created_at: datetime
    read: bool
    done: bool


def rows(user, notices: list[Notification]) -> list[Row]:
    """What the list shows: each notice's sentence in the reader's language, naming the case only to a reader who
    may open it now (access can end after the notice was made)."""
    shown = []
    named = _organisations_named(notices)
    by_request = _fund_requests_viewable(user, notices)
    for notice in notices:
        case = notice.case
        reference = case.reference if case is not None and allowed(user, Action.CASE_VIEW, case) else None
        if reference is None and case is not None and notice.object_id in by_request:
            # A finance officer opens no case, but a request they may see names its case by reference (never the
            # person): the reference is what they approve and pay against.
            reference = case.reference
        if notice.kind in kinds.NAMED_ORGANISATION and notice.object_id in named:
            text = kinds.named_text(notice.kind, reference, org=named[notice.object_id])
        else:
            text = kinds.text(notice.kind, reference)
        shown.append(Row(notice.id, text, notice.link, notice.created_at,
                         notice.read_at is not None, notice.done_at is not None))
    return shown


def _fund_requests_viewable(user, notices: list[Notification]) -> set[str]:
    """The ids of the fund requests these notices are about that the reader may view, in one query for the page."""
    from casemgmt.fund.models import FundRequest

    wanted = {n.object_id for n in notices if n.object_type == "fund_request" and n.object_id}
    if not wanted:
        return set()
    requests = db.session.scalars(select(FundRequest).where(FundRequest.id.in_(wanted)))
    return {r.id for r in requests if allowed(user, Action.FUND_VIEW, r)}


def _organisations_named(notices: list[Notification]) -> dict[str, str]:
    """The names of the organisations that notices of a NAMED_ORGANISATION kind refer to (by id, in object_id), in
    one query for the page."""
    from casemgmt.accounts.models import Organisation

    wanted = {int(n.object_id) for n in notices
              if n.kind in kinds.NAMED_ORGANISATION and (n.object_id or "").isdigit()}
    if not wanted:
        return {}
    return {str(o.id): o.name for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(wanted)))}
