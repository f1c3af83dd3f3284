"""Grants: access to a case of another organisation, one record whatever the reason for it.

A feature that shares a case creates grants through grant() and ends them through revoke(): an accepted referral, an
accepted return hand-off, a transfer waiting for the receiving organisation's answer. Withdrawing the consent a grant
relied on suspends it at once (suspend_for_consent); resume() lifts the suspension under another consent. The access
policies read this table only, so the access layer needs nothing from the features that share cases.

One reason gives one row per audience, so each row says plainly whom it reaches:
- organisation_id, user_id NULL: the organisation's staff whose role the level reaches organisation-wide
  (AUDIENCES: supervisors and mission staff for "referral", supervisors only for "review");
- organisation_id and user_id: one person of that organisation whose role the organisation-wide row does not reach
  (the caseworker who accepted a referral: caseworkers see the cases they work on, never the whole organisation's).
The rows of one reason share reason_kind and reason_id and are suspended, resumed and revoked together.

Levels (what a grant reaches is a column of access/scope.py):
- "referral": identity, consent, documents, the return and reintegration, the receiving organisation's own tasks;
- "review": reading what the receiving supervisors need to decide on a transfer, changing nothing.

Audit events ("grant.create", "grant.suspend", "grant.resume", "grant.revoke") name the case, the grant and both
organisations (`to_organisation`, `from_organisation`) and nothing about the person.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from casemgmt.access.roles import Role
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core.time import utcnow
from casemgmt.extensions import db

LEVELS = ("referral", "review")
# Who of the receiving organisation an organisation-wide row reaches, per level.
AUDIENCES: dict[str, frozenset[str]] = {
    "referral": frozenset({Role.SUPERVISOR, Role.MISSION}),
    "review": frozenset({Role.SUPERVISOR}),
}
# Levels whose cases join the user's case list and search: a case under review is read to decide, not worked on.
LISTED_LEVELS = ("referral",)
REASON_KINDS = ("referral", "return_handoff", "transfer_pending")
# Why a grant is suspended: a code the pages translate, never free text.
CONSENT_WITHDRAWN = "consent_withdrawn"


class CaseGrant(db.Model):
    __tablename__ = "case_access_grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    level: Mapped[str] = mapped_column(String(16))
    reason_kind: Mapped[str] = mapped_column(String(24))
    reason_id: Mapped[str] = mapped_column(String(36))
    # The consent record the sharing relies on; NULL when it rests on an override (a minor, imminent danger).
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consent_records.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    suspended_why: Mapped[str | None] = mapped_column(String(24))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        # A case's grants, for one case or a page of cases (policies' by_case look-ups).
        Index("ix_case_access_grants_case", "case_id"),
        # Every case an organisation (or one of its caseworkers) holds a live grant to, for the case list and
        # search; the case id makes the look-up index-only.
        Index("ix_case_access_grants_org_live", "organisation_id", "user_id", "case_id",
              postgresql_where=text("revoked_at IS NULL AND suspended_at IS NULL"),
              sqlite_where=text("revoked_at IS NULL AND suspended_at IS NULL")),
        # The rows of one reason (a referral revoked), and those relying on a consent (the consent withdrawn).
        Index("ix_case_access_grants_reason", "reason_kind", "reason_id"),
        Index("ix_case_access_grants_consent", "consent_id"),
    )

    @property
    def live(self) -> bool:
        return (self.revoked_at is None and self.suspended_at is None
                and (self.expires_at is None or self.expires_at > utcnow()))


def _role(user) -> str:
    return getattr(user, "role", None) or ""


def _owner(case_id: str) -> int | None:
    case = db.session.get(Case, case_id)
    return case.organisation_id if case is not None else None


def _audit(action: str, actor, rows: list[CaseGrant], **details) -> None:
    """One event per reason (its rows change together), on its organisation-wide row."""
    first = next((r for r in rows if r.user_id is None), rows[0])
    record_event(action, object_type="grant", object_id=first.id, case_id=first.case_id, actor=actor, details={
        "to_organisation": first.organisation_id, "from_organisation": _owner(first.case_id),
        "level": first.level, "reason_kind": first.reason_kind, "reason_id": first.reason_id,
        "grants": sorted(r.id for r in rows), **details,
    })


def grant(actor, case: Case, organisation_id: int, level: str, reason_kind: str, reason_id: str, *, user=None,
          consent_id: str | None = None, expires_at: datetime | None = None) -> list[CaseGrant]:
    """Give `organisation_id` access to `case` at `level`, for this reason; `user` (of that organisation) also gets
    it when the organisation-wide row would not reach them. The caller has checked its own policy."""
    if level not in LEVELS or reason_kind not in REASON_KINDS:
        raise ValueError(f"unknown grant {level!r} for {reason_kind!r}")
    now = utcnow()
    common = dict(case_id=case.id, organisation_id=organisation_id, level=level, reason_kind=reason_kind,
                  reason_id=reason_id, consent_id=consent_id, granted_at=now,
                  granted_by_id=getattr(actor, "id", None), expires_at=expires_at)
    rows = [CaseGrant(id=new_uuid(), user_id=None, **common)]
    if user is not None and _role(user) not in AUDIENCES[level] and user.organisation_id == organisation_id:
        rows.append(CaseGrant(id=new_uuid(), user_id=user.id, **common))
    db.session.add_all(rows)
    db.session.flush()  # the policies' per-request answers are forgotten on flush: the grant counts at once
    _audit("grant.create", actor, rows, personal=len(rows) > 1, consent=consent_id is not None)
    return rows


def of_reason(reason_kind: str, reason_id: str) -> list[CaseGrant]:
    """The reason's rows that are not revoked (suspended ones included)."""
    return list(db.session.scalars(
        select(CaseGrant).where(CaseGrant.reason_kind == reason_kind, CaseGrant.reason_id == reason_id,
                                CaseGrant.revoked_at.is_(None))
    ))


def revoke(actor, reason_kind: str, reason_id: str) -> list[CaseGrant]:
    """End the access this reason gave, for good (a referral revoked, a hand-off withdrawn, a transfer decided)."""
    rows = of_reason(reason_kind, reason_id)
    if not rows:
        return []
    now = utcnow()
    for row in rows:
        row.revoked_at, row.revoked_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    _audit("grant.revoke", actor, rows)
    return rows


def suspend_for_consent(actor, consent_id: str) -> list[CaseGrant]:
    """The person withdrew this consent: every grant that relied on it stops at once. The rows stay (the owning
    organisation may resume them under a new consent); an audit event per reason tells both organisations."""
    rows = list(db.session.scalars(
        select(CaseGrant).where(CaseGrant.consent_id == consent_id, CaseGrant.revoked_at.is_(None),
                                CaseGrant.suspended_at.is_(None))
    ))
    if not rows:
        return []
    now = utcnow()
    by_reason: dict[tuple[str, str], list[CaseGrant]] = defaultdict(list)
    for row in rows:
        row.suspended_at, row.suspended_why = now, CONSENT_WITHDRAWN
        by_reason[(row.reason_kind, row.reason_id)].append(row)
    db.session.flush()
    for _reason, group in sorted(by_reason.items()):
        _audit("grant.suspend", actor, group, why=CONSENT_WITHDRAWN)
    return rows


def resume(actor, reason_kind: str, reason_id: str, consent_id: str | None) -> list[CaseGrant]:
    """Lift the suspension of this reason's grants, now relying on `consent_id` (a consent given since)."""
    rows = [r for r in of_reason(reason_kind, reason_id) if r.suspended_at is not None]
    if not rows:
        return []
    for row in rows:
        row.suspended_at, row.suspended_why, row.consent_id = None, None, consent_id
    db.session.flush()
    _audit("grant.resume", actor, rows, consent=consent_id is not None)
    return rows


def states(reason_kind: str, reason_ids) -> dict[str, CaseGrant]:
    """The organisation-wide row of each reason (revoked ones included, newest first wins), for the pages that say
    whether the access a referral gave is live, suspended or ended. One query."""
    ids = [i for i in set(reason_ids) if i]
    if not ids:
        return {}
    rows = db.session.scalars(
        select(CaseGrant)
        .where(CaseGrant.reason_kind == reason_kind, CaseGrant.reason_id.in_(ids), CaseGrant.user_id.is_(None))
        .order_by(CaseGrant.granted_at)
    )
    return {row.reason_id: row for row in rows}
