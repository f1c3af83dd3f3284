"""Matching a tracing request against the family members and the persons that other cases record (issue 15, item 2),
on the matching engine of issue 13 and with its no-oracle rule.

Keys. A family member's names, date of birth and phone become blind indexes exactly as a person's do
(matching.keys.identity_of, the case's organisation's country as the phone region, like cases.identity), stored as
rows of family_member_keys in every live index generation (matching.generations). `casemgmt indexes rebuild` keys
them again with the persons (matching.rebuild calls index_members).

Two ways of looking, for two audiences:
- own_matches(user, request): inside a request, for the tracing page. Only cases of the user's OWN organisation that
  they may open (the SQL condition of the candidates query itself, so another organisation's rows are never fetched,
  decrypted or counted): the page, its status and its timing are the same whether another organisation holds the
  person or not. Candidates come from the indexes; only the best-ranked few are decrypted and scored
  (matching.score), as search does.
- enqueue(request) / run_pending(): OTHER organisations' cases, outside any request. Opening a request, or changing
  whom it looks for, only adds a row to tracing_cross_checks (constant work); `casemgmt notifications sweep` works
  the queue off. For each holder organisation with a strong match (matching.crossorg.strong), its supervisors get a
  notice about THEIR OWN case ("<organisation> is tracing a family member who matches someone recorded on your case
  C-…; contact them if the person's consent allows"), naming the tracing organisation and nothing of the sought
  person, not even the tracing case's reference. The tracing side learns nothing: its audit event says only that a
  check ran.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, joinedload, selectinload

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.grants import CaseGrant
from casemgmt.access.policies import case_scope_filter
from casemgmt.accounts.models import Organisation
from casemgmt.audit import record_event
from casemgmt.audit.events import SYSTEM
from casemgmt.cases import identity as case_identity
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.crypto import DecryptionError, unseal
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db
from casemgmt.families.match_models import TracingCrossCheck
from casemgmt.families.models import RELATIONSHIPS, FamilyMember, FamilyMemberKey, TracingRequest
from casemgmt.matching import candidates, crossorg, engine, generations, keys, score
from casemgmt.matching.generations import Snapshot
from casemgmt.matching.models import CrossCheck, IndexGeneration

log = logging.getLogger(__name__)

# What of a family member is keyed and scored (the encrypted columns of families.models.FamilyMember).
MEMBER_FIELDS = ("given_name", "family_name", "date_of_birth", "phone")
# A change to one of these means the request looks for someone else: families.operations enqueues it again.
IDENTIFYING = frozenset(MEMBER_FIELDS)

KIND = "tracing_match"  # the holder's notice (notifications.kinds)
MAX_ATTEMPTS = 5
BATCH = 50

STRONG, POSSIBLE = "strong", "possible"
STRENGTHS = {STRONG: _l("Strong match"), POSSIBLE: _l("Possible match")}
ASSISTED_PERSON = _l("Assisted person")
FAMILY_MEMBER, PERSON = "family_member", "person"


# --- keys ----------------------------------------------------------------------------------------------------------


def _plain(values: dict) -> dict:
    out = {}
    for name in MEMBER_FIELDS:
        value = values.get(name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def member_identity(values: dict, region: str | None) -> keys.Identity:
    """A family member's identity in the engine's normalised form (what is keyed, what is scored)."""
    return keys.identity_of(_plain(values), region)


def read_member(member: FamilyMember) -> dict[str, str | None]:
    return {name: unseal(member, name) for name in MEMBER_FIELDS}


def _region(case_id: str) -> str | None:
    return db.session.scalar(
        select(Organisation.country).join(Case, Case.organisation_id == Organisation.id).where(Case.id == case_id))


def rows_for(member_id: str, case_id: str, identity: keys.Identity,
             in_generations: list[IndexGeneration] | list[Snapshot]) -> list[dict]:
    """The family_member_keys rows of one member (several keys may share a value: they are stored once)."""
    rows = {}
    for generation in in_generations:
        for kind, key in keys.record_keys(identity):
            value = generations.compute(generation, kind, key)
            rows[(generation.id, kind, value)] = {"generation": generation.id, "kind": kind, "value": value,
                                                  "family_member_id": member_id, "case_id": case_id}
    return list(rows.values())


def write_member_keys(member: FamilyMember, values: dict) -> None:
    """Replace the member's keys in every live generation (a rebuild's BUILDING one included). `values`: the
    plaintext given_name, family_name, date_of_birth (a date, an ISO string or None) and phone. The caller commits."""
    db.session.flush()  # the member row the keys refer to
    live = generations.live()
    delete_member_keys(member.id)
    rows = rows_for(member.id, member.case_id, member_identity(values, _region(member.case_id)), live)
    if rows:
        db.session.execute(FamilyMemberKey.__table__.insert(), rows)


def delete_member_keys(member_id: str) -> None:
    db.session.execute(delete(FamilyMemberKey).where(FamilyMemberKey.family_member_id == member_id))


def delete_case_keys(case_id: str) -> None:
    """Every family member key of a case (its erasure: cases.operations.erase_case)."""
    db.session.execute(delete(FamilyMemberKey).where(FamilyMemberKey.case_id == case_id))


# --- the rebuild's part (matching.rebuild) --------------------------------------------------------------------------


def index_members(generation: Snapshot, case_ids: list[str], regions: dict[str, str | None]) -> int:
    """Replace the generation's family member rows of these cases with keys computed from their decrypted members.
    The cases' members are locked (PostgreSQL; SQLite's write lock, taken by the rebuild's batch, covers them), so an
    edit waits for the batch or is read by it. Returns how many members could not be decrypted (left without keys)."""
    if not case_ids:
        return 0
    members = db.session.scalars(
        select(FamilyMember).where(FamilyMember.case_id.in_(case_ids), FamilyMember.deleted_at.is_(None))
        .order_by(FamilyMember.id).with_for_update(of=FamilyMember.__table__)
        .execution_options(populate_existing=True)
    ).all()
    preload_keys(list(case_ids))
    rows, failed = [], 0
    for member in members:
        try:
            revealed = read_member(member)
        except DecryptionError:
            failed += 1
            continue
        rows.extend(rows_for(member.id, member.case_id, member_identity(revealed, regions.get(member.case_id)),
                             [generation]))
    db.session.execute(delete(FamilyMemberKey).where(FamilyMemberKey.generation == generation.id,
                                                     FamilyMemberKey.case_id.in_(case_ids)))
    if rows:
        db.session.execute(FamilyMemberKey.__table__.insert(), rows)
    return failed


def cases_missing_in(generation: Snapshot) -> list[str]:
    """Cases with a family member keyed in another generation but not in this one: written by a request that read
    the live generations just before this one existed."""
    other = aliased(FamilyMemberKey)
    return list(db.session.scalars(
        select(FamilyMemberKey.case_id).join(Case, Case.id == FamilyMemberKey.case_id)
        .where(FamilyMemberKey.generation != generation.id, Case.erased_at.is_(None),
               ~exists().where(other.family_member_id == FamilyMemberKey.family_member_id,
                               other.generation == generation.id))
        .distinct().order_by(FamilyMemberKey.case_id)
    ))


def drop_erased(generation: Snapshot) -> None:
    db.session.execute(delete(FamilyMemberKey).where(
        FamilyMemberKey.generation == generation.id,
        FamilyMemberKey.case_id.in_(select(Case.id).where(Case.erased_at.is_not(None))),
    ))


def retire_rows(generation_id: int, batch_size: int) -> int:
    """Delete a retiring generation's family member rows, `batch_size` cases' rows per transaction."""
    deleted = 0
    while True:
        case_ids = list(db.session.scalars(
            select(FamilyMemberKey.case_id).where(FamilyMemberKey.generation == generation_id).distinct()
            .order_by(FamilyMemberKey.case_id).limit(batch_size)
        ))
        if not case_ids:
            return deleted
        result = db.session.execute(delete(FamilyMemberKey).where(
            FamilyMemberKey.generation == generation_id, FamilyMemberKey.case_id.in_(case_ids)))
        deleted += result.rowcount
        db.session.commit()


# --- candidates and scores -------------------------------------------------------------------------------------------


def _query_keys(query: keys.Identity) -> set[tuple[str, str]]:
    # Name parts are looked up alone as well as with the year: a family member is often recorded without a date of
    # birth, and the duplicate check's narrowing (a year means "py" only) would never find them.
    return keys.query_keys(query, with_year=False)


def _member_lookup(lookups: list):
    if len(lookups) <= 1:
        return tuple_(FamilyMemberKey.generation, FamilyMemberKey.kind, FamilyMemberKey.value).in_(lookups)
    # An OR of equalities on the primary key's columns, for the reason matching.candidates._in gives.
    return or_(*(and_(FamilyMemberKey.generation == gen, FamilyMemberKey.kind == kind,
                      FamilyMemberKey.value == value) for gen, kind, value in lookups))


def top_members(query_keys: set[tuple[str, str]], scope, limit: int = engine.CHECK_CANDIDATES) -> list[str]:
    """The ids of the best-ranked family members within `scope` (an SQL condition on Case and FamilyMember), ranked
    in SQL on the kinds they agree on (matching.candidates.RANK_WEIGHTS), taken in the generation where they agree
    most. Nothing is decrypted."""
    lookups = [(generation.id, kind, generations.compute(generation, kind, key))
               for generation in generations.live() for kind, key in query_keys]
    if not lookups:
        return []
    weight = sql_case(*((FamilyMemberKey.kind == kind, w) for kind, w in candidates.RANK_WEIGHTS.items()), else_=0)
    per_generation = (
        select(FamilyMemberKey.family_member_id, FamilyMemberKey.generation, func.sum(weight).label("rank"))
        .join(Case, Case.id == FamilyMemberKey.case_id)
        .join(FamilyMember, FamilyMember.id == FamilyMemberKey.family_member_id)
        .where(_member_lookup(lookups), Case.erased_at.is_(None), FamilyMember.deleted_at.is_(None), scope)
        .group_by(FamilyMemberKey.family_member_id, FamilyMemberKey.generation)
        .subquery("per_generation")
    )
    ranked = (select(per_generation.c.family_member_id, func.max(per_generation.c.rank).label("rank"))
              .group_by(per_generation.c.family_member_id).subquery("ranked"))
    return list(db.session.scalars(
        select(ranked.c.family_member_id).order_by(ranked.c.rank.desc(), ranked.c.family_member_id).limit(limit)))


@dataclass(frozen=True)
class Scored:
    kind: str                 # FAMILY_MEMBER or PERSON
    case: Case
    member: FamilyMember | None
    revealed: dict
    score: score.Score

    @property
    def strength(self) -> str:
        return STRONG if crossorg.strong(self.score) else POSSIBLE


def _regions(cases: list[Case]) -> dict[int, str | None]:
    wanted = {c.organisation_id for c in cases}
    if not wanted:
        return {}
    return dict(db.session.execute(
        select(Organisation.id, Organisation.country).where(Organisation.id.in_(wanted))).all())


def scored_members(query: keys.Identity, scope, may_decrypt=None,
                   limit: int = engine.CHECK_CANDIDATES) -> list[Scored]:
    """Family members within `scope` that score at or above the match threshold. Only the top `limit` candidates of
    the ranking are decrypted, and only those `may_decrypt(case)` allows; each with its own case's region, the one
    its keys were computed with."""
    ids = top_members(_query_keys(query), scope, limit)
    if not ids:
        return []
    by_id = {m.id: m for m in db.session.scalars(
        select(FamilyMember).where(FamilyMember.id.in_(ids)).options(joinedload(FamilyMember.case)))}
    members = [by_id[i] for i in ids if i in by_id and (may_decrypt is None or may_decrypt(by_id[i].case))]
    regions = _regions([m.case for m in members])
    preload_keys(list({m.case_id for m in members}))
    found = []
    for member in members:
        revealed = read_member(member)
        result = score.score(query, member_identity(revealed, regions.get(member.case.organisation_id)))
        if result.weight >= score.MATCH_THRESHOLD:
            found.append(Scored(FAMILY_MEMBER, member.case, member, revealed, result))
    return found


def scored_persons(query: keys.Identity, scope, may_decrypt=None,
                   limit: int = engine.CHECK_CANDIDATES) -> list[Scored]:
    """The persons of cases within `scope` that score at or above the match threshold (matching.engine's parts:
    candidates from person_match_keys, the top `limit` decrypted)."""
    ranked = candidates.top(_query_keys(query), scope, limit)
    loaded = [c for c in engine._load([case_id for case_id, _ in ranked]) if may_decrypt is None or may_decrypt(c)]
    regions = _regions(loaded)
    found = []
    for region in sorted(set(regions.values()), key=lambda r: r or ""):
        group = [c for c in loaded if regions.get(c.organisation_id) == region]
        for found_case, revealed, person in engine.decrypt(group, region, engine.SCORED_FIELDS):
            result = score.score(query, person)
            if result.weight >= score.MATCH_THRESHOLD:
                found.append(Scored(PERSON, found_case, None, revealed, result))
    return found


def sought_identity(request: TracingRequest) -> keys.Identity | None:
    """Whom the request looks for, decrypted server side (None: nobody identifiable)."""
    member = request.family_member
    if member is None or member.deleted_at is not None:
        return None
    query = member_identity(read_member(member), _region(request.case_id))
    return None if query.empty else query


# --- the tracing page: the user's own organisation ------------------------------------------------------------------


@dataclass(frozen=True)
class TracingMatch:
    case_reference: str
    case_url: str | None  # None when the user may not open the case
    name: str
    relationship_label: str
    strength_label: str
    kind: str  # FAMILY_MEMBER or PERSON


def own_matches(user, request: TracingRequest) -> list[TracingMatch]:
    """Family members and persons of the user's own organisation's OTHER cases, that they may open with identity,
    who match the person the request looks for: strong first, then by weight. Never another organisation's case:
    the scope is part of the candidates query. Audited with counts only; the caller commits."""
    authorize(user, Action.FAMILY_VIEW, request)
    query = sought_identity(request)
    found: list[Scored] = []
    if query is not None:
        # `+ 0` keeps the organisation out of SQLite's index choice: without statistics it would start from every
        # case of the organisation (ix_cases_report, 45,600 at 100,000 cases) and probe the keys for each, instead
        # of starting from the few key rows of the sought names (48 ms -> 2 ms; access.policies._grant_filter does
        # the same). PostgreSQL plans it from its statistics either way.
        scope = and_(case_scope_filter(user, by_case=True), (Case.organisation_id + 0) == user.organisation_id,
                     Case.id != request.case_id)
        found = (scored_members(query, scope, lambda c: allowed(user, Action.FAMILY_VIEW, c))
                 + scored_persons(query, scope, lambda c: allowed(user, Action.CASE_VIEW_IDENTITY, c)))
    found.sort(key=lambda s: (s.strength != STRONG, -s.score.weight, s.case.reference, s.kind))
    record_event("tracing.own_matches", actor=user, object_type="tracing_request", object_id=request.id,
                 case_id=request.case_id, details={"shown": len(found)})
    return [_shown(user, s) for s in found]


def _shown(user, found: Scored) -> TracingMatch:
    url = url_for("cases.view", case_id=found.case.id) if allowed(user, Action.CASE_VIEW, found.case) else None
    if found.kind == FAMILY_MEMBER:
        relationship = RELATIONSHIPS.label(found.member.relationship_code)
    else:
        relationship = str(ASSISTED_PERSON)
    return TracingMatch(found.case.reference, url, case_identity.display_name(found.revealed), relationship,
                        str(STRENGTHS[found.strength]), found.kind)


# --- other organisations: the queue ---------------------------------------------------------------------------------


def enqueue(request: TracingRequest) -> None:
    """Queue the request for a look in other organisations' cases (the caller commits): the same constant work
    whatever anyone holds. Queued again while waiting, it is checked once, with the newest values; queued_at moves,
    so a check already running on the old values leaves the row for another one."""
    db.session.flush()  # the request's id
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    # An upsert: two edits committed at once both queue it, neither fails on the primary key.
    db.session.execute(
        dialect.insert(TracingCrossCheck).values(tracing_request_id=request.id, queued_at=now, attempts=0)
        .on_conflict_do_update(index_elements=["tracing_request_id"], set_={"queued_at": now, "attempts": 0}))


def dequeue(request: TracingRequest) -> None:
    db.session.execute(delete(TracingCrossCheck).where(TracingCrossCheck.tracing_request_id == request.id))


def _elsewhere(request: TracingRequest, queued_at: datetime):
    """Cases of other organisations than the tracing one and the case's own: not already shared with the tracing
    organisation (a grant not revoked: it knows that case), and recorded before the request was queued.

    Why "before": the one who traces tells those who held the person already, never someone who records a matching
    name after the request: otherwise recording a probe just after another organisation opened a tracing request
    would answer "they are tracing this person". Family members count as recorded when created or last changed;
    persons when their case was created, or when re-identified (a cross-check queued after the request: the sweep
    works this queue before matching's, so such a row is still there)."""
    tracing_org = request.organisation_id
    shared = select(CaseGrant.case_id).where(CaseGrant.organisation_id == tracing_org, CaseGrant.revoked_at.is_(None))
    return and_(Case.organisation_id.not_in([tracing_org, request.case.organisation_id]),
                Case.id != request.case_id, Case.id.not_in(shared), Case.created_at <= queued_at)


@dataclass(frozen=True)
class Checked:
    request_id: str
    case_id: str
    queued_at: datetime
    organisation_id: int  # the tracing organisation
    holders: dict[int, list[str]]


@dataclass
class Report:
    checked: int = 0
    removed: int = 0  # requests closed, erased or without anyone identifiable: nothing to look for
    failed: int = 0
    notices: int = 0
    holders: int = 0
    stuck: list[str] = field(default_factory=list)


def find_holders(request: TracingRequest, queued_at: datetime) -> dict[int, list[str]] | None:
    """The other organisations holding a strong match of the sought person (family member or person), with their
    matching cases' ids; None when the request looks for nobody identifiable. Server side only."""
    query = sought_identity(request)
    if query is None:
        return None
    elsewhere = _elsewhere(request, queued_at)
    members_scope = and_(elsewhere, FamilyMember.created_at <= queued_at, FamilyMember.updated_at <= queued_at)
    later = select(CrossCheck.case_id).where(CrossCheck.queued_at > queued_at)
    persons_scope = and_(elsewhere, Case.id.not_in(later))
    holders: dict[int, list[str]] = {}
    for found in scored_members(query, members_scope) + scored_persons(query, persons_scope):
        if found.strength == STRONG:
            cases = holders.setdefault(found.case.organisation_id, [])
            if found.case.id not in cases:
                cases.append(found.case.id)
    return holders


def _check(request_id: str, queued_at: datetime) -> Checked | None:
    request = db.session.scalar(select(TracingRequest).where(TracingRequest.id == request_id).options(
        selectinload(TracingRequest.case), selectinload(TracingRequest.family_member)))
    if request is None or not request.is_open or request.case is None or request.case.erased_at is not None:
        return None
    holders = find_holders(request, queued_at)
    if holders is None:
        return None
    return Checked(request.id, request.case_id, queued_at, request.organisation_id, holders)


def _write(done: list[Checked], gone: list[tuple[str, datetime]], failed: list[str], report: Report) -> None:
    # The tracing side's events first, every one of the batch, and with nothing of the result (its auditors read
    # them); then the holders' (see matching.crossorg._write for why the order matters).
    for checked in done:
        record_event("tracing.cross_check", actor=SYSTEM, subject_organisation_id=checked.organisation_id,
                     object_type="tracing_request", object_id=checked.request_id, case_id=checked.case_id)
    for checked in done:
        for holder_id, case_ids in sorted(checked.holders.items()):
            report.notices += crossorg.tell_holder(KIND, "tracing.cross_organisation", checked.request_id,
                                                   checked.organisation_id, holder_id, case_ids)
            report.holders += 1
    for request_id, queued_at in [(c.request_id, c.queued_at) for c in done] + gone:
        # Only the row as it was read: queued again meanwhile, it waits for another check.
        db.session.execute(delete(TracingCrossCheck).where(TracingCrossCheck.tracing_request_id == request_id,
                                                           TracingCrossCheck.queued_at == queued_at))
    if failed:
        db.session.execute(update(TracingCrossCheck).where(TracingCrossCheck.tracing_request_id.in_(failed))
                           .values(attempts=TracingCrossCheck.attempts + 1))


def run_batch(limit: int = BATCH) -> Report:
    """Check up to `limit` queued requests (fewest failures, oldest first) and commit."""
    report = Report()
    queued = db.session.execute(
        select(TracingCrossCheck.tracing_request_id, TracingCrossCheck.queued_at)
        .where(TracingCrossCheck.attempts < MAX_ATTEMPTS)
        .order_by(TracingCrossCheck.attempts, TracingCrossCheck.queued_at, TracingCrossCheck.tracing_request_id)
        .limit(limit)
    ).all()
    done: list[Checked] = []
    gone: list[tuple[str, datetime]] = []
    failed: list[str] = []
    for request_id, queued_at in queued:
        try:
            checked = _check(request_id, queued_at)
        except Exception:  # one request that cannot be checked must not hold up the rest; the log says which
            db.session.rollback()
            log.exception("cross-organisation check of tracing request %s failed", request_id)
            failed.append(request_id)
            continue
        if checked is None:
            gone.append((request_id, queued_at))
        else:
            done.append(checked)
    _write(done, gone, failed, report)
    db.session.commit()
    report.checked, report.removed, report.failed = len(done), len(gone), len(failed)
    return report


def run_pending(limit: int = BATCH) -> int:
    """Work off up to `limit` queued requests; returns how many were checked."""
    return run_batch(limit).checked


def run_all(batch: int = BATCH) -> Report:
    """Work the whole queue off in committed batches (the sweep). Stops when a batch checks nothing new."""
    total = Report()
    while True:
        report = run_batch(batch)
        for name in ("checked", "removed", "failed", "notices", "holders"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.checked + report.removed == 0 or report.checked + report.removed + report.failed < batch:
            break
    total.stuck = list(db.session.scalars(
        select(TracingCrossCheck.tracing_request_id).where(TracingCrossCheck.attempts >= MAX_ATTEMPTS)))
    return total
