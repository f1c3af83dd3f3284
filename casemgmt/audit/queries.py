"""What each reader of the audit trail sees.

An organisation's administrator and its supervisors see the events of their own organisation's users and the
events about their organisation by anyone else (subject_organisation_id: a denied look at one of its cases, an
account created in it from outside), never other organisations' events beyond those. The two sets are disjoint
and each is read in sequence order from its own index (organisation_id; subject_organisation_id, seq), then merged:
an OR of the two would make the database collect and sort every matching event to show fifty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import and_, func, or_, select, union_all

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.policies import case_scope_filter, prefetch_case_access
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit import sentences
from casemgmt.audit.denials import DENIED
from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.core.pagination import Page, page_window
from casemgmt.core.time import utcnow
from casemgmt.extensions import db

SIGNAL_DAYS = 30


def _own_and_about(organisation_id: int) -> tuple:
    own = AuditEvent.organisation_id == organisation_id
    about = and_(
        AuditEvent.subject_organisation_id == organisation_id,
        or_(AuditEvent.organisation_id.is_(None), AuditEvent.organisation_id != organisation_id),
    )
    return own, about


def events_page(actor, action: str | None = None, denied_only: bool = False, per_page: int = 50,
                page: int | None = None, *, actor_id: int | None = None, case_id: str | None = None,
                since: datetime | None = None, until: datetime | None = None) -> Page:
    """One page of the events the actor may read, newest first. The filters narrow both sides the same way:
    who did it (actor_id), what (action), which case (case_id), when (since <= occurred_at < until, UTC)."""
    authorize(actor, Action.AUDIT_VIEW)
    filters = []
    if action:
        filters.append(AuditEvent.action == action)
    if denied_only:
        filters.append(AuditEvent.action == DENIED)
    if actor_id is not None:
        filters.append(AuditEvent.actor_id == actor_id)
    if case_id is not None:
        filters.append(AuditEvent.case_id == case_id)
    if since is not None:
        filters.append(AuditEvent.occurred_at >= since)
    if until is not None:
        filters.append(AuditEvent.occurred_at < until)
    # Nobody reads the whole installation's trail on a page: an administrator of one organisation learning what
    # another organisation's staff did (which cases they opened, when) is the metadata leak finding 1 closed for
    # accounts. The whole chain is for `casemgmt audit verify` at the shell.
    if actor.organisation_id is None:  # no organisation, nothing of one to see (never "organisation_id IS NULL")
        return Page(items=[], page=1, per_page=per_page, total=0)
    parts = _own_and_about(actor.organisation_id)
    total = sum(
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(part, *filters)) or 0 for part in parts
    )
    number, offset = page_window(total, per_page, page)
    # Each side needs at most offset + per_page of its newest events to fill this page.
    newest = [
        select(AuditEvent.seq).where(part, *filters).order_by(AuditEvent.seq.desc()).limit(offset + per_page).subquery()
        for part in parts
    ]
    merged = union_all(*(select(side.c.seq) for side in newest)).subquery()
    window = select(merged.c.seq).order_by(merged.c.seq.desc()).limit(per_page).offset(offset)
    items = db.session.scalars(
        select(AuditEvent).where(AuditEvent.seq.in_(window)).order_by(AuditEvent.seq.desc())
    ).all()
    return Page(items=list(items), page=number, per_page=per_page, total=total)


def denied_attempts_on_organisation(actor, days: int = SIGNAL_DAYS) -> int:
    """Denied attempts by other organisations' users on this organisation's records in the last `days` days."""
    if actor.organisation_id is None:
        return 0
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.subject_organisation_id == actor.organisation_id,
            AuditEvent.action == DENIED,
            AuditEvent.occurred_at >= utcnow() - timedelta(days=days),
        )
    ) or 0


def organisation_names(events) -> dict[int, str]:
    """The actors' organisations on one page: a denial by another organisation's user names who probed."""
    ids = {e.organisation_id for e in events if e.organisation_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def organisation_users(actor) -> list[tuple[int, str]]:
    """(id, display name) of the reader's organisation's accounts, disabled ones too: the filter's choices."""
    if actor.organisation_id is None:
        return []
    return [tuple(row) for row in db.session.execute(
        select(User.id, User.display_name).where(User.organisation_id == actor.organisation_id)
        .order_by(User.display_name, User.id)
    )]


def _known_cases(actor):
    """The cases whose reference the reader may learn: their organisation's own, and those shared with them. A
    reference of any other case is never shown nor looked up: the prober's supervisor must not learn what their user
    was refused (the case exists, its reference) beyond what the event already says."""
    if actor.organisation_id is None:
        return Case.id.is_(None)
    return or_(Case.organisation_id == actor.organisation_id, case_scope_filter(actor))


def case_for_reference(actor, reference: str) -> str | None:
    """The id of the case with this reference among those the reader may know, else None (unknown and another
    organisation's read alike)."""
    return db.session.scalar(
        select(Case.id).where(Case.reference == reference.strip().upper(), _known_cases(actor)).limit(1)
    )


@dataclass(frozen=True)
class EventLine:
    """One event as the audit pages show it: a sentence, who (name, role, organisation), and the raw event."""

    event: AuditEvent
    sentence: str
    actor: str
    organisation: str
    case_reference: str | None
    details: str  # the details JSON, indented for the auditor
    case_openable: bool = False  # the reader may open the case: its reference links to it (else plain text)


def _details(event: AuditEvent) -> dict:
    try:
        found = json.loads(event.details or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _pretty(event: AuditEvent) -> str:
    try:
        return json.dumps(json.loads(event.details or "{}"), indent=1, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return event.details or ""


def _user_target(event: AuditEvent) -> int | None:
    if event.object_type == "user" and event.object_id and event.object_id.isascii() and event.object_id.isdigit():
        return int(event.object_id)
    return None


def describe(actor, events) -> list[EventLine]:
    """The page's events in people's words. Three queries whatever the page's size: the accounts named (actors and
    the accounts events are about), the cases' references, the organisations named."""
    decoded = {e.seq: _details(e) for e in events}
    user_ids = {e.actor_id for e in events if e.actor_id is not None}
    user_ids |= {uid for e in events if (uid := _user_target(e)) is not None}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    case_ids = {e.case_id for e in events if e.case_id}
    known = db.session.scalars(select(Case).where(Case.id.in_(case_ids), _known_cases(actor))).all() \
        if case_ids else []
    references = {case.id: case.reference for case in known}
    # A reference links to the case only for a reader who may open it: an administrator reads the trail but no case,
    # and a link that answers 403 is an offer that will be refused. One batched look at the grants for the page.
    openable = set()
    if known and allowed(actor, Action.CASE_VIEW):
        prefetch_case_access(actor, [case.id for case in known])
        openable = {case.id for case in known if allowed(actor, Action.CASE_VIEW, case)}
    org_ids = {e.organisation_id for e in events if e.organisation_id is not None}
    org_ids |= {d["to_organisation"] for d in decoded.values() if isinstance(d.get("to_organisation"), int)}
    organisations = dict(db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
    ).all()) if org_ids else {}
    lines = []
    for event in events:
        details = decoded[event.seq]
        if event.actor_id in names:
            who = names[event.actor_id]
        elif event.actor_id is None and event.actor_name == "system":
            who = gettext("The system")
        elif event.actor_id is None:
            who = gettext("Someone")
        else:
            who = event.actor_name
        reference = references.get(event.case_id) if event.case_id else None
        target = _user_target(event)
        lines.append(EventLine(
            event=event,
            sentence=sentences.sentence(
                event.action, details, actor=who,
                case=reference, case_hidden=bool(event.case_id) and reference is None,
                target=names.get(target) if target is not None else None,
                organisation=organisations.get(receiving) if isinstance(receiving := details.get("to_organisation"),
                                                                        int) else None,
            ),
            actor=who,
            organisation=organisations.get(event.organisation_id, ""),
            case_reference=reference,
            details=_pretty(event),
            case_openable=event.case_id in openable,
        ))
    return lines
