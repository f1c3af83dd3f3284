"""Rows for bulk inserts, encrypted and audited the way the application's operations do it, without ORM objects.

`casemgmt synth` writes hundreds of thousands of cases; building ORM objects, flushing them one unit of work at a
time and locking the audit head per event would take hours. Instead each table gets plain dicts, inserted with one
executemany per table and batch. What must stay identical to real data is reproduced here on purpose and checked by
tests/synth against the real code:
- a data key per case, wrapped by the current KEK with crypto.fields.wrap();
- every sealed value in AES-256-GCM through crypto.aead with the associated data seal() uses (table, column, row id,
  case id), so crypto.unseal() reads it back;
- blind indexes computed as cases.identity.write_identity() computes them;
- audit events numbered after the current head and linked with audit.events.chain_hash(), the head row moved in
  the same transaction, so `casemgmt audit verify` finds the chain intact.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, update

from casemgmt.access.grants import CaseGrant
from casemgmt.audit.events import HEAD_ID, chain_hash
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.bestinterests.models import (
    BestInterestsAssessment,
    BestInterestsDetermination,
    CareArrangement,
    Guardian,
    PanelMember,
)
from casemgmt.cases.identity import ENCRYPTED_FIELDS
from casemgmt.cases.models import Case, CaseCode, Person, StageChange
from casemgmt.consent.models import ConsentRecord
from casemgmt.counseling.models import CounselingSession
from casemgmt.crypto import aead
from casemgmt.crypto.fields import DATA_KEY_BYTES, Sealed, wrap
from casemgmt.crypto.keyring import keyring
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db
from casemgmt.families.models import (
    FamilyAssessmentVisit,
    FamilyMember,
    FamilyMemberKey,
    TracingAction,
    TracingRequest,
)
from casemgmt.fund.models import Disbursement, FundApproval, FundRequest, Refund
from casemgmt.intake.models import Contact, Screening
from casemgmt.journey.models import ClosureRequest
from casemgmt.matching.models import PersonMatchKey
from casemgmt.programmes.models import Enrolment, ProjectAttribution
from casemgmt.referrals.models import Referral
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ReintegrationSupport, ServiceDelivered
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember, ReunificationService
from casemgmt.returns.models import ReturnPlan
from casemgmt.revisions.models import RecordRevision
from casemgmt.shelter.models import Placement
from casemgmt.tasks.models import Task

# Parents before children, so foreign keys hold at every statement (PostgreSQL checks them immediately).
INSERT_ORDER = (
    Case, Person, PersonMatchKey, DataKey, CaseCode, StageChange,
    Contact, ConsentRecord, Screening, Placement, CounselingSession,
    ReturnPlan, Referral, CaseGrant, ReintegrationPlan, ReintegrationSupport, ServiceDelivered, MonitoringVisit, Task,
    Enrolment, ProjectAttribution, FundRequest, FundApproval, Disbursement, Refund,
    # Children and families (synth_families): members before the rows that name them.
    FamilyMember, FamilyMemberKey, TracingRequest, TracingAction, FamilyAssessmentVisit, BestInterestsAssessment,
    BestInterestsDetermination, PanelMember, Guardian, CareArrangement, ProtectionStatus, Reunification,
    ReunificationMember, ReunificationService,
    ClosureRequest, RecordRevision, AuditEvent,
)
KEY_ID = 1  # a synthetic case has one data key, as a new case does


def _column_defaults(model) -> dict[str, object]:
    """Every column of the table, with its scalar default (False, "draft"...) or None. An executemany needs the same
    keys in every row; callers give what differs. An integer key the database numbers (fund approvals) is left
    out, so the database numbers it (PostgreSQL refuses a NULL for it)."""
    out: dict[str, object] = {}
    for column in model.__table__.columns:
        if column is model.__table__.autoincrement_column:
            continue
        default = column.default
        out[column.key] = default.arg if default is not None and default.is_scalar else None
    return out


@dataclass(frozen=True)
class Actor:
    """Who did something, as an audit event records it."""

    id: int
    username: str
    display_name: str
    role: str
    organisation_id: int

    @classmethod
    def of(cls, user) -> Actor:
        return cls(user.id, user.username, user.display_name, str(user.role), user.organisation_id)


class _Event:
    """The attributes audit.events._canonical() reads, so chain_hash() links synthetic events like real ones."""

    __slots__ = (
        "action",
        "actor_id",
        "actor_name",
        "actor_role",
        "case_id",
        "details",
        "object_id",
        "object_type",
        "occurred_at",
        "organisation_id",
        "outcome",
        "seq",
    )


class Batch:
    """The rows of a batch of cases, per table, and the audit chain they extend."""

    def __init__(self):
        self.rows: dict[type, list[dict]] = defaultdict(list)
        self.head_seq, self.head_hash = 0, ""
        self._defaults = {model: _column_defaults(model) for model in INSERT_ORDER}
        self.written: dict[str, int] = defaultdict(int)  # rows per table over every flush

    def follow(self, head_seq: int, head_hash: str) -> None:
        """Chain the next events after this head (read, and locked, at the start of each transaction)."""
        self.head_seq, self.head_hash = head_seq, head_hash

    def add(self, model, **values) -> dict:
        row = {**self._defaults[model], **values}
        self.rows[model].append(row)
        return row

    def event(self, at: datetime, actor: Actor, action: str, object_type: str | None = None, object_id=None,
              case_id: str | None = None, details: dict | None = None) -> None:
        event = _Event()
        event.seq = self.head_seq + 1
        event.occurred_at = at
        event.actor_id, event.actor_name, event.actor_role = actor.id, actor.username, actor.role
        event.organisation_id = actor.organisation_id
        event.action, event.object_type = action, object_type
        event.object_id = None if object_id is None else str(object_id)
        event.case_id, event.outcome = case_id, "success"
        event.details = json.dumps(details or {}, sort_keys=True, separators=(",", ":"))
        digest = chain_hash(self.head_hash, event)
        self.rows[AuditEvent].append({
            "seq": event.seq, "occurred_at": at, "actor_id": event.actor_id, "actor_name": event.actor_name,
            "actor_role": event.actor_role, "organisation_id": event.organisation_id, "action": action,
            "object_type": object_type, "object_id": event.object_id, "case_id": case_id, "outcome": "success",
            "details": event.details, "prev_hash": self.head_hash, "hash": digest,
        })
        self.head_seq, self.head_hash = event.seq, digest

    def flush(self) -> None:
        """Insert everything in the session's transaction and move the audit head; the caller commits."""
        for model in INSERT_ORDER:
            rows = self.rows.get(model)
            if rows:
                db.session.execute(insert(model.__table__), rows)
                self.written[model.__tablename__] += len(rows)
        db.session.execute(
            update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_seq=self.head_seq, last_hash=self.head_hash)
        )
        self.rows.clear()


class CaseKey:
    """One case's data key: its wrapped row and seal() for its values."""

    def __init__(self, case_id: str):
        self.case_id = case_id
        self._raw = os.urandom(DATA_KEY_BYTES)

    def data_key_row(self, batch: Batch, created_at: datetime) -> None:
        version = keyring().current_version
        batch.add(DataKey, case_id=self.case_id, key_id=KEY_ID, kek_version=version,
                  wrapped=wrap(self.case_id, KEY_ID, self._raw, version), created_at=created_at)

    def seal(self, table: str, column: str, row_id: str, value: str | None) -> Sealed | None:
        """crypto.fields.seal() for a row that is not an ORM object."""
        if value is None or value == "":
            return None
        context = (table, column, str(row_id), self.case_id)
        return Sealed(aead.encrypt(self._raw, KEY_ID, value.encode(), context))


def index_generations() -> list:
    """The live matching-index generations (matching.generations), as plain values that outlive a commit."""
    from casemgmt.matching import generations

    return [generations.Snapshot(g.id, g.key_version, g.bits) for g in generations.live()]


def identity_columns(key: CaseKey, person_id: str, values: dict) -> dict:
    """The encrypted fields of a Person row, as cases.identity.write_identity() seals them."""
    out: dict[str, object] = {}
    for field in ENCRYPTED_FIELDS:
        value = values.get(field)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # an estimated age, a year of birth
        out[field] = key.seal(Person.__tablename__, field, person_id, (value or "").strip() or None)
    return out


def match_key_rows(case_id: str, values: dict, region: str | None, in_generations: list) -> list[dict]:
    """The blind indexes of matching, as cases.identity.write_identity() stores them (matching.store)."""
    from casemgmt.matching import keys, store

    return store.rows_for(case_id, keys.identity_of(values, region), in_generations)
